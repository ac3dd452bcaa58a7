"""Uploaded files: checked for type and size, stored under names the user does not choose.

A file is kept under `<upload folder>/<area>/<random name>`; the name the user gave is
kept only for display (made safe). Stored files are never changed.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import BinaryIO

from werkzeug.utils import secure_filename

from programme.core.access import NotFound, RuleViolation
from programme.core.money import symbols_in_use
from programme.core.texts import gettext as _

# Extension -> (content type, the file's first bytes, one of which it must start with).
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP = b"PK\x03\x04"
ALLOWED_TYPES: dict[str, tuple[str, tuple[bytes, ...]]] = {
    "pdf": ("application/pdf", (b"%PDF-",)),
    "doc": ("application/msword", (_OLE,)),
    "xls": ("application/vnd.ms-excel", (_OLE,)),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", (_ZIP,)),
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (_ZIP,)),
    "pptx": ("application/vnd.openxmlformats-officedocument.presentationml.presentation", (_ZIP,)),
    "odt": ("application/vnd.oasis.opendocument.text", (_ZIP,)),
    "ods": ("application/vnd.oasis.opendocument.spreadsheet", (_ZIP,)),
}


@dataclass(frozen=True)
class StoredFile:
    stored_name: str
    original_name: str
    content_type: str
    size_bytes: int
    sha256: str


def display_name(filename: str | None) -> str:
    """A safe name to show: no folders, no climbing out of one."""
    name = secure_filename((filename or "").replace("\\", "/").split("/")[-1])
    while ".." in name:
        name = name.replace("..", ".")
    return name.strip(".")[:200] or "file"


def readable_size(size: int) -> str:
    if size >= 1024 * 1024:
        megabytes = (Decimal(size) / (1024 * 1024)).quantize(Decimal("0.1"))
        return f"{megabytes.normalize():f} MB".replace(".", symbols_in_use()[0])
    if size >= 1024:
        return f"{size // 1024} KB"
    return _("%(size)s bytes", size=size)


def store_upload(stream: BinaryIO, filename: str | None, folder: Path, *, max_bytes: int) -> StoredFile:
    """Check and store an upload; RuleViolation (field 'file') names what is wrong, and nothing is stored."""
    name = display_name(filename)
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in ALLOWED_TYPES:
        raise RuleViolation(
            _("'%(name)s' is not an accepted type: upload PDF or an office document (%(types)s).", name=name,
              types=", ".join(sorted(ALLOWED_TYPES))), field="file",
        )
    content_type, signatures = ALLOWED_TYPES[extension]
    data = stream.read(max_bytes + 1)
    if not data:
        raise RuleViolation(_("'%(name)s' is empty.", name=name), field="file")
    if len(data) > max_bytes:
        raise RuleViolation(_("'%(name)s' is larger than the limit of %(limit)s.", name=name,
                                   limit=readable_size(max_bytes)), field="file")
    if not data.startswith(signatures):
        raise RuleViolation(_("'%(name)s' does not contain what its name says (%(type)s).", name=name,
                                   type=extension.upper()), field="file")
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    stored_name = f"{secrets.token_hex(16)}.{extension}"
    target = folder / stored_name
    # Private to the app's user from the first byte (0600): uploads hold the applicants' and the fund's papers.
    with os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as handle:
        handle.write(data)
    return StoredFile(stored_name, name, content_type, len(data), hashlib.sha256(data).hexdigest())


def stored_path(folder: Path, stored_name: str) -> Path:
    """The path of a stored file; NotFound if the name would leave the folder or the file is gone."""
    path = (folder / stored_name).resolve()
    if path.parent != folder.resolve() or not path.is_file():
        raise NotFound()
    return path
