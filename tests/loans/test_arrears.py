"""The daily arrears job (programme.loans.services.arrears): overdue instalments and their aging, each loan's
days late, the day's portfolio figures (PAR30) per fund and for the programme, reminders, and idempotence.

Most tests write loans and instalments directly (exact control of due dates and what is paid, to test the SQL
at each boundary); the figures are checked against the pure definitions of ``loans.allocation`` recomputed on
the same instalments. Loans made and repaid through the real services are tested at the end.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from sqlalchemy import func, insert, select

from programme.accounts.models import User
from programme.core.access import AccessDenied, SystemActor
from programme.core.audit import AuditEntry
from programme.core.notifications import Notification
from programme.extensions import db
from programme.funding.models import Initiative
from programme.ledger.models import JournalEntry
from programme.loans import allocation
from programme.loans.allocation import InstalmentState
from programme.loans.models import Loan, LoanInstalment, LoanStatus, PortfolioFigures, RevolvingFund
from programme.loans.services.arrears import DailyResult, latest_portfolio, portfolio_on, run_daily
from tests.funding.conftest import Funded, funded_initiative

JOB = SystemActor("daily job test")
#: "Now" for the services in tests/loans/world.py: long after every due date, so any value date is allowed.
WORLD_NOW = datetime(2033, 1, 1, 9, 0, tzinfo=UTC)
NOW = datetime(2028, 3, 1, 0, 30, tzinfo=UTC)
AS_OF = date(2028, 3, 1)
_numbers = itertools.count(1)


# --------------------------------------------------------------------------------------------- builders


@pytest.fixture
def world(app) -> Funded:
    made = funded_initiative()
    db.session.commit()
    return made


def fund_of(initiative: Initiative) -> RevolvingFund:
    fund = db.session.scalar(select(RevolvingFund).where(RevolvingFund.initiative_id == initiative.id))
    if fund is None:
        fund = RevolvingFund(initiative_id=initiative.id, currency=initiative.currency)
        db.session.add(fund)
        db.session.flush()
    return fund


def second_fund(world: Funded) -> RevolvingFund:
    """Another initiative's fund in the same call (its own group, with the first group's organisations)."""
    from programme.accounts.models import ApplicantGroup, GroupOrganisation
    from programme.proposals.models import Proposal

    first = world.initiative
    group = ApplicantGroup(name="Second group")
    db.session.add(group)
    db.session.flush()
    for membership in first.group.memberships:
        db.session.add(GroupOrganisation(group_id=group.id, organisation_id=membership.organisation_id))
    proposal = db.session.get(Proposal, first.proposal_id)
    copy = Proposal(**{c.key: getattr(proposal, c.key) for c in Proposal.__table__.columns
                       if c.key not in ("id", "reference", "group_id")}, group_id=group.id)
    db.session.add(copy)
    db.session.flush()
    other = Initiative(reference=first.reference + "-B", name=first.name + " B", call_id=first.call_id,
                       proposal_id=copy.id, group_id=group.id, currency=first.currency)
    db.session.add(other)
    db.session.flush()
    return fund_of(other)


@dataclass
class Due:
    """An instalment to write: its due date, amounts and what was paid on it."""

    due: date
    principal: str = "100.00"
    interest: str = "10.00"
    principal_paid: str = "0.00"
    interest_paid: str = "0.00"
    interest_cancelled: str = "0.00"
    superseded: bool = False


def make_loan(fund: RevolvingFund, instalments: list[Due], *, status: LoanStatus = LoanStatus.ACTIVE,
              rescheduled: bool = False, rounding: str = "half_up") -> Loan:
    """A loan whose instalments are exactly the given ones (its principal outstanding agrees with them)."""
    n = next(_numbers)
    entry_id = db.session.execute(insert(JournalEntry).values(
        value_date=date(2027, 7, 1), description="test loan", idempotency_key=f"test-loan-{n}",
        actor_label="test", posted_at=NOW)).inserted_primary_key[0]
    live = [d for d in instalments if not d.superseded]
    principal = sum((Decimal(d.principal) for d in live), Decimal("0.00"))
    outstanding = sum((Decimal(d.principal) - Decimal(d.principal_paid) for d in live), Decimal("0.00"))
    if status is not LoanStatus.ACTIVE:
        outstanding = Decimal("0.00")
    borrower = fund.initiative.group.memberships[0].organisation_id
    loan = Loan(number=f"L-{n:06d}", fund_id=fund.id, borrower_id=borrower, purpose="Shared equipment",
                currency=fund.currency, principal=max(principal, Decimal("1.00")), annual_rate=Decimal("0.04"),
                term_periods=max(len(live), 1), first_due=min(d.due for d in instalments),
                disbursed_on=date(2027, 7, 1), bank_reference=f"BANK-{n}", status=status,
                principal_outstanding=outstanding, rescheduled=rescheduled, rounding=rounding,
                written_off=Decimal("5.00") if status is LoanStatus.WRITTEN_OFF else Decimal("0.00"),
                closed_on=date(2028, 1, 1) if status is LoanStatus.CLOSED else None, journal_entry_id=entry_id)
    db.session.add(loan)
    db.session.flush()
    for number, d in enumerate(instalments, start=1):
        db.session.add(LoanInstalment(
            loan_id=loan.id, number=number, due_date=d.due, principal=Decimal(d.principal),
            interest=Decimal(d.interest), principal_paid=Decimal(d.principal_paid),
            interest_paid=Decimal(d.interest_paid), interest_cancelled=Decimal(d.interest_cancelled),
            superseded=d.superseded))
    db.session.flush()
    return loan


def instalments_of(loan: Loan) -> list[LoanInstalment]:
    return list(db.session.scalars(select(LoanInstalment).where(LoanInstalment.loan_id == loan.id)
                                   .order_by(LoanInstalment.number)))


def states(loan: Loan) -> list[InstalmentState]:
    """The loan's live instalments as the pure allocation module sees them."""
    return [InstalmentState(i.number, i.due_date, i.principal, i.interest - i.interest_cancelled,
                            i.principal_paid, i.interest_paid, i.penalty_paid)
            for i in instalments_of(loan) if not i.superseded]


