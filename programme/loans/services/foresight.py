"""Revolving-fund foresight (issue 18): a fund's and the programme's projection for the next five years, their
risk scores and the dashboard's early-warning list. Read-only: nothing here writes.

The loans' unpaid instalments are read in ONE set-based query (whatever the number of loans), the funds' cash
in one (the ledger's balances), their approved loan requests not yet lent in two, their PAR30 in one; the
arithmetic is the pure ``loans.foresight``. Each fund follows its call's ``[funding.revolving_fund]`` rules
(``rulebook.foresight``; the defaults when a call has none). The programme's projection is the sum of the funds'
(per currency): each fund lends only its own cash.

Access: a fund's projection is seen by whoever sees the fund's page (``get_fund``: 404 otherwise); the
programme's projection and the early warnings by programme managers, fund administrators and auditors (403
otherwise).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from babel.dates import format_date
from sqlalchemy import Integer, and_, case, cast, func, literal, or_, select

from programme.calls.models import Call
from programme.core.access import Actor, Role, require_role
from programme.core.charts import Scale, Tick, coordinate, nice_step, tick_values
from programme.core.db import cents, sum_cents
from programme.core.i18n import current_language
from programme.core.kept import Kept, database_key
from programme.core.money import format_number, symbols_in_use
from programme.core.texts import gettext as _
from programme.extensions import db
from programme.funding.models import FundingRequest, FundingRequestStatus, Initiative
from programme.ledger.balances import balances
from programme.ledger.models import Account, AccountKind
from programme.loans.allocation import PAR_DAYS
from programme.loans.foresight import (
    HORIZON,
    Book,
    Policy,
    Projection,
    Projector,
    RiskScore,
    Scenario,
    books_from_months,
    empty_projection,
    first_of_month,
    month_number,
    risk_score,
)
from programme.loans.models import Loan, LoanInstalment, LoanStatus, RevolvingFund
from programme.loans.services.funds import get_fund
from programme.rulebook.foresight import DEFAULT_RULES, RevolvingFundRules
from programme.rulebook.foresight import Scenario as ScenarioRules

#: Who reads the programme's projection and the early warnings.
PROGRAMME_READERS = (Role.PROGRAMME_MANAGER, Role.FUND_ADMINISTRATOR, Role.AUDITOR)


def scenario_of(rules: ScenarioRules) -> Scenario:
    return Scenario(annual_default_rate=rules.annual_default_rate, loss_given_default=rules.loss_given_default,
                    prepayment_rate=rules.prepayment_rate, new_lending_per_year=rules.new_lending_per_year,
                    admin_cost_share=rules.admin_cost_share)


def policy_of(rules: RevolvingFundRules) -> Policy:
    return Policy(utilisation_standard=rules.capital_utilisation_standard, cash_floor=rules.cash_floor,
                  cash_floor_share=rules.cash_floor_share, new_loan_rate=rules.new_loan_rate,
                  new_loan_term_months=rules.new_loan_term_months, arrears_default_days=rules.arrears_default_days,
                  par30_warning=rules.par30_warning, warning_months=rules.warning_months)


def rules_of_call(call: Call) -> RevolvingFundRules:
    """The call's ``[funding.revolving_fund]``, or the defaults when its rules have none; a new-loan term the file
    does not give is the default's or the longest its loans allow (``funding.loans.max_term_months``), whichever
    is shorter: the projection never models loans the fund may not make."""
    rules = call.rules.funding.revolving_fund or DEFAULT_RULES
    longest = call.rules.funding.loans.max_term_months
    if "new_loan_term_months" not in rules.model_fields_set and rules.new_loan_term_months > longest:
        rules = rules.model_copy(update={"new_loan_term_months": longest})
    return rules


# ------------------------------------------------------------------------------------------------ loading


@dataclass(frozen=True)
class FundLine:
    """A fund as the projection needs it: plain values."""

    fund_id: int
    reference: str
    name: str
    currency: str
    call_id: int


def _fund_lines(fund_ids: Iterable[int] | None = None) -> list[FundLine]:
    query = (select(RevolvingFund.id, Initiative.reference, Initiative.name, RevolvingFund.currency, Initiative.call_id)
             .join(Initiative, Initiative.id == RevolvingFund.initiative_id).order_by(Initiative.reference))
    if fund_ids is not None:
        query = query.where(RevolvingFund.id.in_(list(fund_ids)))
    return [FundLine(*row) for row in db.session.execute(query)]


def _unpaid() -> Any:
    """The condition of a current instalment with something of its principal or interest unpaid."""
    i = LoanInstalment
    return and_(i.superseded.is_(False),
                or_(i.principal_paid < i.principal, i.interest_paid + i.interest_cancelled < i.interest))


def _unpaid_rows(fund_ids: list[int] | None) -> Iterable[tuple[int, int, int, date, int, int]]:
    """Every unpaid instalment of the active loans, loan by loan, for the domain's reference ``books_from_rows``
    (the checks use it; ``_books`` sums the same in the database)."""
    i = LoanInstalment
    query = (select(Loan.fund_id, i.loan_id, Loan.days_late, i.due_date, cents(i.principal) - cents(i.principal_paid),
                    cents(i.interest) - cents(i.interest_paid) - cents(i.interest_cancelled))
             .join(Loan, Loan.id == i.loan_id).where(Loan.status == LoanStatus.ACTIVE, _unpaid())
             .order_by(i.loan_id, i.number))
    if fund_ids is not None:
        query = query.where(Loan.fund_id.in_(fund_ids))
    return db.session.execute(query)


def _books(fund_ids: list[int] | None, *, start: date, default_days: int) -> dict[int, Book]:
    """The funds' books in ONE set-based query, whatever the number of loans: the unpaid principal and interest
    of the active loans' current instalments, summed per fund, month of the due date, and whether the loan is
    taken as defaulted (``default_days`` or more late, as the daily arrears job last aged it).

    On PostgreSQL the amounts (exact numerics) are summed first and the month is ``date_trunc``; on SQLite, which
    keeps amounts as binary floats, each amount is made whole cents before it is added (``core.db.cents``) and the
    month is read from the ISO text of the date."""
    i = LoanInstalment
    gone = Loan.days_late >= default_days
    if db.session.get_bind().dialect.name == "sqlite":
        month: Any = cast(func.substr(i.due_date, 1, 4), Integer) * 12 + cast(func.substr(i.due_date, 6, 2),
                                                                              Integer) - 1
        principal = func.sum(cents(i.principal) - cents(i.principal_paid))
        interest = func.sum(cents(i.interest) - cents(i.interest_paid) - cents(i.interest_cancelled))
    else:
        month = func.date_trunc("month", i.due_date)
        principal = cents(func.sum(i.principal - i.principal_paid))
        interest = cents(func.sum(i.interest - i.interest_paid - i.interest_cancelled))
    query = (select(Loan.fund_id, month, gone, principal, interest)
             .join(Loan, Loan.id == i.loan_id).where(Loan.status == LoanStatus.ACTIVE, _unpaid())
             .group_by(Loan.fund_id, month, gone))
    if fund_ids is not None:
        query = query.where(Loan.fund_id.in_(fund_ids))

    def number(value: Any) -> int:
        return int(value) if isinstance(value, int) else month_number(value)

    return books_from_months(((f, number(m), bool(g), int(p), int(n)) for f, m, g, p, n in db.session.execute(query)),
                             start=start)


def _cash(fund_ids: list[int]) -> dict[int, int]:
    accounts = db.session.scalars(select(Account).where(
        Account.kind == AccountKind.REVOLVING_FUND_CASH, Account.owner_type == "fund", Account.owner_id.in_(fund_ids)))
    return {account.owner_id: int(amount * 100) for account, amount in balances(accounts).items()}


def _pipeline(fund_ids: list[int]) -> dict[int, int]:
    """Per fund, in cents: the approved loan parts of its initiative's funding requests less the loans already
    made against them (never below zero per request): approved, not yet lent."""
    drawn = dict(db.session.execute(
        select(Loan.funding_request_id, sum_cents(Loan.principal))
        .where(Loan.funding_request_id.is_not(None), Loan.fund_id.in_(fund_ids)).group_by(Loan.funding_request_id)
    ).all())
    pipeline: dict[int, int] = defaultdict(int)
    for fund_id, request_id, approved in db.session.execute(
            select(RevolvingFund.id, FundingRequest.id, cents(FundingRequest.loan_approved))
            .join(FundingRequest, FundingRequest.initiative_id == RevolvingFund.initiative_id)
            .where(RevolvingFund.id.in_(fund_ids), FundingRequest.status == FundingRequestStatus.APPROVED,
                   FundingRequest.loan_approved > 0)):
        pipeline[fund_id] += max(0, int(approved) - int(drawn.get(request_id, 0)))
    return dict(pipeline)


def _par30(fund_ids: list[int]) -> dict[int, Decimal]:
    """Per fund: principal outstanding of the active loans more than 30 days late (as the daily job last aged
    them) ÷ all their principal outstanding."""
    figures = {}
    for fund_id, outstanding, at_risk in db.session.execute(
            select(Loan.fund_id, sum_cents(Loan.principal_outstanding),
                   sum_cents(case((Loan.days_late > PAR_DAYS, Loan.principal_outstanding), else_=literal(0))))
            .where(Loan.status == LoanStatus.ACTIVE, Loan.fund_id.in_(fund_ids)).group_by(Loan.fund_id)):
        figures[fund_id] = (Decimal(int(at_risk)) / Decimal(int(outstanding))).quantize(Decimal("0.0001")) \
            if outstanding else Decimal("0.0000")
    return figures


@dataclass
class Loaded:
    """Everything the projections of some funds need, read once."""

    start: date
    funds: list[FundLine]
    books: dict[int, Book]
    cash: dict[int, int]
    pipeline: dict[int, int]
    par30: dict[int, Decimal]
    rules: dict[int, RevolvingFundRules]  # by call id


def load(*, as_of: date, fund_ids: list[int] | None = None) -> Loaded:
    """Read the funds (all, or those named) for their projections: a fixed number of queries."""
    funds = _fund_lines(fund_ids)
    ids = [f.fund_id for f in funds]
    rules = {call_id: rules_of_call(db.session.get(Call, call_id)) for call_id in {f.call_id for f in funds}}
    # The arrears rule of each call (the same in every shipped call: one pass for all).
    books: dict[int, Book] = {}
    for days in {r.arrears_default_days for r in rules.values()}:
        own = [f.fund_id for f in funds if rules[f.call_id].arrears_default_days == days]
        whole = fund_ids is None and len(own) == len(funds)
        books.update(_books(None if whole else own, start=as_of, default_days=days))
    if not ids:
        return Loaded(as_of, funds, books, {}, {}, {}, rules)
    return Loaded(as_of, funds, books, _cash(ids), _pipeline(ids), _par30(ids), rules)


# ------------------------------------------------------------------------------------------------ projecting


@dataclass(frozen=True)
class FundForesight:
    """One fund's projections under the base scenario (its rules'), the scenario asked for, and the stress
    scenario, with its risk score."""

    fund: FundLine
    rules: RevolvingFundRules
    base: Projection
    scenario: Projection
    stress: Projection
    risk: RiskScore

    @property
    def currency(self) -> str:
        return self.fund.currency


class _Projectors:
    """One projector per (scenario, policy): the new loans' factors are worked out once for each."""

    def __init__(self) -> None:
        self._made: dict[tuple, Projector] = {}

    def get(self, scenario: Scenario, policy: Policy) -> Projector:
        key = (scenario.key, policy)
        if key not in self._made:
            self._made[key] = Projector(scenario, policy)
        return self._made[key]


