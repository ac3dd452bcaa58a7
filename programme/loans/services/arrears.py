"""The daily arrears job: overdue instalments, their aging, each loan's days late, the day's
portfolio figures (PAR30 per fund and for the programme) and the repayment reminders.

Everything that touches instalments or loans is a handful of set-based statements (SQLAlchemy Core, the
same on SQLite and PostgreSQL): no Python loop per instalment or per loan. Each statement writes only the
rows whose values change, so a second run on the same day writes nothing and says so.

Definitions are those of ``loans.allocation``:

- an instalment of an active loan (not superseded by a reschedule) is **overdue** on ``as_of`` when its
  due date is before ``as_of`` and any of its principal or interest is unpaid; it is then
  ``as_of - due_date`` days late and aged into ``ARREARS_BUCKETS``; every other instalment is not overdue,
  0 days late, in no bucket;
- a loan's days late are those of its oldest overdue instalment (the maximum over its instalments);
- **PAR30** is the whole outstanding principal of every active loan with an instalment more than 30 days
  late (rescheduled loans included) over all outstanding principal, to 6 decimals (0 when nothing is
  outstanding); arrears by bucket are the unpaid principal and interest of the overdue instalments.

Penalties are not the job's: ``loans.services.repayments`` assesses them when a repayment is recorded (for the
days since the later of the due date and the loan's previous repayment), as a running total in
``penalty_assessed``.
Writing them here as well would charge the same days twice.

Reminders: an instalment due within ``REMINDER_DAYS`` (not yet reminded in that window), or overdue for
at most ``REMINDER_DAYS`` (not yet reminded since its due date), makes its loan's borrower group's users
get one notification per loan; ``reminded_on`` records it, so a second run sends nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    Integer,
    Numeric,
    and_,
    case,
    cast,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    literal_column,
    not_,
    null,
    or_,
    select,
    text,
    true,
    type_coerce,
    update,
)

from programme.accounts.models import GroupUser, User
from programme.core import audit
from programme.core.access import Actor, Role, require_role
from programme.core.db import from_cents
from programme.core.i18n import speaking_to
from programme.core.money import format_number
from programme.core.notifications import notify
from programme.core.texts import gettext as _
from programme.core.timezone import format_day
from programme.extensions import db
from programme.funding.models import Initiative
from programme.loans.allocation import ARREARS_BUCKETS, PAR_DAYS
from programme.loans.models import Loan, LoanInstalment, LoanStatus, PortfolioFigures, RevolvingFund

#: Days before a due date, and after it, within which the borrower's group is reminded.
REMINDER_DAYS = 7
#: An advisory lock key on PostgreSQL: two runs at once (the scheduler and the command) take turns.
DAILY_LOCK_KEY = 0x6C6F616E  # "loan"

PAR_PLACES = Decimal("0.000001")
MONEY_PLACES = Decimal("0.01")
ZERO = Decimal("0.00")
#: The figure columns of PortfolioFigures, in the order ``_Figures.values()`` gives them.
FIGURE_COLUMNS = ("loans_active", "loans_late", "outstanding", "at_risk_30", "par30", "arrears_1_30",
                  "arrears_31_60", "arrears_61_90", "arrears_over_90", "due_to_date", "repaid_to_date")
BUCKET_COLUMNS = dict(zip((label for label, _, _ in ARREARS_BUCKETS), FIGURE_COLUMNS[5:9], strict=True))

INSTALMENTS = LoanInstalment.__table__
LOANS = Loan.__table__
FUNDS = RevolvingFund.__table__
FIGURES = PortfolioFigures.__table__


@dataclass(frozen=True)
class DailyResult:
    """What one run changed (all zero on a second run the same day)."""

    as_of: date
    instalments_overdue: int = 0       # instalments newly overdue or whose days late moved on
    instalments_cleared: int = 0       # instalments no longer overdue (paid, rescheduled, written off)
    loans: int = 0                     # loans whose days late or bucket changed
    figures: int = 0                   # portfolio figure rows inserted, updated or removed
    reminders: int = 0                 # loans whose group was reminded
    notifications: int = 0             # notifications queued
    late_instalments: int = 0          # instalments overdue after the run (a state, not a change)
    late_loans: int = 0                # active loans late after the run (a state, not a change)

    @property
    def changed(self) -> int:
        return (self.instalments_overdue + self.instalments_cleared + self.loans + self.figures
                + self.reminders + self.notifications)

    def summary(self) -> str:
        if not self.changed:
            return (f"loans daily {self.as_of}: no change ({self.late_instalments} instalment(s) overdue on "
                    f"{self.late_loans} loan(s))")
        return (f"loans daily {self.as_of}: {self.instalments_overdue} instalment(s) marked overdue, "
                f"{self.instalments_cleared} cleared, {self.loans} loan(s) "
                f"re-aged, {self.figures} portfolio row(s) written, {self.reminders} loan(s) reminded "
                f"({self.notifications} notification(s)); {self.late_instalments} instalment(s) overdue on "
                f"{self.late_loans} loan(s)")


# ---------------------------------------------------------------------------------------------------------
# Dialect helpers


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def days_between(later: Any, earlier: Any) -> ColumnElement[int]:
    """Whole days from ``earlier`` to ``later`` (dates: columns or Python values) as an integer expression.

    PostgreSQL subtracts dates into an integer; SQLite has no date type and goes through julianday()."""
    later_expr = later if isinstance(later, ColumnElement) else literal(later, Date)
    earlier_expr = earlier if isinstance(earlier, ColumnElement) else literal(earlier, Date)
    if _dialect() == "postgresql":
        return type_coerce(later_expr - earlier_expr, Integer)
    return cast(func.julianday(later_expr) - func.julianday(earlier_expr), Integer)


def _cents(expr: Any) -> ColumnElement[int]:
    """A money expression in whole cents (exact on both databases: SQLite keeps money as binary floats)."""
    if _dialect() == "postgresql":
        return cast(expr * 100, Numeric(30, 0))  # numeric: no overflow
    return cast(func.round(expr * 100), BigInteger)


def _bucket(days: Any) -> ColumnElement[str | None]:
    """The arrears bucket label of a days-late expression (NULL when not late), per ARREARS_BUCKETS."""
    whens = []
    for label, low, high in ARREARS_BUCKETS:
        condition = days >= low if high is None else and_(days >= low, days <= high)
        whens.append((condition, literal(label)))
    return case(*whens, else_=null())


def _unpaid() -> ColumnElement[Decimal]:
    i = INSTALMENTS.c
    return i.principal - i.principal_paid + i.interest - i.interest_paid - i.interest_cancelled


def _has_unpaid() -> ColumnElement[bool]:
    # Amounts are whole cents, so "more than half a cent" is "more than zero" without float noise on SQLite.
    return _unpaid() > literal_column("0.005")


def _active_loans() -> Any:
    return select(LOANS.c.id).where(LOANS.c.status == LoanStatus.ACTIVE.value)


def _late_condition(as_of: date) -> ColumnElement[bool]:
    i = INSTALMENTS.c
    return and_(i.superseded == false(), i.due_date < as_of, _has_unpaid(), i.loan_id.in_(_active_loans()))


# ---------------------------------------------------------------------------------------------------------
# The run


def run_daily(*, as_of: date, actor: Actor, now: datetime) -> DailyResult:
    """Age the arrears on ``as_of``, write the day's portfolio figures and queue reminders.

    Idempotent: a second run on the same day changes nothing and returns zero counts. Flushes, never commits.
    """
    require_role(actor, Role.FUND_ADMINISTRATOR)
    session = db.session
    session.flush()
    if _dialect() == "postgresql":
        # One run at a time; and the loans before their instalments, in the order the repayment services lock
        # them (a loan row, then its instalments), so a repayment recorded meanwhile waits instead of
        # deadlocking. EXCLUSIVE mode still lets every page read the loans.
        session.execute(select(func.pg_advisory_xact_lock(DAILY_LOCK_KEY)))
        session.execute(text("LOCK TABLE loans IN EXCLUSIVE MODE"))
    overdue, cleared = _age_instalments(as_of)
    loans = _age_loans()
    figures = _write_figures(as_of, now)
    reminders, notifications = _remind(as_of)
    late_instalments = session.scalar(select(func.count()).select_from(INSTALMENTS)
                                      .where(INSTALMENTS.c.overdue == true())) or 0
    late_loans = session.scalar(select(func.count()).select_from(LOANS).where(
        LOANS.c.status == LoanStatus.ACTIVE.value, LOANS.c.days_late > 0)) or 0
    result = DailyResult(as_of=as_of, instalments_overdue=overdue, instalments_cleared=cleared, loans=loans,
                         figures=figures, reminders=reminders, notifications=notifications,
                         late_instalments=late_instalments, late_loans=late_loans)
    if result.changed:
        # Only a run that changed something leaves a trace: the second run of a day changes nothing at all.
        audit.record(session, actor, "loans.daily_run", None, as_of=as_of.isoformat(), overdue=overdue,
                     cleared=cleared, loans=loans, figures=figures, reminders=reminders,
                     notifications=notifications, late_instalments=late_instalments, late_loans=late_loans)
    session.flush()
    # The Core statements bypassed the identity map: let loaded loans and instalments read the new values.
    session.expire_all()
    return result


def _age_instalments(as_of: date) -> tuple[int, int]:
    """Mark the late instalments overdue with their days late and bucket; clear the others. Returns the
    numbers of rows written by each statement."""
    i = INSTALMENTS.c
    days = days_between(as_of, i.due_date)
    bucket = _bucket(days)
    late = _late_condition(as_of)
    marked = db.session.execute(
        update(INSTALMENTS)
        .where(late, or_(i.overdue == false(), i.days_late != days, i.arrears_bucket.is_distinct_from(bucket)))
        .values(overdue=True, days_late=days, arrears_bucket=bucket)
        .execution_options(synchronize_session=False)
    ).rowcount
    cleared = db.session.execute(
        update(INSTALMENTS)
        .where(or_(i.overdue == true(), i.days_late != 0, i.arrears_bucket.is_not(None)), not_(late))
        .values(overdue=False, days_late=0, arrears_bucket=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    return marked, cleared


def _age_loans() -> int:
    """Each loan's days late = its oldest overdue instalment's; 0 and no bucket when none is overdue."""
    i, loan = INSTALMENTS.c, LOANS.c
    oldest = (
        select(i.loan_id.label("loan_id"), func.max(i.days_late).label("days"))
        .where(i.overdue == true()).group_by(i.loan_id).subquery()
    )
    bucket = _bucket(oldest.c.days)
    late = db.session.execute(
        update(LOANS)
        .where(loan.id == oldest.c.loan_id,
               or_(loan.days_late != oldest.c.days, loan.arrears_bucket.is_distinct_from(bucket)))
        .values(days_late=oldest.c.days, arrears_bucket=bucket)
        .execution_options(synchronize_session=False)
    ).rowcount
    any_overdue = exists().where(i.loan_id == loan.id, i.overdue == true())
    cleared = db.session.execute(
        update(LOANS)
        .where(or_(loan.days_late != 0, loan.arrears_bucket.is_not(None)), not_(any_overdue))
        .values(days_late=0, arrears_bucket=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    return late + cleared


# ---------------------------------------------------------------------------------------------------------
# Portfolio figures


@dataclass
class _Figures:
    currency: str
    loans_active: int = 0
    loans_late: int = 0
    outstanding: Decimal = ZERO
    at_risk_30: Decimal = ZERO
    arrears: dict[str, Decimal] = field(default_factory=lambda: {label: ZERO for label in BUCKET_COLUMNS})
    due_to_date: Decimal = ZERO
    repaid_to_date: Decimal = ZERO

    @property
    def par30(self) -> Decimal:
        if self.outstanding == 0:
            return Decimal("0.000000")
        return (self.at_risk_30 / self.outstanding).quantize(PAR_PLACES, ROUND_HALF_UP)

    def add(self, other: _Figures) -> None:
        self.loans_active += other.loans_active
        self.loans_late += other.loans_late
        self.outstanding += other.outstanding
        self.at_risk_30 += other.at_risk_30
        for label, amount in other.arrears.items():
            self.arrears[label] += amount
        self.due_to_date += other.due_to_date
        self.repaid_to_date += other.repaid_to_date

    def values(self) -> dict[str, Any]:
        values = {"loans_active": self.loans_active, "loans_late": self.loans_late,
                  "outstanding": _money(self.outstanding), "at_risk_30": _money(self.at_risk_30),
                  "par30": self.par30, "due_to_date": _money(self.due_to_date),
                  "repaid_to_date": _money(self.repaid_to_date)}
        values.update({BUCKET_COLUMNS[label]: _money(amount) for label, amount in self.arrears.items()})
        return values


def _money(value: Any) -> Decimal:
    return Decimal(value if value is not None else 0).quantize(MONEY_PLACES, ROUND_HALF_UP)


def _same(row: Any, values: dict[str, Any]) -> bool:
    for name in FIGURE_COLUMNS:
        old, new = getattr(row, name), values[name]
        if isinstance(new, Decimal):
            places = PAR_PLACES if name == "par30" else MONEY_PLACES
            if Decimal(old).quantize(places, ROUND_HALF_UP) != new:
                return False
        elif old != new:
            return False
    return True


def compute_figures(as_of: date) -> tuple[dict[int, _Figures], dict[str, _Figures]]:
    """The portfolio now (from the cached days late and outstanding principal), and what was due and repaid on
    the instalments due by ``as_of``: per fund, and per currency."""
    loan, i = LOANS.c, INSTALMENTS.c
    per_fund = db.session.execute(
        select(
            FUNDS.c.id, FUNDS.c.currency,
            func.count(loan.id),
            func.coalesce(func.sum(case((loan.days_late > 0, 1), else_=0)), 0),
            func.coalesce(func.sum(_cents(loan.principal_outstanding)), 0),
            func.coalesce(func.sum(case((loan.days_late > PAR_DAYS, _cents(loan.principal_outstanding)),
                                        else_=0)), 0),
        )
        .select_from(FUNDS)
        .outerjoin(LOANS, and_(loan.fund_id == FUNDS.c.id, loan.status == LoanStatus.ACTIVE.value))
        .group_by(FUNDS.c.id, FUNDS.c.currency)
    ).all()
    funds: dict[int, _Figures] = {}
    for fund_id, currency, active, late, outstanding, at_risk in per_fund:
        funds[fund_id] = _Figures(currency=currency, loans_active=active, loans_late=int(late),
                                  outstanding=from_cents(outstanding), at_risk_30=from_cents(at_risk))
    arrears = db.session.execute(
        select(loan.fund_id, i.arrears_bucket, func.sum(_cents(_unpaid())))
        .select_from(INSTALMENTS).join(LOANS, loan.id == i.loan_id)
        .where(i.overdue == true())
        .group_by(loan.fund_id, i.arrears_bucket)
    ).all()
    for fund_id, bucket, amount in arrears:
        if fund_id in funds and bucket in BUCKET_COLUMNS:
            funds[fund_id].arrears[bucket] += from_cents(amount)
    repayment = db.session.execute(
        select(loan.fund_id, func.sum(_cents(i.principal + i.interest - i.interest_cancelled)),
               func.sum(_cents(i.principal_paid + i.interest_paid)))
        .select_from(INSTALMENTS).join(LOANS, loan.id == i.loan_id)
        .where(i.superseded == false(), i.due_date <= as_of)
        .group_by(loan.fund_id)
    ).all()
    for fund_id, due, repaid in repayment:
        if fund_id in funds:
            funds[fund_id].due_to_date, funds[fund_id].repaid_to_date = from_cents(due), from_cents(repaid)
    programme: dict[str, _Figures] = {}
    for figures in funds.values():
        programme.setdefault(figures.currency, _Figures(currency=figures.currency)).add(figures)
    return funds, programme


def _write_figures(as_of: date, now: datetime) -> int:
    """Upsert the day's rows: insert the missing, update those that differ, remove those of funds gone."""
    funds, programme = compute_figures(as_of)
    wanted: dict[tuple[int | None, str], _Figures] = {(fund_id, f.currency): f for fund_id, f in funds.items()}
    wanted.update({(None, currency): f for currency, f in programme.items()})
    f = FIGURES.c
    existing = {
        (row.fund_id, row.currency if row.fund_id is None else None): row
        for row in db.session.execute(select(FIGURES).where(f.as_of == as_of))
    }
    written = 0
    inserts = []
    for (fund_id, currency), figures in wanted.items():
        values = figures.values()
        row = existing.pop((fund_id, currency if fund_id is None else None), None)
        if row is None:
            inserts.append({"as_of": as_of, "fund_id": fund_id, "currency": currency, "computed_at": now, **values})
        elif not _same(row, values) or row.currency != currency:
            db.session.execute(update(FIGURES).where(f.id == row.id)
                               .values(currency=currency, computed_at=now, **values))
            written += 1
    if existing:
        db.session.execute(delete(FIGURES).where(f.id.in_([row.id for row in existing.values()])))
        written += len(existing)
    if inserts:
        db.session.execute(insert(FIGURES), inserts)
        written += len(inserts)
    return written