def days_before(days: int, as_of: date = AS_OF) -> date:
    return as_of - timedelta(days=days)


def run(as_of: date = AS_OF, actor=JOB) -> DailyResult:
    result = run_daily(as_of=as_of, actor=actor, now=NOW)
    db.session.commit()
    return result


def counts(result: DailyResult) -> tuple[int, ...]:
    return (result.instalments_overdue, result.instalments_cleared, result.loans, result.figures, result.reminders,
            result.notifications)


def figures_rows() -> list[tuple]:
    columns = PortfolioFigures.__table__.columns
    return [tuple(row) for row in db.session.execute(
        select(*[c for c in columns if c.key != "computed_at"]).order_by(columns.as_of, columns.id))]


def notification_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Notification))


def notes_since(count: int) -> list[Notification]:
    """The notifications queued after the first ``count`` (building the world queues some)."""
    return list(db.session.scalars(select(Notification).order_by(Notification.id).offset(count)))


# --------------------------------------------------------------------------------------------- aging


@pytest.mark.parametrize(("days", "bucket"), [
    (1, "1-30"), (30, "1-30"), (31, "31-60"), (60, "31-60"), (61, "61-90"), (90, "61-90"), (91, "over 90"),
    (400, "over 90"),
])
def test_an_instalment_is_aged_into_its_bucket_at_each_boundary(world, days, bucket):
    fund = fund_of(world.initiative)
    loan = make_loan(fund, [Due(days_before(days)), Due(AS_OF + timedelta(days=20))])
    db.session.commit()

    result = run()

    late, future = instalments_of(loan)
    assert (late.overdue, late.days_late, late.arrears_bucket) == (True, days, bucket)
    assert allocation.arrears_bucket(days) == bucket
    assert (future.overdue, future.days_late, future.arrears_bucket) == (False, 0, None)
    db.session.refresh(loan)
    assert (loan.days_late, loan.arrears_bucket) == (days, bucket)
    assert result.instalments_overdue == 1 and result.loans == 1 and result.late_loans == 1


def test_an_instalment_due_today_is_not_late_and_one_due_yesterday_is_one_day_late(world):
    fund = fund_of(world.initiative)
    loan = make_loan(fund, [Due(days_before(1)), Due(AS_OF)])
    db.session.commit()
    run()
    yesterday, today = instalments_of(loan)
    assert (yesterday.overdue, yesterday.days_late, yesterday.arrears_bucket) == (True, 1, "1-30")
    assert (today.overdue, today.days_late, today.arrears_bucket) == (False, 0, None)