def project_loaded(loaded: Loaded, scenario: Scenario | None,
                   known: dict[int, FundForesight] | None = None) -> list[FundForesight]:
    """Every loaded fund under its base, the scenario (its base when None) and its stress scenario; the base and
    stress projections in ``known`` (by fund id: the same data's, worked out before) are taken as they are."""
    projectors = _Projectors()
    results = []
    empty = Book()
    for line in loaded.funds:
        rules = loaded.rules[line.call_id]
        policy = policy_of(rules)
        book = loaded.books.get(line.fund_id, empty)
        cash, pipeline = loaded.cash.get(line.fund_id, 0), loaded.pipeline.get(line.fund_id, 0)
        before = (known or {}).get(line.fund_id)
        made = {} if before is None else {"base": before.base, "stress": before.stress}
        base_scenario = scenario_of(rules.base)
        for name, chosen in (("base", base_scenario), ("stress", scenario_of(rules.stress)),
                             ("scenario", scenario or base_scenario)):
            if name in made:
                continue
            if name == "scenario" and chosen == base_scenario:
                made[name] = made["base"]
                continue
            made[name] = projectors.get(chosen, policy).project(book, cash=cash, pipeline=pipeline,
                                                                start=loaded.start)
        risk = risk_score(par30=loaded.par30.get(line.fund_id, Decimal("0.0000")), base=made["base"],
                          stress=made["stress"], policy=policy)
        results.append(FundForesight(line, rules, made["base"], made["scenario"], made["stress"], risk))
    return results


