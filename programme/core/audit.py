"""The audit log: who did what, to what, and when. Append-only."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from programme.core.access import Actor
from programme.core.db import Base, utcnow


class AuditEntry(Base):
    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    actor_label: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(80), index=True)
    object_type: Mapped[str] = mapped_column(String(40))
    object_id: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[str] = mapped_column(Text, default="{}")

    #: What the audit log page filters by, each with the time it sorts by (migration 0013): an object's entries,
    #: a person's, an action's (or an area's: a prefix is an index range).
    __table_args__ = (
        Index("ix_audit_entries_object_at", "object_type", "object_id", "at"),
        Index("ix_audit_entries_actor_at", "actor_id", "at"),
        Index("ix_audit_entries_action_at", "action", "at"),
    )

    @property
    def details_dict(self) -> dict[str, Any]:
        return json.loads(self.details or "{}")


@event.listens_for(AuditEntry, "before_update")
def _refuse_update(mapper: Any, connection: Any, target: AuditEntry) -> None:
    raise RuntimeError("audit entries are append-only")


def record(
    session: Session, actor: Actor, action: str, obj: Any = None, **details: Any
) -> AuditEntry:
    """Add an audit entry for `action` by `actor` on `obj` (flushed with the caller's transaction)."""
    entry = AuditEntry(
        actor_id=actor.id,
        actor_label=actor.actor_label,
        action=action,
        object_type=type(obj).__name__ if obj is not None else "",
        object_id=getattr(obj, "id", None),
        details=json.dumps(details, default=str, sort_keys=True),
    )
    session.add(entry)
    return entry