def test_paid_instalments_are_never_overdue_and_partly_paid_ones_are(world):
    fund = fund_of(world.initiative)
    loan = make_loan(fund, [
        Due(days_before(100), principal_paid="100.00", interest_paid="10.00"),        # paid in full
        Due(days_before(70), principal_paid="40.00", interest_paid="10.00"),          # principal partly paid
        Due(days_before(40), principal_paid="100.00", interest_paid="9.99"),          # one cent of interest left
        Due(days_before(20), principal_paid="100.00", interest_paid="4.00", interest_cancelled="6.00"),  # settled
        Due(days_before(5)),                                                          # nothing paid
    ])
    db.session.commit()
    run()
    got = [(i.overdue, i.days_late, i.arrears_bucket) for i in instalments_of(loan)]
    assert got == [(False, 0, None), (True, 70, "61-90"), (True, 40, "31-60"), (False, 0, None), (True, 5, "1-30")]
    expected = [state.days_late(AS_OF) for state in states(loan)]
    assert [i.days_late for i in instalments_of(loan)] == expected
    db.session.refresh(loan)
    assert (loan.days_late, loan.arrears_bucket) == (70, "61-90")


def test_a_paid_instalment_is_cleared_on_the_next_run_and_the_loan_with_it(world):
    fund = fund_of(world.initiative)
    loan = make_loan(fund, [Due(days_before(45)), Due(days_before(15))])
    db.session.commit()
    run()
    first, second = instalments_of(loan)
    first.principal_paid, first.interest_paid = first.principal, first.interest
    db.session.commit()

    result = run(AS_OF + timedelta(days=1))
    first, second = instalments_of(loan)
    assert (first.overdue, first.days_late, first.arrears_bucket) == (False, 0, None)
    assert (second.overdue, second.days_late) == (True, 16)
    assert result.instalments_cleared == 1 and result.instalments_overdue == 1
    db.session.refresh(loan)
    assert (loan.days_late, loan.arrears_bucket) == (16, "1-30")

    second.principal_paid, second.interest_paid = second.principal, second.interest
    db.session.commit()
    run(AS_OF + timedelta(days=2))
    db.session.refresh(loan)
    assert (loan.days_late, loan.arrears_bucket) == (0, None)
    assert not any(i.overdue for i in instalments_of(loan))


def test_closed_written_off_and_superseded_instalments_are_not_overdue(world):
    fund = fund_of(world.initiative)
    written_off = make_loan(fund, [Due(days_before(200))], status=LoanStatus.WRITTEN_OFF)
    rescheduled = make_loan(fund, [Due(days_before(100), superseded=True), Due(days_before(10), principal="50.00"),
                                   Due(AS_OF + timedelta(days=30), principal="50.00")], rescheduled=True)
    db.session.commit()
    run()
    assert not instalments_of(written_off)[0].overdue
    old, new, future = instalments_of(rescheduled)
    assert (old.overdue, old.days_late) == (False, 0)
    assert (new.overdue, new.days_late) == (True, 10)
    db.session.refresh(written_off)
    db.session.refresh(rescheduled)
    assert written_off.days_late == 0 and rescheduled.days_late == 10


def test_a_loan_written_off_after_being_late_is_cleared(world):
    fund = fund_of(world.initiative)
    loan = make_loan(fund, [Due(days_before(120))])
    db.session.commit()
    run()
    db.session.refresh(loan)
    assert loan.days_late == 120
    loan.status, loan.written_off, loan.principal_outstanding = LoanStatus.WRITTEN_OFF, Decimal("100.00"), 0
    db.session.commit()
    result = run()
    db.session.refresh(loan)
    assert (loan.days_late, loan.arrears_bucket) == (0, None)
    assert result.instalments_cleared == 1 and result.loans == 1


# --------------------------------------------------------------------------------------------- figures


