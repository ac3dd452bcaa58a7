"""The loan book: the loans an actor may see, filtered, sorted and one page at a time, with their totals per
currency; and who may see which loans and funds (``sees_all``, ``may_list``), which the fund pages share.

Read-only: nothing here writes. Access is checked here as in the services (reviewers see no list, 403;
applicants see only their own groups' funds and loans); the figures come from the cached columns on the loans
(principal outstanding, days late, arrears bucket), which ``programme ledger check`` proves equal to the ledger.
Sums of money are taken in SQL as whole minor units (cents, as integers), so SQLite never adds them as floats.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, localcontext

from sqlalchemy import Select, case, func, literal, or_, select

from programme.accounts.models import GroupUser, Organisation
from programme.core.access import Actor, Role, require_role
from programme.core.db import from_cents, sum_cents
from programme.core.kept import Kept, database_key
from programme.extensions import db
from programme.funding.models import Initiative
from programme.loans.allocation import ARREARS_BUCKETS, PAR_DAYS
from programme.loans.models import Loan, LoanStatus, RevolvingFund

#: The arrears buckets' labels, in order ("1-30", "31-60", "61-90", "over 90").
BUCKETS: tuple[str, ...] = tuple(label for label, _, _ in ARREARS_BUCKETS)
#: What the loan book can be filtered by, besides a bucket: loans not late, and loans late at all.
CURRENT = "current"
LATE = "late"
BUCKET_FILTERS: tuple[str, ...] = (CURRENT, LATE, *BUCKETS)
#: The loan book's sort orders; the first is the default.
SORTS: tuple[str, ...] = ("number", "outstanding", "days_late")
PER_PAGE = 50


# ------------------------------------------------------------------------------------------------ helpers


def _share(part: Decimal, whole: Decimal) -> Decimal:
    """part / whole as a share between 0 and 1, six places (0 when the whole is 0)."""
    if whole == 0:
        return Decimal("0.000000")
    with localcontext() as ctx:
        ctx.prec = 30
        return (part / whole).quantize(Decimal("0.000001"))


def sees_all(actor: Actor) -> bool:
    """Managers and fund administrators see every fund and loan; applicants only their own groups'."""
    return any(actor.has_role(role) for role in (Role.PROGRAMME_MANAGER, Role.FUND_ADMINISTRATOR, Role.AUDITOR))


def may_list(actor: Actor) -> None:
    """The lists (funds, loan book) are for managers, fund administrators and applicants: 403 for others."""
    require_role(actor, Role.PROGRAMME_MANAGER, Role.FUND_ADMINISTRATOR, Role.AUDITOR, Role.APPLICANT)


# ------------------------------------------------------------------------------------------------ loan book


@dataclass(frozen=True)
class LoanBookFilter:
    fund_id: int | None = None
    status: str | None = None
    bucket: str | None = None
    search: str | None = None
    sort: str = "number"
    descending: bool = False

    @property
    def narrowed(self) -> bool:
        return bool(self.fund_id or self.status or self.bucket or self.search)


@dataclass(frozen=True)
class LoanBookRow:
    id: int
    number: str
    status: LoanStatus
    rescheduled: bool
    currency: str
    principal: Decimal
    outstanding: Decimal
    credit: Decimal
    days_late: int
    bucket: str | None
    first_due: date
    disbursed_on: date
    borrower: str
    fund_id: int
    initiative_reference: str
    initiative_name: str


@dataclass(frozen=True)
class BookTotals:
    """The totals of the loans a filter selects, in one currency."""

    currency: str
    loans: int
    outstanding: Decimal
    in_arrears: Decimal   # outstanding principal of the loans with something late
    at_risk_30: Decimal   # outstanding principal of the loans more than 30 days late

    @property
    def par30(self) -> Decimal:
        return _share(self.at_risk_30, self.outstanding)


@dataclass(frozen=True)
class LoanBook:
    rows: list[LoanBookRow]
    count: int
    totals: list[BookTotals]
    page: int
    pages: int


def _book_filtered(query: Select, filters: LoanBookFilter, actor: Actor) -> Select:
    """The loans the filter selects (and the actor may see), on a query over ``loans``: the fund, initiative and
    borrower are joined only where the filter or the actor's visibility needs them."""
    if not sees_all(actor):
        own_groups = select(GroupUser.group_id).where(GroupUser.user_id == actor.id)
        query = query.where(Loan.fund_id.in_(
            select(RevolvingFund.id).join(Initiative, Initiative.id == RevolvingFund.initiative_id)
            .where(Initiative.group_id.in_(own_groups))))
    if filters.fund_id:
        query = query.where(Loan.fund_id == filters.fund_id)
    if filters.status:
        query = query.where(Loan.status == LoanStatus(filters.status))
    if filters.bucket == CURRENT:
        query = query.where(Loan.days_late == 0)
    elif filters.bucket == LATE:
        query = query.where(Loan.days_late > 0)
    elif filters.bucket:
        query = query.where(Loan.arrears_bucket == filters.bucket)
    if filters.search:
        pattern = f"%{_escaped(filters.search.strip())}%"
        query = query.where(or_(Loan.number.ilike(pattern, escape="\\"), Loan.borrower_id.in_(
            select(Organisation.id).where(Organisation.name.ilike(pattern, escape="\\")))))
    return query