def fund_foresight(fund_id: int, *, actor: Actor, scenario: Scenario | None, as_of: date) -> FundForesight:
    """One fund's projections; NotFound where its page is (an unknown fund, or one the actor may not see)."""
    fund = get_fund(fund_id, actor=actor)
    (result,) = project_loaded(load(as_of=as_of, fund_ids=[fund.id]), scenario)
    return result


@dataclass(frozen=True)
class ProgrammeForesight:
    """Every fund's projections and, per currency, their sums (the programme's)."""

    start: date
    funds: list[FundForesight]
    totals: dict[str, dict[str, Projection]]  # currency -> base / scenario / stress

    @property
    def at_risk(self) -> list[FundForesight]:
        """The funds with a warning sign, the most signs first."""
        return sorted((f for f in self.funds if f.risk.score), key=lambda f: (-f.risk.score, f.fund.reference))


def _programme(loaded: Loaded, scenario: Scenario | None,
               known: ProgrammeForesight | None = None) -> ProgrammeForesight:
    funds = project_loaded(loaded, scenario, None if known is None else {f.fund.fund_id: f for f in known.funds})
    totals: dict[str, dict[str, Projection]] = {}
    for f in funds:
        mine = totals.setdefault(f.currency, {name: empty_projection(loaded.start)
                                              for name in ("base", "scenario", "stress")})
        for name in ("base", "scenario", "stress"):
            mine[name] = mine[name] + getattr(f, name)
    return ProgrammeForesight(loaded.start, funds, totals)