def _portfolio(world: Funded) -> tuple[RevolvingFund, RevolvingFund, dict[str, Loan]]:
    """Two funds with loans in every state, current, late, rescheduled, closed, written off."""
    fund = fund_of(world.initiative)
    other = second_fund(world)
    loans = {
        "current": make_loan(fund, [Due(days_before(60), principal_paid="100.00", interest_paid="10.00"),
                                    Due(AS_OF + timedelta(days=3), principal="250.00")]),
        "late 30": make_loan(fund, [Due(days_before(30), principal="1000.00"), Due(AS_OF, principal="1000.00")]),
        "late 31": make_loan(fund, [Due(days_before(31), principal="333.33", principal_paid="33.33"),
                                    Due(AS_OF + timedelta(days=29), principal="333.34")]),
        "late 95": make_loan(other, [Due(days_before(95), principal="700.00", interest_paid="10.00"),
                                     Due(days_before(65), principal="700.00"),
                                     Due(days_before(35), principal="700.00"),
                                     Due(days_before(5), principal="700.00")]),
        "rescheduled": make_loan(other, [Due(days_before(180), principal="500.00", superseded=True),
                                         Due(days_before(45), principal="250.00"),
                                         Due(days_before(15), principal="250.00")], rescheduled=True),
        "rescheduled current": make_loan(other, [Due(days_before(300), principal="900.00", superseded=True),
                                                 Due(AS_OF + timedelta(days=10), principal="900.00")],
                                         rescheduled=True),
        "closed": make_loan(fund, [Due(days_before(90), principal_paid="100.00", interest_paid="10.00")],
                            status=LoanStatus.CLOSED),
        "written off": make_loan(other, [Due(days_before(400))], status=LoanStatus.WRITTEN_OFF),
    }
    db.session.commit()
    return fund, other, loans


def _expected(loans: list[Loan]) -> dict:
    """The figures recomputed with the pure module from the same instalments."""
    active = [loan for loan in loans if loan.status is LoanStatus.ACTIVE]
    each = [states(loan) for loan in active]
    outstanding = sum((sum((s.principal_due for s in loan), Decimal(0)) for loan in each), Decimal("0.00"))
    at_risk = sum((sum((s.principal_due for s in loan), Decimal(0)) for loan in each
                   if any(s.days_late(AS_OF) > allocation.PAR_DAYS for s in loan)), Decimal("0.00"))
    buckets = allocation.arrears_buckets([s for loan in each for s in loan], AS_OF)
    return {
        "loans_active": len(active),
        "loans_late": sum(1 for loan in each if any(s.days_late(AS_OF) > 0 for s in loan)),
        "outstanding": outstanding,
        "at_risk_30": at_risk,
        "par30": allocation.par30(each, AS_OF).quantize(Decimal("0.000001"), ROUND_HALF_UP),
        "arrears_1_30": buckets["1-30"], "arrears_31_60": buckets["31-60"],
        "arrears_61_90": buckets["61-90"], "arrears_over_90": buckets["over 90"],
    }


def _got(row: PortfolioFigures) -> dict:
    return {key: getattr(row, key) for key in ("loans_active", "loans_late", "outstanding", "at_risk_30", "par30",
                                               "arrears_1_30", "arrears_31_60", "arrears_61_90",
                                               "arrears_over_90")}


def test_par30_and_arrears_per_fund_and_for_the_programme_equal_the_pure_definitions(world):
    fund, other, loans = _portfolio(world)
    run()
    db.session.expire_all()
    mine = [loans[k] for k in ("current", "late 30", "late 31", "closed")]
    theirs = [loans[k] for k in ("late 95", "rescheduled", "rescheduled current", "written off")]

    (row,) = portfolio_on(AS_OF, fund.id)
    assert _got(row) == _expected(mine)
    assert row.currency == fund.currency and row.as_of == AS_OF
    (row,) = portfolio_on(AS_OF, other.id)
    assert _got(row) == _expected(theirs)
    (programme,) = portfolio_on(AS_OF)
    assert programme.fund_id is None and programme.currency == fund.currency
    assert _got(programme) == _expected(mine + theirs)
    # Hand-checked: "late 31" is the only one at risk in the first fund, with its whole outstanding principal
    # (300.00 late + 333.34 not yet due); in the second, "late 95" (2,800.00) and the rescheduled loan 45 days
    # late (500.00), not the rescheduled current one.
    assert _got(portfolio_on(AS_OF, fund.id)[0])["at_risk_30"] == Decimal("633.34")
    assert _got(portfolio_on(AS_OF, other.id)[0])["at_risk_30"] == Decimal("3300.00")
    assert programme.outstanding == Decimal("250.00") + 2000 + Decimal("633.34") + 2800 + 500 + 900
    assert programme.par30 == (Decimal("3933.34") / programme.outstanding).quantize(Decimal("0.000001"),
                                                                                    ROUND_HALF_UP)
    assert latest_portfolio(fund.id)[0].id == portfolio_on(AS_OF, fund.id)[0].id
    assert latest_portfolio(as_of=AS_OF - timedelta(days=1)) == []


