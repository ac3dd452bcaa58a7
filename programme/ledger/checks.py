"""Every check of the ledger, found by SQL (an empty list when all is right): the ledger as stored
(``check_ledger``), and the reconciliations of the figures other areas cache against it (``check_loans``: the
funds' and loans' cached figures). ``ledger_problems`` runs them all, for ``programme ledger check``; ``run_checks``
runs them and keeps the result, which the ledger page shows (the daily job and the page's button run them)."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, or_, select

from programme.core import audit
from programme.core.access import Actor, Role, require_role
from programme.core.db import cents, from_cents, sum_cents
from programme.core.timezone import now as clock_now
from programme.extensions import db
from programme.ledger.domain import ZERO
from programme.ledger.guarantee_checks import check_guarantees
from programme.ledger.models import Account, AccountKind, JournalEntry, JournalLine, LedgerCheckRun
from programme.loans.models import Loan, LoanInstalment, LoanStatus, Repayment, RepaymentPart, RevolvingFund


def run_checks(*, actor: Actor, now: datetime) -> LedgerCheckRun:
    """Run every check now and keep the result (the ledger page shows the latest): by the daily job, or by a
    programme manager or fund administrator from the page. Audited."""
    require_role(actor, Role.PROGRAMME_MANAGER, Role.FUND_ADMINISTRATOR)
    last_entry_id = db.session.scalar(select(func.max(JournalEntry.id)))
    ledger_faults, loan_faults = ledger_problems()
    run = LedgerCheckRun(started_at=now, finished_at=clock_now(), ran_by=actor.actor_label,
                         last_entry_id=last_entry_id, ledger_problems=json.dumps(ledger_faults),
                         loan_problems=json.dumps(loan_faults))
    db.session.add(run)
    db.session.flush()
    audit.record(db.session, actor, "ledger.checked", run, ledger_problems=len(ledger_faults),
                 loan_problems=len(loan_faults), last_entry_id=last_entry_id)
    return run


def latest_check() -> tuple[LedgerCheckRun | None, int]:
    """The latest stored run of the checks, and how many journal entries were posted after it (all of them when
    the checks never ran)."""
    run = latest_run()
    return run, entries_since(run)


def latest_run() -> LedgerCheckRun | None:
    """The latest stored run of the checks, or None when they never ran."""
    return db.session.scalar(select(LedgerCheckRun).order_by(LedgerCheckRun.id.desc()).limit(1))


def entries_since(run: LedgerCheckRun | None) -> int:
    """How many journal entries were posted after the run (all of them when there is none)."""
    since = select(func.count()).select_from(JournalEntry)
    if run is not None and run.last_entry_id is not None:
        since = since.where(JournalEntry.id > run.last_entry_id)
    return db.session.scalar(since) or 0


def ledger_problems() -> tuple[list[str], list[str]]:
    """What check_ledger finds wrong in the ledger, and what check_loans finds wrong in the balances derived from
    it (loans' outstanding principal, credits, instalments paid, write-offs, fund cash)."""
    return check_ledger(), check_loans()


def check_ledger() -> list[str]:
    """What is wrong with the ledger as stored, found by SQL (an empty list when all is right):
    entries whose debits and credits differ, entries with fewer than two lines or more than one
    currency, lines with both sides or neither positive (or a negative side), totals that differ, and
    reversals that are not the mirror of the entry they reverse."""
    problems: list[str] = []
    unbalanced = db.session.execute(
        select(JournalLine.entry_id, func.sum(cents(JournalLine.debit)), func.sum(cents(JournalLine.credit)))
        .group_by(JournalLine.entry_id)
        .having(func.sum(cents(JournalLine.debit)) != func.sum(cents(JournalLine.credit)))
        .order_by(JournalLine.entry_id)
    )
    for entry_id, debit_cents, credit_cents in unbalanced:
        problems.append(
            f"entry {entry_id} is unbalanced: debits {from_cents(debit_cents)}, credits {from_cents(credit_cents)}"
        )
    line_count = func.count(JournalLine.id)
    too_few = db.session.execute(
        select(JournalEntry.id, line_count)
        .outerjoin(JournalLine, JournalLine.entry_id == JournalEntry.id)
        .group_by(JournalEntry.id)
        .having(line_count < 2)
        .order_by(JournalEntry.id)
    )
    for entry_id, count in too_few:
        problems.append(f"entry {entry_id} has {count} line(s); an entry needs at least two")
    mixed = db.session.execute(
        select(JournalLine.entry_id)
        .join(Account, Account.id == JournalLine.account_id)
        .group_by(JournalLine.entry_id)
        .having(func.count(func.distinct(Account.currency)) > 1)
        .order_by(JournalLine.entry_id)
    )
    for (entry_id,) in mixed:
        problems.append(f"entry {entry_id} mixes currencies")
    one_sided = ((JournalLine.debit > 0) & (JournalLine.credit == 0)) | (
        (JournalLine.debit == 0) & (JournalLine.credit > 0)
    )
    bad_lines = db.session.execute(
        select(JournalLine.id, JournalLine.entry_id, JournalLine.debit, JournalLine.credit)
        .where(~one_sided)
        .order_by(JournalLine.id)
    )
    for line_id, entry_id, debit_amount, credit_amount in bad_lines:
        problems.append(
            f"line {line_id} of entry {entry_id} has debit {debit_amount} and credit {credit_amount}: "
            "exactly one side must be positive"
        )
    totals = db.session.execute(
        select(sum_cents(JournalLine.debit), sum_cents(JournalLine.credit))
    ).one()
    if totals[0] != totals[1]:
        problems.append(f"total debits {from_cents(totals[0])} differ from total credits {from_cents(totals[1])}")
    problems.extend(_reversals_that_do_not_mirror())
    return problems


def _reversals_that_do_not_mirror() -> list[str]:
    """Each reversal's net amount per account must be the opposite of its original's."""
    net = func.sum(cents(JournalLine.debit) - cents(JournalLine.credit))
    reversals = db.session.execute(
        select(JournalEntry.id, JournalEntry.reverses_id, JournalLine.account_id, net)
        .join(JournalLine, JournalLine.entry_id == JournalEntry.id)
        .where(JournalEntry.reverses_id.is_not(None))
        .group_by(JournalEntry.id, JournalEntry.reverses_id, JournalLine.account_id)
    ).all()
    if not reversals:
        return []
    mirror: dict[int, dict[int, int]] = {}
    original_of: dict[int, int] = {}
    for entry_id, original_id, account_id, net_cents in reversals:
        original_of[entry_id] = original_id
        mirror.setdefault(entry_id, {})[account_id] = int(net_cents)
    originals: dict[int, dict[int, int]] = {}
    for entry_id, account_id, net_cents in db.session.execute(
        select(JournalLine.entry_id, JournalLine.account_id, net)
        .where(JournalLine.entry_id.in_(set(original_of.values())))
        .group_by(JournalLine.entry_id, JournalLine.account_id)
    ):
        originals.setdefault(entry_id, {})[account_id] = int(net_cents)
    problems = []
    for entry_id in sorted(mirror):
        original_id = original_of[entry_id]
        expected = {account_id: -net_cents for account_id, net_cents in originals.get(original_id, {}).items()}
        if {k: v for k, v in mirror[entry_id].items() if v} != {k: v for k, v in expected.items() if v}:
            problems.append(f"entry {entry_id} does not mirror entry {original_id}, which it reverses")
    return problems


# ---------------------------------------------------------------------------------------------
# The funds' and loans' cached figures against the ledger


def _ledger_by_owner(owner_type: str) -> dict[tuple[int, AccountKind], Decimal]:
    """Every balance of the owner type's accounts, by (owner id, kind), in one query."""
    net = func.coalesce(func.sum(cents(JournalLine.debit) - cents(JournalLine.credit)), 0)
    rows = db.session.execute(
        select(Account.owner_id, Account.kind, net).join(JournalLine, JournalLine.account_id == Account.id)
        .where(Account.owner_type == owner_type).group_by(Account.owner_id, Account.kind))
    result: dict[tuple[int, AccountKind], Decimal] = {}
    for owner_id, kind, net_cents in rows:
        kind = AccountKind(kind)
        signed = int(net_cents or 0) if kind.normal_side.value == "debit" else -int(net_cents or 0)
        result[(owner_id, kind)] = from_cents(signed)
    return result


def check_loans() -> list[str]:
    """Every cached figure of the funds and loans that differs from the ledger or from the rows it sums (an
    empty list when all agree): a loan's outstanding principal, credit, written-off and recovered amounts
    against their accounts; what the instalments say is paid against the repayments' parts; a repayment's
    parts against its totals; the outstanding principal against the instalments; each fund's interest and
    penalty income against its repayments; no fund's cash below zero."""
    problems: list[str] = []
    loans_ledger = _ledger_by_owner("loan")
    funds_ledger = _ledger_by_owner("fund")

    def on(owner: dict[tuple[int, AccountKind], Decimal], owner_id: int, kind: AccountKind) -> Decimal:
        return owner.get((owner_id, kind), ZERO)

    instalment_sums = {
        loan_id: (Decimal(p or 0), Decimal(u or 0))
        for loan_id, p, u in db.session.execute(
            select(LoanInstalment.loan_id, func.sum(cents(LoanInstalment.principal_paid)),
                   func.sum(cents(LoanInstalment.principal - LoanInstalment.principal_paid))
                   .filter(LoanInstalment.superseded.is_(False)))
            .group_by(LoanInstalment.loan_id))
    }
    for loan in db.session.execute(select(
            Loan.id, Loan.number, Loan.status, Loan.principal, Loan.principal_outstanding, Loan.credit,
            Loan.written_off, Loan.recovered, Loan.rescheduled, Loan.guarantees_called).order_by(Loan.id)).all():
        ledger_outstanding = on(loans_ledger, loan.id, AccountKind.LOANS_RECEIVABLE) + on(
            loans_ledger, loan.id, AccountKind.LOANS_RESCHEDULED)
        if loan.principal_outstanding != ledger_outstanding:
            problems.append(f"{loan.number}: outstanding principal {loan.principal_outstanding} but the ledger "
                            f"has {ledger_outstanding}")
        if loan.rescheduled and on(loans_ledger, loan.id, AccountKind.LOANS_RECEIVABLE) != 0:
            problems.append(f"{loan.number}: rescheduled but its loans receivable are not 0")
        for name, cached, kind in (("credit", loan.credit, AccountKind.BORROWER_CREDIT),
                                   ("written off", loan.written_off, AccountKind.WRITE_OFFS),
                                   ("recovered", loan.recovered, AccountKind.RECOVERIES)):
            ledger = on(loans_ledger, loan.id, kind)
            if cached != ledger:
                problems.append(f"{loan.number}: {name} {cached} but the ledger has {ledger}")
        paid_cents, unpaid_cents = instalment_sums.get(loan.id, (Decimal(0), Decimal(0)))
        principal_paid = from_cents(paid_cents)
        # Principal moved to guarantors (their guarantees called) is neither repaid nor written off on the loan.
        called = loan.guarantees_called
        if principal_paid + loan.written_off + called + loan.principal_outstanding != loan.principal:
            problems.append(f"{loan.number}: principal {loan.principal} is not repaid {principal_paid} + written "
                            f"off {loan.written_off} + called from guarantors {called} + outstanding "
                            f"{loan.principal_outstanding}")
        status = LoanStatus(loan.status)
        if status != LoanStatus.WRITTEN_OFF and from_cents(unpaid_cents) != loan.principal_outstanding + called:
            problems.append(f"{loan.number}: the current instalments leave {from_cents(unpaid_cents)} of "
                            f"principal unpaid, the loan {loan.principal_outstanding}"
                            + (f" and its guarantors {called}" if called else ""))

    paid_parts = (
        select(RepaymentPart.instalment_id, func.sum(cents(RepaymentPart.penalty)).label("penalty"),
               func.sum(cents(RepaymentPart.interest)).label("interest"),
               func.sum(cents(RepaymentPart.principal)).label("principal"))
        .group_by(RepaymentPart.instalment_id).subquery())
    summed = (func.coalesce(paid_parts.c.penalty, 0), func.coalesce(paid_parts.c.interest, 0),
              func.coalesce(paid_parts.c.principal, 0))
    cached = (cents(LoanInstalment.penalty_paid), cents(LoanInstalment.interest_paid),
              cents(LoanInstalment.principal_paid))
    for row in db.session.execute(
            select(Loan.number, LoanInstalment.number, *cached, *summed)
            .join(Loan, Loan.id == LoanInstalment.loan_id)
            .outerjoin(paid_parts, paid_parts.c.instalment_id == LoanInstalment.id)
            .where(or_(*(a != b for a, b in zip(cached, summed, strict=True))))
            .order_by(LoanInstalment.id)).all():
        problems.append(f"{row[0]} instalment {row[1]}: paid (penalty, interest, principal) "
                        f"{tuple(str(from_cents(x)) for x in row[2:5])} but its repayment parts sum to "
                        f"{tuple(str(from_cents(x)) for x in row[5:8])}")

    by_repayment = (
        select(RepaymentPart.repayment_id, func.sum(cents(RepaymentPart.penalty)).label("penalty"),
               func.sum(cents(RepaymentPart.interest)).label("interest"),
               func.sum(cents(RepaymentPart.principal)).label("principal"))
        .group_by(RepaymentPart.repayment_id).subquery())
    summed = (func.coalesce(by_repayment.c.penalty, 0), func.coalesce(by_repayment.c.interest, 0),
              func.coalesce(by_repayment.c.principal, 0))
    totals = (cents(Repayment.penalty), cents(Repayment.interest), cents(Repayment.principal))
    for row in db.session.execute(
            select(Repayment.bank_reference, *totals, *summed)
            .outerjoin(by_repayment, by_repayment.c.repayment_id == Repayment.id)
            .where(or_(*(a != b for a, b in zip(totals, summed, strict=True))))
            .order_by(Repayment.id)).all():
        problems.append(f"repayment {row[0]}: (penalty, interest, principal) "
                        f"{tuple(str(from_cents(x)) for x in row[1:4])} but its parts sum to "
                        f"{tuple(str(from_cents(x)) for x in row[4:7])}")
    income: dict[tuple[int, str], int] = {}
    for fund_id, penalty, interest in db.session.execute(
            select(Loan.fund_id, func.sum(cents(Repayment.penalty)), func.sum(cents(Repayment.interest)))
            .join(Loan, Loan.id == Repayment.loan_id).group_by(Loan.fund_id)):
        income[(fund_id, "penalty")] = int(penalty or 0)
        income[(fund_id, "interest")] = int(interest or 0)

    for fund_id, in db.session.execute(select(RevolvingFund.id).order_by(RevolvingFund.id)).all():
        for name, kind in (("interest", AccountKind.INTEREST_INCOME), ("penalty", AccountKind.PENALTY_INCOME)):
            from_repayments = from_cents(income.get((fund_id, name), 0))
            ledger = on(funds_ledger, fund_id, kind)
            if from_repayments != ledger:
                problems.append(f"fund {fund_id}: {name} income {ledger} in the ledger but the repayments "
                                f"have {from_repayments}")
        cash = on(funds_ledger, fund_id, AccountKind.REVOLVING_FUND_CASH)
        if cash < 0:
            problems.append(f"fund {fund_id}: cash is below zero ({cash})")
    problems.extend(check_guarantees())
    return problems
