"""Every figure of the programme dashboard recomputed independently, in plain Python over the rows, from the
generated data of tests/dashboard/world.py, and compared with ``programme_figures``."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from dateutil.relativedelta import relativedelta
from sqlalchemy import event, select

from programme.dashboard.figures import ProgrammeFigures, programme_figures
from programme.extensions import db
from programme.funding.models import (
    CoFinancingContribution,
    Disbursement,
    Grant,
    Initiative,
    InitiativeStatus,
)
from programme.loans.models import Capitalisation, Loan, LoanInstalment, Repayment, RevolvingFund
from programme.monitoring.models import MilestoneReview
from tests.dashboard.world import TODAY, ZONE, DashboardWorld, dashboard_world
from tests.worlds import Kept, keep, reload

D = Decimal
CENT = D("0.01")


@pytest.fixture(scope="module")
def world_once(built_once) -> Kept:
    with built_once() as app:
        return keep(dashboard_world(app.config["UPLOAD_FOLDER"]))


@pytest.fixture
def world(app, world_once: Kept) -> DashboardWorld:
    return reload(world_once)


def _year(start: date, day: date) -> int:
    """The programme year, counted by hand: the number of whole 12-month steps from the start, plus one."""
    if day < start:
        return 1
    year = 1
    while start + relativedelta(months=12 * year) <= day:
        year += 1
    return year


def _q(value: Decimal, places: str = "0.0001") -> Decimal:
    return value.quantize(D(places), ROUND_HALF_UP)


def _rows(model):
    return list(db.session.scalars(select(model)))


def test_every_figure_recomputed(world: DashboardWorld):
    figures = programme_figures(today=TODAY, timezone=ZONE)
    initiatives = {i.id: i for i in _rows(Initiative)}
    grants = {g.id: g for g in _rows(Grant)}
    funds = {f.id: f for f in _rows(RevolvingFund)}
    loans = _rows(Loan)
    capitalisations = _rows(Capitalisation)
    contributions = _rows(CoFinancingContribution)
    disbursements = _rows(Disbursement)

    # 1. Money committed and paid per call, instrument and currency.
    money: dict[tuple[int, str, str], list[Decimal]] = defaultdict(lambda: [D(0), D(0)])
    for g in grants.values():
        key = (initiatives[g.initiative_id].call_id, f"{g.kind.value}_grant", g.currency)
        money[key][0] += D(g.committed)
    for d in disbursements:
        g = grants[d.grant_id]
        if d.status.value == "paid":
            money[(initiatives[g.initiative_id].call_id, f"{g.kind.value}_grant", d.currency)][1] += D(d.amount)
    for loan in loans:
        key = (initiatives[funds[loan.fund_id].initiative_id].call_id, "loan", loan.currency)
        money[key][0] += D(loan.principal)
        money[key][1] += D(loan.principal) if loan.disbursed_on <= TODAY else D(0)
    for c in capitalisations:
        fund = funds[c.fund_id]
        key = (initiatives[fund.initiative_id].call_id, "fund_capitalisation", fund.currency)
        money[key][0] += D(c.amount)
        money[key][1] += D(c.amount) if c.value_date <= TODAY else D(0)
    got = {(m.call_id, m.instrument, m.currency): [m.committed, m.paid] for m in figures.money}
    assert got == {k: [_q(a, "0.01"), _q(b, "0.01")] for k, (a, b) in money.items()}
    totals: dict[tuple[str, str], list[Decimal]] = defaultdict(lambda: [D(0), D(0)])
    for (_, instrument, currency), (committed, paid) in money.items():
        totals[(instrument, currency)][0] += committed
        totals[(instrument, currency)][1] += paid
    assert {(m.instrument, m.currency): [m.committed, m.paid] for m in figures.money_totals} == totals
    # The generated data has every instrument and a rejected and a requested tranche left out of "paid".
    assert {k[1] for k in money} == {"startup_grant", "matching_grant", "loan", "fund_capitalisation"}
    assert {d.status.value for d in disbursements} == {"paid", "rejected", "requested"}
    assert totals[("startup_grant", "EUR")][1] == D("15000.00")

    # 2. Co-financing leveraged = verified co-financing ÷ (grants paid + capitalisations paid), per call and overall.
    programme_paid: dict[tuple[int | None, str], Decimal] = defaultdict(D)
    cofinancing: dict[tuple[int | None, str], Decimal] = defaultdict(D)
    for (call_id, instrument, currency), (_, paid) in money.items():
        if instrument != "loan":
            programme_paid[(call_id, currency)] += paid
            programme_paid[(None, currency)] += paid
    for c in contributions:
        if c.status.value == "verified":
            call_id = initiatives[c.initiative_id].call_id
            cofinancing[(call_id, c.currency)] += D(c.amount)
            cofinancing[(None, c.currency)] += D(c.amount)
    assert {c.status.value for c in contributions} == {"verified", "recorded"}
    for lev in [*figures.leverage, *figures.leverage_totals]:
        key = (lev.call_id, lev.currency)
        assert lev.programme_paid == programme_paid[key]
        assert lev.cofinancing == cofinancing[key]
        expected = None if programme_paid[key] == 0 else _q(cofinancing[key] / programme_paid[key])
        assert lev.ratio == expected
    assert {(lev.call_id, lev.currency) for lev in figures.leverage} | {(None, "EUR")} == set(programme_paid)
    (overall,) = figures.leverage_totals
    assert overall.ratio == _q(D("40000") / D("105000"))

    # 3. External share per running initiative in its current programme year, against the schedule's cap.
    expected_shares = {}
    for i in initiatives.values():
        if i.status in (InitiativeStatus.TERMINATED, InitiativeStatus.COMPLETED):
            continue
        start = i.started_at.date()
        year = _year(start, TODAY)
        first, after = start + relativedelta(months=12 * (year - 1)), start + relativedelta(months=12 * year)
        paid = sum((D(d.amount) for d in disbursements if d.initiative_id == i.id and d.status.value == "paid"
                    and grants[d.grant_id].kind.value == "matching" and first <= d.value_date < after), D(0))
        cof = sum((D(c.amount) for c in contributions if c.initiative_id == i.id and c.status.value == "verified"
                   and first <= c.contributed_on < after), D(0))
        schedule = i.call.rules.funding.external_share
        cap = schedule.schedule[year - 1] if year <= len(schedule.schedule) else schedule.floor
        share = None if paid + cof == 0 else _q(paid / (paid + cof))
        expected_shares[i.id] = (year, D(cap), paid, cof, share, share is not None and share > cap)
    got_shares = {s.initiative_id: (s.year, s.cap, s.paid, s.cofinancing, s.share, s.over) for s in figures.shares}
    assert got_shares == expected_shares
    assert sorted(s.year for s in figures.shares) == [1, 3, 7]
    assert expected_shares[world.initiatives[0].id][4] == D("0.3333")

    # 4. Revolving funds: cash, outstanding, repayment rate, PAR30.
    repayments = _rows(Repayment)
    cash = (sum((D(c.amount) for c in capitalisations), D(0)) - sum((D(x.principal) for x in loans), D(0))
            + sum((D(r.amount) for r in repayments), D(0)))
    active = [x for x in loans if x.status.value == "active"]
    outstanding = sum((D(x.principal_outstanding) for x in active), D(0))
    arrears = due = repaid = D(0)
    for inst in _rows(LoanInstalment):
        loan = next(x for x in loans if x.id == inst.loan_id)
        if not inst.superseded and inst.due_date < TODAY and loan.status.value == "active":
            arrears += inst.unpaid
        if not inst.superseded and inst.due_date <= TODAY:
            due += D(inst.principal) + D(inst.interest) - D(inst.interest_cancelled)
            repaid += D(inst.principal_paid) + D(inst.interest_paid)
    at_risk = D(0)
    for x in active:
        late = [inst for inst in x.instalments if not inst.superseded and inst.due_date < TODAY - timedelta(days=30)
                and inst.unpaid > 0]
        if late:
            at_risk += D(x.principal_outstanding)
    (funds_figures,) = figures.funds
    assert funds_figures.funds == len(funds) == 2
    assert funds_figures.cash == cash
    assert funds_figures.loans_active == len(active) == 2
    assert funds_figures.outstanding == outstanding
    assert funds_figures.principal_repaid == sum((D(r.principal) for r in repayments), D(0)) > 0
    assert funds_figures.arrears == arrears > 0
    assert (funds_figures.due, funds_figures.repaid) == (due, repaid)
    assert funds_figures.recovery_rate == _q(repaid / due)
    assert funds_figures.written_off == sum((D(x.written_off) for x in loans), D(0))
    assert funds_figures.recovered == sum((D(x.recovered) for x in loans), D(0))
    assert at_risk > 0
    assert funds_figures.par30 == _q(at_risk / outstanding, "0.000001")
    assert funds_figures.par30_as_of == TODAY  # the daily job's figures were used

    # 5. Initiatives by stage (programme year) and status.
    by_year_status: dict[tuple[int, str], int] = defaultdict(int)
    for i in initiatives.values():
        by_year_status[(_year(i.started_at.date(), TODAY), i.status.value)] += 1
    assert figures.by_year_status == by_year_status
    assert figures.by_status == {s.value: sum(1 for i in initiatives.values() if i.status == s)
                                 for s in InitiativeStatus}
    assert sum(figures.by_year.values()) == figures.initiatives == len(initiatives) == 5

    # 6. Self-funding: of the initiatives past their call's schedule, those not terminated.
    past = [i for i in initiatives.values()
            if _year(i.started_at.date(), TODAY) > len(i.call.rules.funding.external_share.schedule)]
    running = [i for i in past if i.status != InitiativeStatus.TERMINATED]
    assert (figures.self_funding.reached_floor, figures.self_funding.still_running) == (len(past), len(running))
    assert (len(past), len(running)) == (2, 1)
    assert figures.self_funding.share == D("0.5000")

    # 7. Terminations.
    assert figures.terminated == sum(1 for i in initiatives.values() if i.status == InitiativeStatus.TERMINATED) == 2
    assert figures.termination_reviews == sum(1 for r in _rows(MilestoneReview) if r.decision.value == "terminate")
    assert figures.termination_reviews == 1


def test_a_fixed_number_of_queries(world: DashboardWorld):
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        db.session.expire_all()
        figures = programme_figures(today=TODAY, timezone=ZONE)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert isinstance(figures, ProgrammeFigures)
    assert len(statements) <= 20, statements


def test_without_the_daily_job_par30_comes_from_the_loans(world: DashboardWorld):
    from programme.loans.models import PortfolioFigures

    db.session.query(PortfolioFigures).delete()
    db.session.flush()
    (funds,) = programme_figures(today=TODAY, timezone=ZONE).funds
    assert funds.par30_as_of is None and funds.arrears is None and funds.recovery_rate is None
    active = [x for x in _rows(Loan) if x.status.value == "active"]
    at_risk = sum((D(x.principal_outstanding) for x in active if x.days_late > 30), D(0))
    assert funds.par30 == _q(at_risk / sum((D(x.principal_outstanding) for x in active), D(0)), "0.000001") > 0


def test_no_data_gives_empty_figures(app):
    figures = programme_figures(today=TODAY, timezone=ZONE)
    assert figures.money == figures.shares == figures.funds == []
    assert figures.initiatives == figures.terminated == figures.termination_reviews == 0
    assert figures.self_funding.share is None


def test_a_day_before_the_start_counts_as_year_one(world: DashboardWorld):
    figures = programme_figures(today=date(2027, 1, 1), timezone=ZONE)
    years = {s.initiative_id: s.year for s in figures.shares}
    assert years[world.initiatives[0].id] == 1


def test_recovery_rate_after_a_write_off(world: DashboardWorld):
    from programme.loans import services as loan_services
    from tests.dashboard.world import NOW

    (loan,) = [x for x in _rows(Loan) if x.number and x.principal == D("5000.00")]
    asked = loan_services.request_write_off(loan, reason="The borrower closed down.", on_date=TODAY,
                                            actor=world.admin, now=NOW, timezone="UTC")
    loan_services.approve(asked, actor=world.admin2, now=NOW, timezone="UTC")
    loan_services.record_repayment(loan, amount=D("1250.00"), value_date=TODAY, bank_reference="REC-1",
                                   actor=world.admin, now=NOW, timezone="UTC")
    db.session.flush()
    loans = _rows(Loan)
    written_off = sum((D(x.written_off) for x in loans), D(0))
    recovered = sum((D(r.recovery) for r in _rows(Repayment)), D(0))
    (funds,) = programme_figures(today=TODAY, timezone=ZONE).funds
    assert (funds.written_off, funds.recovered) == (written_off, recovered) == (D("5000.00"), D("1250.00"))
    assert funds.write_off_recovery == D("0.2500")
    assert funds.loans_active == 1
    assert funds.outstanding == sum((D(x.principal_outstanding) for x in loans if x.status.value == "active"), D(0))
    # Principal repaid leaves the written-off principal out.
    assert funds.principal_repaid == sum((D(x.principal) - D(x.principal_outstanding) - D(x.written_off)
                                          for x in loans), D(0))
