"""Operations on revolving funds and their loans, one module per flow:

- ``funds``: an initiative's fund, the funds an actor may see, a fund's cash, capitalising a fund;
- ``lending``: making a loan, the funding requests a loan may name;
- ``repayments``: recording a repayment and allocating it (penalties, interest, principal, credit, recovery),
  finding one by its bank reference;
- ``loan_events``: rescheduling, writing off, refunding a borrower's credit;
- ``approvals``: four eyes on the fund's money decisions: a write-off, a credit refund or a new loan (above the
  rules' ``loans.second_approval_above``) is asked for by one person and posted only when a second approves it;
- ``loan_book``: one loan, its repayments and events, its schedule with what was paid on it;
- ``arrears``: the daily arrears job (aging, portfolio figures, reminders);
- ``portfolio``: fund and portfolio figures, the loan book's filters, the fund chart;
- ``statements``: the bank-statement import;
- ``guarantees``, ``guarantee_calls``, ``guarantee_collections``, ``guarantee_figures``: mutual guarantees on a
  loan by member organisations (issue 18): giving and releasing them, calling them when the loan is in default
  (four eyes), collecting from the guarantors, writing off what one cannot pay (four eyes), the figures;
- ``_common``: what the flow modules share (private to this package).

The package re-exports the operations of ``funds``, ``lending``, ``repayments``, ``loan_events`` and
``loan_book``, so callers write ``from programme.loans import services as loans; loans.make_loan(...)``; the
other flows are used as modules (``programme.loans.services.arrears``). The schedule and the allocation are
calculated by the pure ``loans.schedule`` and ``loans.allocation``; the checks that the cached figures agree
with the ledger are in ``programme.ledger.checks``.

Every movement of money is one balanced journal entry (``programme.ledger``), posted under an idempotency
key, in the same flush as the cached figures it changes (an instalment's ``*_paid``, a loan's
``principal_outstanding`` and ``credit``, its status)::

    capitalise   capitalisation:<bank reference>  Dr revolving_fund_cash:fund    Cr programme_budget:call
    lend         loan:<id>:disbursed              Dr loans_receivable:loan       Cr revolving_fund_cash:fund
    repayment    repayment:<bank reference>       Dr revolving_fund_cash:fund    Cr loans_receivable (or
                                                     loans_rescheduled):loan, interest_income:fund,
                                                     penalty_income:fund, borrower_credit:loan
    recovery     repayment:<bank reference>       Dr revolving_fund_cash:fund    Cr recoveries:loan
    reschedule   loan:<id>:rescheduled            Dr loans_rescheduled:loan      Cr loans_receivable:loan (once)
    write off    loan:<id>:written_off            Dr write_offs:loan             Cr loans_receivable or
                                                                                    loans_rescheduled:loan
    refund       credit_refund:<bank reference>   Dr borrower_credit:loan        Cr revolving_fund_cash:fund

Every operation takes the actor and the time explicitly, checks permission, writes the audit log, flushes and
never commits. The fund's row is locked (``FOR UPDATE``) before its cash is read by anything that takes cash
out; the loan's row is locked by anything that changes the loan.
"""

from programme.loans.services._common import HANDLERS, RATE_PLACES, VIEWERS, ZERO
from programme.loans.services.approvals import (
    approve,
    get_approval,
    may_decide,
    pending_approvals,
    reject,
    request_credit_refund,
    request_write_off,
)
from programme.loans.services.funds import (
    capitalisations_of,
    capitalise_fund,
    existing_fund,
    fund_cash,
    fund_of,
    funds_for,
    get_fund,
    open_fund,
)
from programme.loans.services.lending import loan_requests_of, make_loan
from programme.loans.services.loan_book import (
    PaymentOnInstalment,
    ScheduleRow,
    events_of,
    get_loan,
    loan_by_number,
    repayments_of,
    schedule_with_payments,
)
from programme.loans.services.loan_events import reschedule_loan
from programme.loans.services.repayments import (
    RecordedRepayment,
    find_repayment,
    record_repayment,
    record_repayment_once,
)

__all__ = [
    "HANDLERS", "RATE_PLACES", "VIEWERS", "ZERO", "PaymentOnInstalment", "ScheduleRow", "capitalisations_of",
    "capitalise_fund", "events_of", "existing_fund", "find_repayment", "fund_cash", "fund_of", "funds_for", "open_fund",
    "get_fund", "get_loan", "loan_by_number", "loan_requests_of", "make_loan", "record_repayment",
    "RecordedRepayment", "record_repayment_once",
    "repayments_of", "reschedule_loan", "schedule_with_payments",
    # four eyes: write-offs, refunds and new loans above the rules' threshold wait for a second person
    "approve", "get_approval", "may_decide", "pending_approvals", "reject", "request_credit_refund",
    "request_write_off",
]