def portfolio_on(as_of: date, fund_id: int | None = None) -> list[PortfolioFigures]:
    """The figures the daily job wrote for ``as_of``: the fund's row (a list of one, or empty), or with no fund
    the programme's rows, one per currency."""
    query = select(PortfolioFigures).where(PortfolioFigures.as_of == as_of)
    if fund_id is None:
        query = query.where(PortfolioFigures.fund_id.is_(None))
    else:
        query = query.where(PortfolioFigures.fund_id == fund_id)
    return list(db.session.scalars(query.order_by(PortfolioFigures.currency)))


def latest_portfolio(fund_id: int | None = None, as_of: date | None = None) -> list[PortfolioFigures]:
    """The most recent figures on or before ``as_of`` (default: any day), as ``portfolio_on`` gives them."""
    query = select(func.max(PortfolioFigures.as_of))
    if fund_id is None:
        query = query.where(PortfolioFigures.fund_id.is_(None))
    else:
        query = query.where(PortfolioFigures.fund_id == fund_id)
    if as_of is not None:
        query = query.where(PortfolioFigures.as_of <= as_of)
    day = db.session.scalar(query)
    return portfolio_on(day, fund_id) if day is not None else []


# ---------------------------------------------------------------------------------------------------------
# Reminders


def _remind(as_of: date) -> tuple[int, int]:
    """Mark the instalments to remind (one statement, returning them) and queue one notification per loan and
    user of the borrower's group. Returns (loans reminded, notifications queued)."""
    i = INSTALMENTS.c
    upcoming = and_(
        i.superseded == false(), i.due_date >= as_of, i.due_date <= as_of + timedelta(days=REMINDER_DAYS),
        _has_unpaid(), i.loan_id.in_(_active_loans()),
        or_(i.reminded_on.is_(None), days_between(i.due_date, i.reminded_on) > REMINDER_DAYS),
    )
    just_late = and_(
        i.overdue == true(), i.days_late >= 1, i.days_late <= REMINDER_DAYS,
        or_(i.reminded_on.is_(None), i.reminded_on <= i.due_date),
    )
    reminded = db.session.execute(
        update(INSTALMENTS).where(or_(upcoming, just_late)).values(reminded_on=as_of)
        .returning(i.loan_id, i.number, i.due_date, i.days_late,
                   type_coerce(_unpaid(), Numeric(14, 2)))
        .execution_options(synchronize_session=False)
    ).all()
    if not reminded:
        return 0, 0
    by_loan: dict[int, list[Any]] = defaultdict(list)
    for row in reminded:
        by_loan[row[0]].append(row)
    loans: dict[int, Any] = {}
    users: dict[int, list[Any]] = defaultdict(list)
    loan_ids = sorted(by_loan)
    for start in range(0, len(loan_ids), 500):
        chunk = loan_ids[start:start + 500]
        for row in db.session.execute(
            select(LOANS.c.id, LOANS.c.number, LOANS.c.currency, Initiative.__table__.c.group_id)
            .join(FUNDS, FUNDS.c.id == LOANS.c.fund_id)
            .join(Initiative.__table__, Initiative.__table__.c.id == FUNDS.c.initiative_id)
            .where(LOANS.c.id.in_(chunk))
        ):
            loans[row.id] = row
    group_ids = sorted({row.group_id for row in loans.values()})
    for start in range(0, len(group_ids), 500):
        for row in db.session.execute(
            select(GroupUser.group_id, User.id, User.email, User.language).join(User, User.id == GroupUser.user_id)
            .where(GroupUser.group_id.in_(group_ids[start:start + 500])).order_by(GroupUser.group_id, User.id)
        ):
            users[row.group_id].append(row)
    notifications = 0
    for loan_id in loan_ids:
        loan = loans[loan_id]
        rows = sorted(by_loan[loan_id], key=lambda r: r[1])
        texts: dict[str, tuple[str, str]] = {}  # each reader's language, written once per loan
        for reader in users.get(loan.group_id, []):
            with speaking_to(reader) as language:
                if language not in texts:
                    texts[language] = _reminder_text(loan.number, loan.currency, rows, as_of)
            subject, body = texts[language]
            notify(db.session, email=reader.email, user_id=reader.id, subject=subject, body=body,
                   link=f"/loans/{loan_id}")
            notifications += 1
    return len(loan_ids), notifications