#: The programme's projections, per data version, day and scenario (the dashboard and the page share them), and
#: what they are worked out from, per data version and day (read once for every scenario asked).
_programme_kept: Kept[ProgrammeForesight] = Kept(4)
_loaded_kept: Kept[Loaded] = Kept(2)


def programme_foresight(*, actor: Actor, scenario: Scenario | None, as_of: date,
                        version: Hashable) -> ProgrammeForesight:
    """Every fund's projections and the programme's; worked out once per version of the data (which every journal
    entry and audit entry moves), day and scenario, and kept in this process."""
    require_role(actor, *PROGRAMME_READERS)
    base = (database_key(), version, as_of)

    def loaded() -> Loaded:
        return _loaded_kept.get(base, lambda: load(as_of=as_of))

    own = _programme_kept.get((*base, None), lambda: _programme(loaded(), None))
    if scenario is None:
        return own
    # Another scenario: the funds' base and stress projections are those of the same data, already worked out.
    return _programme_kept.get((*base, scenario.key), lambda: _programme(loaded(), scenario, own))


#: How long the dashboard's list of funds at risk is kept: it looks five years ahead, so an hour's lag does not change
#: which funds are at risk, and the dashboard (opened after every change of the data) does not project every fund
#: again each time (1.6 s at 200 funds and 20,000 loans). The foresight pages are worked out per version of the data.
WARNINGS_KEPT_FOR = timedelta(hours=1)


