"""The attachments of a draft: stored safely on upload, hidden from the draft on removal (the file stays, since a
submitted version may refer to it), found again for a download."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from programme.core.access import Actor
from programme.core.files import store_upload
from programme.extensions import db
from programme.proposals.models import Attachment, AttachmentKind, Proposal
from programme.proposals.services._common import _child, _require_edit, _touch


def attachments_folder(upload_root: str | Path, proposal: Proposal) -> Path:
    return Path(upload_root) / "proposals" / str(proposal.id)


def add_attachment(proposal: Proposal, *, kind: AttachmentKind, stream: BinaryIO, filename: str | None,
                   upload_root: str | Path, max_bytes: int, actor: Actor, now: datetime) -> Attachment:
    _require_edit(proposal, actor, now)
    stored = store_upload(stream, filename, attachments_folder(upload_root, proposal), max_bytes=max_bytes)
    attachment = Attachment(
        kind=kind, original_name=stored.original_name, stored_name=stored.stored_name,
        content_type=stored.content_type, size_bytes=stored.size_bytes, sha256=stored.sha256,
        uploaded_by_id=actor.id, uploaded_at=now,
    )
    proposal.attachments.append(attachment)
    db.session.flush()
    _touch(proposal, actor, now, "attachment_added", attachment_id=attachment.id, name=stored.original_name,
           sha256=stored.sha256)
    return attachment


def remove_attachment(proposal: Proposal, attachment_id: int, *, actor: Actor, now: datetime) -> None:
    """Hide an attachment from the draft; the file stays, since a submitted version may refer to it."""
    _require_edit(proposal, actor, now)
    attachment = _child(proposal.live_attachments, attachment_id)
    attachment.removed_at = now
    _touch(proposal, actor, now, "attachment_removed", attachment_id=attachment_id)


def get_attachment(proposal: Proposal, attachment_id: int) -> Attachment:
    """An attachment of this proposal (the caller has loaded the proposal with the reader's permission)."""
    return _child(proposal.attachments, attachment_id)