def test_a_fund_without_loans_has_a_row_of_zeros(world):
    fund = fund_of(world.initiative)
    db.session.commit()
    run()
    (row,) = portfolio_on(AS_OF, fund.id)
    assert (row.loans_active, row.outstanding, row.at_risk_30, row.par30) == (0, 0, 0, 0)
    (programme,) = portfolio_on(AS_OF)
    assert programme.outstanding == 0 and programme.par30 == 0


def test_figures_of_the_day_are_updated_in_place_when_something_changed(world):
    fund, other, loans = _portfolio(world)
    run()
    before = figures_rows()
    late = instalments_of(loans["late 31"])[0]
    late.principal_paid, late.interest_paid = late.principal, late.interest
    loans["late 31"].principal_outstanding -= Decimal("300.00")
    db.session.commit()

    result = run()
    after = figures_rows()
    assert result.figures == 2  # the first fund's row and the programme's
    assert len(after) == len(before) == 3
    assert [r[0] for r in after] == [r[0] for r in before]  # the same rows, updated
    (row,) = portfolio_on(AS_OF, fund.id)
    assert row.at_risk_30 == 0 and row.par30 == 0
    assert _got(row) == _expected([loans[k] for k in ("current", "late 30", "late 31", "closed")])
    assert run().changed == 0


# --------------------------------------------------------------------------------------------- reminders


def _group_users(world: Funded) -> list[User]:
    return [gu.user for gu in world.initiative.group.users]


def test_a_reminder_before_the_due_date_and_one_when_late_each_once(world):
    fund = fund_of(world.initiative)
    due = AS_OF + timedelta(days=5)
    loan = make_loan(fund, [Due(due), Due(due + timedelta(days=30))])
    db.session.commit()
    recipients = _group_users(world)
    assert recipients
    start = notification_count()

    assert run(AS_OF - timedelta(days=3)).reminders == 0  # eight days before: too early
    result = run()
    assert (result.reminders, result.notifications) == (1, len(recipients))
    notes = notes_since(start)
    assert {n.user_id for n in notes} == {u.id for u in recipients}
    assert notes[0].subject == f"Loan {loan.number}: a repayment is due soon"
    assert f"due on {due.day} {due:%b %Y} (in 5 day(s))" in notes[0].body
    assert notes[0].link == f"/loans/{loan.id}"
    assert instalments_of(loan)[0].reminded_on == AS_OF

    for day in range(1, 6):  # until the due date: nothing more
        assert run(AS_OF + timedelta(days=day)).notifications == 0
    late = run(due + timedelta(days=1))
    assert (late.reminders, late.notifications) == (1, len(recipients))
    note = notes_since(start)[-1]
    assert note.subject == f"Loan {loan.number}: a repayment is late"
    assert "is 1 day(s) late" in note.body
    assert run(due + timedelta(days=1)).notifications == 0
    assert run(due + timedelta(days=2)).notifications == 0
    assert len(notes_since(start)) == 2 * len(recipients)


def test_one_notification_per_loan_however_many_instalments_and_none_for_old_arrears(world):
    fund = fund_of(world.initiative)
    loan = make_loan(fund, [Due(days_before(3)), Due(AS_OF), Due(AS_OF + timedelta(days=7))])
    old = make_loan(fund, [Due(days_before(40))])
    paid = make_loan(fund, [Due(AS_OF + timedelta(days=2), principal_paid="100.00", interest_paid="10.00")])
    db.session.commit()
    start = notification_count()
    result = run()
    assert (result.reminders, result.notifications) == (1, len(_group_users(world)))
    note = notes_since(start)[0]
    assert note.body.count("- instalment") == 3
    assert all(i.reminded_on == AS_OF for i in instalments_of(loan))
    assert instalments_of(old)[0].reminded_on is None
    assert instalments_of(paid)[0].reminded_on is None


