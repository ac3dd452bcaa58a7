"""The audit log's Excel export: the filtered log, newest first, one row per entry, streamed (rows go to disk as
they are read). The details are written as their JSON text, so they read exactly as recorded (through
``core.spreadsheets``: a text is never a formula)."""

from __future__ import annotations

from typing import BinaryIO

from programme.audit.services import AuditFilter, audit_rows
from programme.core.access import Actor
from programme.core.spreadsheets import StreamingWorkbook
from programme.core.texts import gettext as _
from programme.core.texts import pgettext
from programme.core.timezone import to_local


def write_audit_log(target: str | BinaryIO, filters: AuditFilter, *, actor: Actor, timezone: str) -> int:
    """Write the filtered audit log to an .xlsx, its headings in the language being answered in (the entries as
    recorded); returns the number of entries."""
    book = StreamingWorkbook()
    sheet = _("Audit log")
    book.add_sheet(sheet, [pgettext("audit log", "Entry"), _("When (%(zone)s)", zone=timezone), _("Person"),
                           _("Account"), _("Action"), _("Object type"), _("Object id"), _("Details")],
                   widths=[9, 17, 24, 30, 32, 22, 10, 100])
    count = 0
    for entry, name in audit_rows(filters, actor=actor, timezone=timezone):
        count += 1
        book.append(sheet, [entry.id, to_local(entry.at, timezone), name, entry.actor_label, entry.action,
                            entry.object_type, entry.object_id, entry.details])
    book.save(target)
    return count