def _escaped(typed: str) -> str:
    return typed.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


_ROW_COLUMNS = (Loan.id, Loan.number, Loan.status, Loan.rescheduled, Loan.currency, Loan.principal,
                Loan.principal_outstanding, Loan.credit, Loan.days_late, Loan.arrears_bucket, Loan.first_due,
                Loan.disbursed_on, Organisation.name, Loan.fund_id, Initiative.reference, Initiative.name)


def _with_names(query: Select) -> Select:
    """Join what a row of the book shows beside the loan: its borrower's name and its fund's initiative."""
    return (query.join(Organisation, Organisation.id == Loan.borrower_id)
            .join(RevolvingFund, RevolvingFund.id == Loan.fund_id)
            .join(Initiative, Initiative.id == RevolvingFund.initiative_id))


#: The loan book's totals, per version of the data, filter and visibility (see ``loan_book``).
_totals_kept: Kept[list[BookTotals]] = Kept(32)


def loan_book(filters: LoanBookFilter, *, actor: Actor, page: int = 1, per_page: int = PER_PAGE,
              version: Hashable | None = None) -> LoanBook:
    """One page of the loans the actor may see, as the filter selects and sorts them, and their totals:
    one query for the count and totals (over ``loans`` alone), one for the page's rows (the page's loans
    chosen on ``loans``, then their borrower and initiative joined: plain columns, no lazy loads).

    With a ``version`` of the data (the caller's data version, which every repayment, loan event and run of the
    daily job moves), the totals are worked out once per version, filter and visibility and kept in this
    process."""
    may_list(actor)
    key = {"number": Loan.number, "outstanding": Loan.principal_outstanding, "days_late": Loan.days_late}[
        filters.sort if filters.sort in SORTS else "number"]
    order = (key.desc(), Loan.id.desc()) if filters.descending else (key.asc(), Loan.id.asc())
    if version is None:
        totals = _book_totals(filters, actor)
    else:
        scope = None if sees_all(actor) else actor.id
        selected = (filters.fund_id, filters.status, filters.bucket, filters.search)
        totals = _totals_kept.get((database_key(), version, scope, selected), lambda: _book_totals(filters, actor))
    count = sum(t.loans for t in totals)
    pages = max(1, -(-count // per_page))
    page = min(max(1, page), pages)
    chosen = (_book_filtered(select(Loan.id), filters, actor).order_by(*order)
              .limit(per_page).offset((page - 1) * per_page)).scalar_subquery()
    rows_query = _with_names(select(*_ROW_COLUMNS)).where(Loan.id.in_(chosen)).order_by(*order)
    rows = [LoanBookRow(*row) for row in db.session.execute(rows_query)]
    return LoanBook(rows=rows, count=count, totals=totals, page=page, pages=pages)


def _book_totals(filters: LoanBookFilter, actor: Actor) -> list[BookTotals]:
    """The totals per currency of the loans the filter selects (and the actor may see): one query."""
    totals_query = _book_filtered(select(
        Loan.currency, func.count(Loan.id), sum_cents(Loan.principal_outstanding),
        sum_cents(case((Loan.days_late > 0, Loan.principal_outstanding), else_=literal(0))),
        sum_cents(case((Loan.days_late > PAR_DAYS, Loan.principal_outstanding), else_=literal(0))),
    ), filters, actor).group_by(Loan.currency).order_by(Loan.currency)
    return [BookTotals(currency, int(count), from_cents(outstanding), from_cents(late), from_cents(risk))
            for currency, count, outstanding, late, risk in db.session.execute(totals_query)]


def loans_after(filters: LoanBookFilter, *, actor: Actor, after_id: int | None, limit: int) -> list[Loan]:
    """The loans the filter selects and the actor may see (the loan book's rule), in the order of their ids, from
    the one after ``after_id``: ``limit`` of them (a caller reading page by page asks one more than it shows, to
    know whether more follow). For programs that read the book in pages that neither skip nor repeat a loan."""
    may_list(actor)
    query = _book_filtered(select(Loan), filters, actor)
    if after_id is not None:
        query = query.where(Loan.id > after_id)
    return list(db.session.scalars(query.order_by(Loan.id).limit(limit)))