# --------------------------------------------------------------------------------------------- idempotence


def test_the_second_run_of_a_day_changes_nothing(world):
    _portfolio(world)
    first = run()
    assert first.changed > 0 and first.figures == 3 and first.reminders > 0
    rows, notes = figures_rows(), notification_count()
    audits = db.session.scalar(select(func.count()).select_from(AuditEntry))
    instalments = [(i.id, i.overdue, i.days_late, i.arrears_bucket, i.penalty_assessed, i.reminded_on)
                   for i in db.session.scalars(select(LoanInstalment).order_by(LoanInstalment.id))]

    second = run()
    assert counts(second) == (0, 0, 0, 0, 0, 0) and second.changed == 0
    assert second.late_instalments == first.late_instalments and second.late_loans == first.late_loans
    assert "no change" in second.summary()
    assert figures_rows() == rows
    assert notification_count() == notes
    assert db.session.scalar(select(func.count()).select_from(AuditEntry)) == audits
    db.session.expire_all()
    assert [(i.id, i.overdue, i.days_late, i.arrears_bucket, i.penalty_assessed, i.reminded_on)
            for i in db.session.scalars(select(LoanInstalment).order_by(LoanInstalment.id))] == instalments


def test_the_run_is_audited_with_its_counts(world):
    _portfolio(world)
    result = run()
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "loans.daily_run")).one()
    details = entry.details_dict
    assert details["as_of"] == AS_OF.isoformat()
    assert details["overdue"] == result.instalments_overdue and details["figures"] == 3
    assert entry.actor_label == JOB.actor_label


def test_each_day_has_its_own_rows(world):
    _portfolio(world)
    run()
    run(AS_OF + timedelta(days=1))
    assert db.session.scalar(select(func.count()).select_from(PortfolioFigures)) == 6
    assert len(portfolio_on(AS_OF)) == 1 and len(portfolio_on(AS_OF + timedelta(days=1))) == 1
    assert latest_portfolio()[0].as_of == AS_OF + timedelta(days=1)
    assert latest_portfolio(as_of=AS_OF)[0].as_of == AS_OF


# --------------------------------------------------------------------------------------------- access, job, command


@pytest.mark.parametrize("who", ["applicant", "reviewer", "manager"])
def test_only_fund_administrators_and_the_system_run_it(world, who):
    fund_of(world.initiative)
    db.session.commit()
    with pytest.raises(AccessDenied):
        run_daily(as_of=AS_OF, actor=getattr(world, who), now=NOW)
    assert db.session.scalar(select(func.count()).select_from(PortfolioFigures)) == 0
    run_daily(as_of=AS_OF, actor=world.admin, now=NOW)
    assert len(portfolio_on(AS_OF)) == 1


def test_the_daily_job_is_scheduled_at_two_in_the_programme_time_zone(app, world):
    from apscheduler.triggers.cron import CronTrigger

    from programme.jobs import JOBS, run_job

    (job,) = [job for job in JOBS if job.name == "loans-daily"]
    trigger = job.trigger(app)
    assert isinstance(trigger, CronTrigger)
    assert str(trigger.timezone) == app.config["PROGRAMME_TIMEZONE"]
    fields = {f.name: str(f) for f in trigger.fields}
    assert (fields["hour"], fields["minute"]) == ("2", "0")
    fund_of(world.initiative)
    db.session.commit()
    assert run_job(app, job).startswith("loans daily ")
    assert db.session.scalar(select(func.count()).select_from(PortfolioFigures)) == 2  # the fund and programme


def test_the_command_runs_the_job_for_a_day_and_commits(app, world):
    _portfolio(world)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["loans", "daily", "--as-of", AS_OF.isoformat()])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"loans daily {AS_OF}: ") and "marked overdue" in result.output
    db.session.remove()
    assert len(portfolio_on(AS_OF)) == 1
    again = runner.invoke(args=["loans", "daily", "--as-of", AS_OF.isoformat()])
    assert again.exit_code == 0 and "no change" in again.output


def test_the_command_refuses_a_bad_date(app):
    result = app.test_cli_runner().invoke(args=["loans", "daily", "--as-of", "2028-02-30"])
    assert result.exit_code != 0
    assert "--as-of" in result.output