def early_warnings(*, actor: Actor, as_of: date, moment: datetime) -> list[FundForesight]:
    """The funds at risk for the dashboard (each under its own rules' scenarios), as worked out at most
    ``WARNINGS_KEPT_FOR`` before ``moment``."""
    slice_ = int(moment.timestamp() // WARNINGS_KEPT_FOR.total_seconds())
    return programme_foresight(actor=actor, scenario=None, as_of=as_of, version=("warnings", slice_)).at_risk


# ------------------------------------------------------------------------------------------------ chart


@dataclass(frozen=True)
class ProjectionChart:
    """Ending cash and loans outstanding per month, and the cash floor, as coordinates of an inline SVG."""

    width: int
    height: int
    left: int
    top: int
    bottom: int
    right: int
    cash_path: str
    outstanding_path: str
    stress_path: str
    floor_y: str | None
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    description: str


def _grouped(value_cents: int) -> str:
    """An amount of cents as the chart's description says it: grouped, with the cents it has (1,234.5), in the
    language's way."""
    decimal, group = symbols_in_use()
    return f"{Decimal(value_cents).scaleb(-2):,}".translate(str.maketrans({",": group, ".": decimal}))


def projection_chart(scenario: Projection, stress: Projection, *, currency: str) -> ProjectionChart:
    """Lines of the scenario's ending cash and loans outstanding, the stress scenario's cash, and the floor."""
    width, height, left, top, bottom, right = 720, 260, 84, 12, 30, 12
    series = [scenario.columns["ending_cash"], scenario.columns["outstanding"], stress.columns["ending_cash"]]
    values = [Decimal(v).scaleb(-2) for line in series for v in line] + [scenario.money("floor"), Decimal(0)]
    highest, lowest = max(max(values), Decimal(1)), min(values)
    step = nice_step(highest - lowest)
    top_value = (highest / step).to_integral_value(rounding="ROUND_CEILING") * step
    bottom_value = (lowest / step).to_integral_value(rounding="ROUND_FLOOR") * step
    across = Scale(1, HORIZON, left, width - right)
    up = Scale(bottom_value, max(top_value, bottom_value + 1), height - bottom, top)

    def path(line: list[int]) -> str:
        return " ".join(f"{'M' if m == 0 else 'L'}{coordinate(across.at(m + 1))},"
                        f"{coordinate(up.at(Decimal(v).scaleb(-2)))}" for m, v in enumerate(line))

    y_ticks = [Tick(coordinate(up.at(v)), format_number(v, 0)) for v in tick_values(bottom_value, top_value, step)]
    language = current_language()
    x_ticks = [Tick(coordinate(across.at(m)), format_date(first_of_month(scenario.start, m - 1), "MMM y",
                                                          locale=language))
               for m in (1, 13, 25, 37, 49, 60)]
    floor_y = coordinate(up.at(scenario.money("floor"))) if scenario.floor else None
    end = scenario.columns
    breach = scenario.floor_month
    named = {"currency": currency, "months": HORIZON, "cash_from": _grouped(end["ending_cash"][0]),
             "cash_to": _grouped(end["ending_cash"][-1]), "outstanding_from": _grouped(end["outstanding"][0]),
             "outstanding_to": _grouped(end["outstanding"][-1])}
    if breach:
        description = _("Projected ending cash in %(currency)s over %(months)s months, from %(cash_from)s to "
                        "%(cash_to)s, and loans outstanding, from %(outstanding_from)s to %(outstanding_to)s; the "
                        "cash falls below the floor in month %(month)s.", month=breach, **named)
    else:
        description = _("Projected ending cash in %(currency)s over %(months)s months, from %(cash_from)s to "
                        "%(cash_to)s, and loans outstanding, from %(outstanding_from)s to %(outstanding_to)s; the "
                        "cash stays at or above the floor.", **named)
    return ProjectionChart(width, height, left, top, bottom, right, path(series[0]), path(series[1]),
                           path(series[2]), floor_y, y_ticks, x_ticks, description)
