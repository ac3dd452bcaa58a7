"""Reading the audit log: who may (programme managers and auditors), the filter and its query, one page of it
newest first, and the page each entry's object has.

Every filter maps to an indexed condition on ``audit_entries`` (migration 0013): the object to
``(object_type, object_id, at)``, the person to ``(actor_id, at)``, an action or an action prefix to
``(action, at)`` (a prefix is a range ``'loans.' <= action < 'loans/'``, which a B-tree index serves on SQLite and
PostgreSQL alike, unlike ``LIKE``), and the period to ``at``."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import Select, func, or_, select

from programme.accounts.models import User
from programme.core.access import Actor, Role, require_role
from programme.core.audit import AuditEntry
from programme.core.timezone import local_to_utc
from programme.extensions import db

#: Who reads the audit log.
READERS = (Role.PROGRAMME_MANAGER, Role.AUDITOR)
#: Entries per page.
PER_PAGE = 50
#: How many people a name typed into the person filter may match before the reader is asked to be precise.
MAX_PEOPLE = 50
#: Rows read from the database at a time by the export.
BATCH = 2000
#: Typed into the person filter, the scheduler's and the command line's entries (no user).
SYSTEM = "system"


@dataclass(frozen=True)
class ObjectPage:
    """The page of an object of a type: its endpoint, the endpoint's id argument, and who may open it."""

    endpoint: str
    argument: str
    roles: tuple[Role, ...] = READERS


_MANAGERS = (Role.PROGRAMME_MANAGER,)
#: An audited object's type (its model's class name, as ``core.audit.record`` writes it) and its page, where it
#: has one of its own; any other type has no link.
OBJECT_PAGES: dict[str, ObjectPage] = {
    "Call": ObjectPage("calls.public_detail", "call_id"),
    "Proposal": ObjectPage("proposals.overview", "proposal_id", _MANAGERS),
    "Review": ObjectPage("reviews.review", "review_id", _MANAGERS),
    "User": ObjectPage("accounts.edit_user", "user_id", _MANAGERS),
    "ApplicantGroup": ObjectPage("accounts.group", "group_id", _MANAGERS),
    "Initiative": ObjectPage("funding.initiative", "initiative_id"),
    "RevolvingFund": ObjectPage("loans.fund", "fund_id"),
    "Loan": ObjectPage("loans.loan", "loan_id"),
    "SelfEvaluationReport": ObjectPage("reports.report", "report_id"),
}


def require_audit_reader(actor: Actor) -> None:
    """Programme managers and auditors read the audit log: AccessDenied for anyone else."""
    require_role(actor, *READERS)


@dataclass(frozen=True)
class AuditFilter:
    """What the reader asked for; every part optional. ``action`` ending in '.' or '*' is a prefix
    ('loans.' or 'loans*': every loans action), else the exact action. ``person`` is an e-mail address, a part
    of a name or address, or 'system'. The period's days are the programme's, both included."""

    object_type: str = ""
    object_id: int | None = None
    person: str = ""
    action: str = ""
    date_from: date | None = None
    date_to: date | None = None

    @property
    def empty(self) -> bool:
        return not (self.object_type or self.object_id is not None or self.person or self.action
                    or self.date_from or self.date_to)


def _prefix_range(prefix: str) -> tuple[str, str]:
    """The half-open range of the strings that start with ``prefix``: [prefix, prefix with its last character
    moved one on)."""
    return prefix, prefix[:-1] + chr(ord(prefix[-1]) + 1)


def _people(person: str) -> list[int]:
    """The ids of the users an e-mail address names exactly, or else whose name or address contains the text."""
    text = person.strip().lower()
    exact = list(db.session.scalars(select(User.id).where(func.lower(User.email) == text).limit(1)))
    if exact:
        return exact
    pattern = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return list(db.session.scalars(
        select(User.id).where(or_(func.lower(User.name).like(pattern, escape="\\"),
                                  func.lower(User.email).like(pattern, escape="\\")))
        .order_by(User.id).limit(MAX_PEOPLE)))


def _query(filters: AuditFilter, timezone: str) -> Select:
    query = select(AuditEntry)
    if filters.object_type:
        query = query.where(AuditEntry.object_type == filters.object_type)
    if filters.object_id is not None:
        query = query.where(AuditEntry.object_id == filters.object_id)
    if filters.person:
        if filters.person.strip().lower() == SYSTEM:
            query = query.where(AuditEntry.actor_id.is_(None))
        else:
            query = query.where(AuditEntry.actor_id.in_(_people(filters.person)))
    action = filters.action.strip()
    if action.endswith("*"):  # 'loans*' is 'loans.': every action of the area, never those of 'loansx'
        action = action.rstrip("*").rstrip(".") + "."
    if action.endswith(".") and len(action) > 1:
        low, high = _prefix_range(action)
        query = query.where(AuditEntry.action >= low, AuditEntry.action < high)
    elif action:
        query = query.where(AuditEntry.action == action)
    if filters.date_from is not None:
        query = query.where(AuditEntry.at >= local_to_utc(datetime.combine(filters.date_from, time()), timezone))
    if filters.date_to is not None:
        end = datetime.combine(filters.date_to + timedelta(days=1), time())
        query = query.where(AuditEntry.at < local_to_utc(end, timezone))
    return query


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    names: dict[int, str]
    count: int
    page: int
    pages: int


def audit_page(filters: AuditFilter, *, page: int, actor: Actor, timezone: str,
               per_page: int = PER_PAGE) -> AuditPage:
    """One page of the filtered audit log, newest first, with the names of the people on it."""
    require_audit_reader(actor)
    query = _query(filters, timezone)
    count = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    pages = max(1, -(-count // per_page))
    page = min(max(1, page), pages)
    entries = list(db.session.scalars(
        query.order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).offset((page - 1) * per_page).limit(per_page)))
    return AuditPage(entries, _names(entries), count, page, pages)


def _names(entries: list[AuditEntry]) -> dict[int, str]:
    ids = {e.actor_id for e in entries if e.actor_id is not None}
    if not ids:
        return {}
    return {user_id: name for user_id, name in db.session.execute(select(User.id, User.name).where(User.id.in_(ids)))}


def audit_rows(filters: AuditFilter, *, actor: Actor, timezone: str) -> Iterator[tuple[AuditEntry, str]]:
    """Every entry of the filtered log, newest first, with its person's name (empty for the system), read in
    batches (for the export: memory stays flat however long the log)."""
    require_audit_reader(actor)
    query = (_query(filters, timezone).add_columns(User.name)
             .outerjoin(User, User.id == AuditEntry.actor_id)
             .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
             .execution_options(yield_per=BATCH))
    for entry, name in db.session.execute(query):
        yield entry, name or ""


def object_page(entry: AuditEntry, actor: Actor) -> tuple[str, dict[str, int]] | None:
    """The endpoint and arguments of the page of the entry's object, if its type has one the actor may open."""
    page = OBJECT_PAGES.get(entry.object_type)
    if page is None or entry.object_id is None or not any(actor.has_role(role) for role in page.roles):
        return None
    return page.endpoint, {page.argument: entry.object_id}


def object_types() -> list[str]:
    """The object types the filter offers: those with a page, and the others the services audit."""
    return sorted({*OBJECT_PAGES, "Disbursement", "FundingRequest", "CoFinancingContribution", "ScorecardKpi",
                   "Scorecard", "MilestoneReview", "BankStatementImport", "GroupInvitation", "Organisation",
                   "BenchmarkPublication", "Decision"})