# --------------------------------------------------------------------------------------------- through the services


def _pay(world, instalment: LoanInstalment, value_date: date, reference: str, amount: Decimal | None = None):
    from programme.loans import services

    due = amount if amount is not None else instalment.principal + instalment.interest
    return services.record_repayment(world.loan, amount=due, value_date=value_date, bank_reference=reference,
                                     actor=world.admin, now=WORLD_NOW, timezone="UTC")


def _check_against_pure_definitions(loan: Loan, fund: RevolvingFund, as_of: date) -> None:
    db.session.expire_all()
    live = states(loan)
    got = {i.number: (i.overdue, i.days_late, i.arrears_bucket) for i in instalments_of(loan) if not i.superseded}
    expected = {s.number: (s.days_late(as_of) > 0, s.days_late(as_of), allocation.arrears_bucket(s.days_late(as_of)))
                for s in live}
    assert got == expected
    assert all(not i.overdue for i in instalments_of(loan) if i.superseded)
    days = max((s.days_late(as_of) for s in live), default=0)
    assert (loan.days_late, loan.arrears_bucket) == (days, allocation.arrears_bucket(days))
    (row,) = portfolio_on(as_of, fund.id)
    assert row.outstanding == loan.principal_outstanding == sum((s.principal_due for s in live), Decimal("0.00"))
    assert row.par30 == allocation.par30([live], as_of).quantize(Decimal("0.000001"), ROUND_HALF_UP)
    assert row.at_risk_30 == (row.outstanding if days > allocation.PAR_DAYS else 0)
    buckets = allocation.arrears_buckets(live, as_of)
    assert (row.arrears_1_30, row.arrears_31_60, row.arrears_61_90, row.arrears_over_90) == (
        buckets["1-30"], buckets["31-60"], buckets["61-90"], buckets["over 90"])


def test_a_loan_made_and_repaid_through_the_services_is_aged_as_allocation_defines(app):
    from programme.loans import services
    from tests.loans.world import loan_world

    world = loan_world()
    db.session.commit()
    loan, fund = world.loan, world.fund
    schedule = instalments_of(loan)
    for n in range(3):
        _pay(world, schedule[n], schedule[n].due_date, f"PAY-{n + 1}")
    db.session.commit()

    as_of = date(2027, 12, 20)  # the fourth instalment (15 Nov) is 35 days late, the fifth (15 Dec) 5
    result = run(as_of)
    assert result.instalments_overdue == 2 and result.late_loans == 1
    _check_against_pure_definitions(loan, fund, as_of)
    assert loan.days_late == 35 and portfolio_on(as_of, fund.id)[0].par30 == 1

    # A partial repayment: all interest due first, then the oldest principal (the fourth stays partly unpaid).
    _pay(world, instalments_of(loan)[3], date(2027, 12, 21), "PAY-4")
    db.session.commit()
    run(date(2027, 12, 22))
    _check_against_pure_definitions(loan, fund, date(2027, 12, 22))
    assert instalments_of(loan)[3].overdue and instalments_of(loan)[4].overdue

    # Rescheduled: the old instalments are superseded and cleared; the new schedule is current...
    services.reschedule_loan(loan, term_periods=12, first_due=date(2028, 1, 31), reason="A fire in the workshop",
                             actor=world.admin, now=datetime(2027, 12, 23, 9, 0, tzinfo=UTC), timezone="UTC")
    db.session.commit()
    result = run(date(2027, 12, 24))  # (the reschedule cleared the superseded instalments itself)
    assert result.late_instalments == 0 and result.late_loans == 0
    _check_against_pure_definitions(loan, fund, date(2027, 12, 24))
    assert loan.rescheduled and loan.days_late == 0

    # ... until it is late in its turn: a rescheduled loan is at risk like any other.
    as_of = date(2028, 3, 15)
    run(as_of)
    _check_against_pure_definitions(loan, fund, as_of)
    assert loan.days_late == 44 and portfolio_on(as_of, fund.id)[0].at_risk_30 == loan.principal_outstanding > 0
    assert portfolio_on(as_of)[0].par30 == 1
    assert run(as_of).changed == 0