def _reminder_text(number: str, currency: str, instalments: list[Any], as_of: date) -> tuple[str, str]:
    late = [row for row in instalments if row[3] > 0]
    lines = []
    for _loan_id, instalment, due_date, days_late, unpaid in instalments:
        amount = f"{currency} {format_number(_money(unpaid), 2)}"
        if days_late > 0:
            lines.append(_("- instalment %(instalment)s, due on %(day)s, is %(days)s day(s) late: %(amount)s unpaid",
                           instalment=instalment, day=format_day(due_date), days=days_late, amount=amount))
        else:
            when = _("today") if due_date == as_of else _("in %(days)s day(s)", days=(due_date - as_of).days)
            lines.append(_("- instalment %(instalment)s of %(amount)s is due on %(day)s (%(when)s)",
                           instalment=instalment, amount=amount, day=format_day(due_date), when=when))
    if late:
        subject = _("Loan %(number)s: a repayment is late", number=number)
    else:
        subject = _("Loan %(number)s: a repayment is due soon", number=number)
    body = (_("Loan %(number)s:", number=number) + "\n" + "\n".join(lines) + "\n\n"
            + _("Please pay by bank transfer quoting the loan number. If you have paid already, thank you: the "
                "payment will show once the fund administrator has recorded it."))
    return subject, body