def test_the_job_leaves_penalties_to_repayments_so_none_is_charged_twice(app):
    from tests.loans.world import loan_world, replace_loan_rule

    world = loan_world()
    # (loan_world(penalty_rate=...) adds a second penalty_rate key to the shipped rules, which have one.)
    replace_loan_rule(world.call, "penalty_rate = 0.0", "penalty_rate = 0.10")
    assert world.call.rules.funding.loans.penalty_rate == Decimal("0.10")
    db.session.commit()
    loan = world.loan
    for day in (date(2027, 9, 1), date(2027, 9, 20), date(2027, 9, 24)):
        run(day)
    assert all(i.penalty_assessed == 0 for i in instalments_of(loan))
    value_date = date(2027, 9, 25)
    expected = allocation.assess_penalties(states(loan), value_date, Decimal("0.10"), loan.currency)
    assert expected  # the first two instalments are late
    repayment = _pay(world, instalments_of(loan)[0], value_date, "PAY-LATE", amount=Decimal("500.00"))
    db.session.commit()
    assert repayment.penalty == sum(expected.values())
    run(date(2027, 9, 26))
    assert sum(i.penalty_assessed for i in instalments_of(loan)) == sum(expected.values())


# --------------------------------------------------------------------------------------------- at once (PostgreSQL)

postgres_only = pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
                                   reason="races need PostgreSQL (SQLite serialises writers)")


@postgres_only
@pytest.mark.commits
def test_two_runs_at_once_do_the_work_once(app, world):
    from tests.races import at_once

    _portfolio(world)
    before = notification_count()

    def work() -> DailyResult:
        return run_daily(as_of=AS_OF, actor=JOB, now=NOW)

    first, second = at_once(app, [work, work])
    assert sorted([first.changed > 0, second.changed > 0]) == [False, True]
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(PortfolioFigures)) == 3
    assert notification_count() - before == max(first.notifications, second.notifications) > 0


@postgres_only
@pytest.mark.commits
def test_a_repayment_recorded_while_the_job_runs_waits_and_neither_fails(app):
    from programme.loans import services
    from tests.loans.world import loan_world
    from tests.races import at_once

    world = loan_world()
    db.session.commit()
    loan_id, admin_id = world.loan.id, world.admin.id
    as_of = date(2027, 10, 20)  # the first two instalments are late, nothing paid

    def job() -> DailyResult:
        return run_daily(as_of=as_of, actor=JOB, now=NOW)

    def repay():
        loan = db.session.get(Loan, loan_id)
        first = instalments_of(loan)[0]
        return services.record_repayment(loan, amount=first.principal + first.interest, value_date=as_of,
                                         bank_reference="AT-ONCE", actor=db.session.get(User, admin_id),
                                         now=WORLD_NOW, timezone="UTC").id

    result, repayment_id = at_once(app, [job, repay])
    assert isinstance(result, DailyResult) and repayment_id
    run(as_of)  # whatever the order, the next run leaves the figures agreeing with the instalments
    _check_against_pure_definitions(db.session.get(Loan, loan_id), world.fund, as_of)


def _repayment_parts(loans: list[Loan]) -> tuple[Decimal, Decimal]:
    """Due and repaid on the instalments due by the day: current schedules only, every loan status."""
    due = repaid = Decimal("0.00")
    for loan in loans:
        for i in db.session.scalars(select(LoanInstalment).where(LoanInstalment.loan_id == loan.id)):
            if not i.superseded and i.due_date <= AS_OF:
                due += i.principal + i.interest - i.interest_cancelled
                repaid += i.principal_paid + i.interest_paid
    return due, repaid


def test_the_repayment_rate_parts_per_fund_and_for_the_programme(world):
    fund, other, loans = _portfolio(world)
    run()
    db.session.expire_all()
    mine = [loans[k] for k in ("current", "late 30", "late 31", "closed")]
    theirs = [loans[k] for k in ("late 95", "rescheduled", "rescheduled current", "written off")]
    for fund_id, its in ((fund.id, mine), (other.id, theirs)):
        (row,) = portfolio_on(AS_OF, fund_id)
        assert (row.due_to_date, row.repaid_to_date) == _repayment_parts(its)
    (programme,) = portfolio_on(AS_OF)
    assert (programme.due_to_date, programme.repaid_to_date) == _repayment_parts(mine + theirs)
    assert programme.repaid_to_date > 0 and programme.due_to_date > programme.repaid_to_date
