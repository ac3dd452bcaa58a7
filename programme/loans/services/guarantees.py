"""Mutual guarantees on a revolving-fund loan (seed 004, para. 42; the call's ``[funding.loans.guarantees]``):
giving and releasing guarantees, reading them, and the checks other flows ask (write-off, repayment, reschedule).
The flow's other modules: ``guarantee_calls`` (calling them, four eyes), ``guarantee_collections`` (what the
guarantors pay, and the write-off of what one cannot pay, four eyes), ``guarantee_figures`` (what the pages and the
dashboard show); the arithmetic is in ``loans.guarantees``.

- **Give** (``add_guarantee``, a fund administrator): a member organisation of the initiative's applicant group,
  not the borrower, guarantees an active loan that is not in default and whose guarantees are not being called,
  for a share of what is owed or for an amount; at most the rules' ``max_share_per_guarantor`` of the principal
  outstanding; all guarantees together at most the principal outstanding unless ``allow_over_coverage``; and the
  guarantor's exposure (its active guarantees on active loans in the currency, plus what it still owes on called
  ones) at most ``max_exposure_per_guarantor``. Under locks on the loan and the guarantor's row: two
  administrators at once cannot together pass a limit.
- **Release** (a fund administrator, with a reason): only before the loan is in default and before a call.
- **Call** (four eyes, a money decision): a fund administrator asks (``request_call``) when the loan is in default
  (``default_after_days`` late or more); a second person (a fund administrator or a programme manager who is
  not the one who asked, nor created nor was created by them) approves it (``approve_call``), and only then is
  it posted (``guarantee_call:<call id>``): Dr guarantee_receivable:obligation for each guarantor's obligation,
  Cr loans_receivable (or loans_rescheduled):loan for their total. The loan's principal outstanding falls by it
  and ``guarantees_called`` rises by it; what is not covered stays on the loan, to be written off by the loan's
  own write-off (four eyes), which refuses while guarantees are active or a call waits. A call that covers all
  the principal outstanding closes the loan, settled by its guarantees. One live call per loan (a
  unique index): two requests at once make one; approving twice posts once.
- After a call the borrower's own payments are refused on the loan while it is active (the guarantors took the
  covered part over; the rest is written off and what the borrower pays later is a recovery); so is a reschedule.

Every step is audited; flushes, never commits.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from programme.accounts.models import GroupOrganisation, Organisation
from programme.core import audit
from programme.core.access import (
    Actor,
    NotFound,
    Role,
    RuleViolation,
    require_role,
)
from programme.core.money import MoneyError, format_money, to_decimal
from programme.core.texts import gettext as _
from programme.core.timezone import local_date
from programme.extensions import db
from programme.loans import guarantees as arithmetic
from programme.loans.guarantee_models import (
    CallStatus,
    GuaranteeCall,
    GuaranteeObligation,
    GuaranteeStatus,
    LoanGuarantee,
)
from programme.loans.models import Loan, LoanInstalment, LoanStatus
from programme.loans.services._common import (
    HANDLERS,
    ZERO,
    _lock_loan,
    _money,
    _rules,
)
from programme.rulebook.guarantees import Guarantees

#: Who may approve (or reject) a call or a write-off of an obligation: a second fund administrator, or a manager.
APPROVERS = (Role.FUND_ADMINISTRATOR, Role.PROGRAMME_MANAGER)
SHARE_PLACES = 6

# ------------------------------------------------------------------------------------------------ reading


def guarantee_rules(loan: Loan) -> Guarantees | None:
    return _rules(loan.fund).guarantees


def _rules_or_refuse(loan: Loan) -> Guarantees:
    rules = guarantee_rules(loan)
    if rules is None:
        raise RuleViolation(_("The rules of %(call)s have no [funding.loans.guarantees] section: its loans cannot be "
                              "guaranteed.", call=loan.fund.initiative.call.reference))
    return rules


def guarantees_of(loan: Loan) -> list[LoanGuarantee]:
    return list(db.session.scalars(select(LoanGuarantee).where(LoanGuarantee.loan_id == loan.id)
                                   .order_by(LoanGuarantee.id).execution_options(populate_existing=True)))


def active_guarantees(loan: Loan) -> list[LoanGuarantee]:
    return [g for g in guarantees_of(loan) if g.status == GuaranteeStatus.ACTIVE]


def live_call(loan: Loan) -> GuaranteeCall | None:
    """The loan's call that is not rejected (requested or called), if any."""
    return db.session.scalar(select(GuaranteeCall).where(GuaranteeCall.loan_id == loan.id,
                                                         GuaranteeCall.status != CallStatus.REJECTED))


def pledge(guarantee: LoanGuarantee) -> arithmetic.Pledge:
    return arithmetic.Pledge(guarantee.id, share=guarantee.share, amount=guarantee.amount)


def loan_days_late(loan: Loan, today: date) -> int:
    """Days since the due date of the loan's oldest current instalment with principal or interest unpaid (0 for
    a closed loan: one settled by its guarantees keeps its unpaid instalments, but is no longer late)."""
    if loan.status == LoanStatus.CLOSED:
        return 0
    dues = [i.due_date for i in db.session.scalars(
        select(LoanInstalment).where(LoanInstalment.loan_id == loan.id, LoanInstalment.superseded.is_(False)))
        if i.unpaid > 0]
    return arithmetic.days_late(dues, today)


def in_default(loan: Loan, today: date) -> bool:
    rules = guarantee_rules(loan)
    return (rules is not None and loan.status == LoanStatus.ACTIVE
            and loan_days_late(loan, today) >= rules.default_after_days)


def exposure(guarantor_id: int, currency: str) -> Decimal:
    """What the organisation stands to pay as guarantor in ``currency``: its active guarantees on active loans
    (a share of each loan's principal outstanding, or the stated amount) and what it still owes on called ones."""
    total = ZERO
    rows = db.session.execute(
        select(LoanGuarantee, Loan.principal_outstanding).join(Loan, Loan.id == LoanGuarantee.loan_id)
        .where(LoanGuarantee.guarantor_id == guarantor_id, LoanGuarantee.status == GuaranteeStatus.ACTIVE,
               Loan.status == LoanStatus.ACTIVE, Loan.currency == currency)).all()
    for guarantee, outstanding in rows:
        total += arithmetic.exposure_of(pledge(guarantee), outstanding, currency)
    for obligation in db.session.scalars(
            select(GuaranteeObligation).join(Loan, Loan.id == GuaranteeObligation.loan_id)
            .where(GuaranteeObligation.guarantor_id == guarantor_id, Loan.currency == currency)):
        total += obligation.owed
    return total


def eligible_guarantors(loan: Loan) -> list[Organisation]:
    """The member organisations of the initiative's group that may guarantee the loan: not the borrower, and not
    one that guarantees it already."""
    taken = {g.guarantor_id for g in active_guarantees(loan)}
    return [o for o in loan.fund.initiative.group.organisations if o.id != loan.borrower_id and o.id not in taken]

# ------------------------------------------------------------------------------------ hooks for other flows


def refuse_write_off_while_guaranteed(loan: Loan) -> None:
    """The loan's write-off writes off only what the guarantees do not cover: refused while guarantees are active
    (call them, or release them, first) or a call waits for its approval."""
    call = live_call(loan)
    if call is not None and call.status == CallStatus.REQUESTED:
        raise RuleViolation(_("The guarantees of %(number)s are being called (waiting for a second person): decide "
                              "the call before writing the loan off.", number=loan.number))
    if active_guarantees(loan):
        raise RuleViolation(_("%(number)s is guaranteed: call the guarantees (or release them) before writing off "
                              "what they do not cover.", number=loan.number))


def refuse_after_call(loan: Loan, what: str) -> None:
    """After a call the guarantors owe the covered part: the borrower's own payments on the loan and its
    reschedule are refused while it is active (write off what is left; later payments are recoveries). ``what``
    is "repayment" or "reschedule"."""
    if loan.status != LoanStatus.ACTIVE:
        return
    call = live_call(loan)
    if call is not None:
        then = _("Collect from the guarantors, and write off what they do not cover; what the borrower pays "
                 "afterwards is a recovery.")
        asked = call.status == CallStatus.REQUESTED
        if what == "reschedule":
            said = (_("The guarantees of %(number)s are being called: a reschedule is refused on it.",
                      number=loan.number) if asked else
                    _("The guarantees of %(number)s were called: a reschedule is refused on it.", number=loan.number))
        else:
            said = (_("The guarantees of %(number)s are being called: a repayment by the borrower is refused on it.",
                      number=loan.number) if asked else
                    _("The guarantees of %(number)s were called: a repayment by the borrower is refused on it.",
                      number=loan.number))
        raise RuleViolation(f"{said} {then}")


# ----------------------------------------------------------------------------------------------- locking


def _lock_guarantor(guarantor_id: int) -> None:
    db.session.execute(select(Organisation.id).where(Organisation.id == guarantor_id).with_for_update())


def _lock_call(call: GuaranteeCall) -> GuaranteeCall:
    return db.session.execute(select(GuaranteeCall).where(GuaranteeCall.id == call.id).with_for_update()
                              .execution_options(populate_existing=True)).scalar_one()


def _today(now: datetime, timezone: str) -> date:
    return local_date(now, timezone)


# ----------------------------------------------------------------------------------------- give, release


def _share(value: object) -> Decimal:
    try:
        share = to_decimal(value)
    except MoneyError:
        raise RuleViolation(_("Give the share as a number between 0 and 1 (0.25 for a quarter)."),
                            field="share") from None
    if not (0 < share <= 1):
        raise RuleViolation(_("The share is more than 0 and at most 1."), field="share")
    if share != share.quantize(Decimal(1).scaleb(-SHARE_PLACES)):
        raise RuleViolation(_("The share has more than %(places)s decimal places.", places=SHARE_PLACES),
                            field="share")
    return share


def add_guarantee(loan: Loan, *, guarantor_id: int, actor: Actor, now: datetime, timezone: str,
                  share: object | None = None, amount: object | None = None) -> LoanGuarantee:
    """A member organisation guarantees the loan for a share or an amount (module docstring: the limits)."""
    require_role(actor, *HANDLERS)
    rules = _rules_or_refuse(loan)
    cur = loan.currency
    if (share is None) == (amount is None):
        raise RuleViolation(_("Give either a share of what is owed or an amount, not both."), field="share")
    value_share = _share(share) if share is not None else None
    value_amount = _money(amount, cur) if amount is not None else None
    _lock_loan(loan)
    if loan.status != LoanStatus.ACTIVE:
        raise RuleViolation(_("%(number)s is %(status)s: only an active loan can be guaranteed.", number=loan.number,
                              status=loan.status.label.lower()))
    today = _today(now, timezone)
    if in_default(loan, today):
        raise RuleViolation(_("%(number)s is in default (%(days)s days late): it can no longer be guaranteed.",
                              number=loan.number, days=loan_days_late(loan, today)))
    if live_call(loan) is not None:
        raise RuleViolation(_("The guarantees of %(number)s are called: no new one can be given.",
                              number=loan.number))
    member = db.session.scalar(select(GroupOrganisation).where(
        GroupOrganisation.group_id == loan.fund.initiative.group_id, GroupOrganisation.organisation_id == guarantor_id))
    if member is None:
        raise RuleViolation(_("The guarantor must be a member organisation of %(group)s.",
                              group=loan.fund.initiative.group.name),
                            field="guarantor_id")
    if guarantor_id == loan.borrower_id:
        raise RuleViolation(_("The borrower cannot guarantee its own loan."), field="guarantor_id")
    _lock_guarantor(guarantor_id)
    guarantor = member.organisation
    if any(g.guarantor_id == guarantor_id for g in active_guarantees(loan)):
        raise RuleViolation(_("%(guarantor)s guarantees %(number)s already: release that guarantee first.",
                              guarantor=guarantor.name, number=loan.number),
                            field="guarantor_id")
    outstanding = loan.principal_outstanding
    if outstanding <= 0:
        raise RuleViolation(_("%(number)s has no principal outstanding to guarantee.", number=loan.number))
    new = arithmetic.Pledge(0, share=value_share, amount=value_amount)
    covers = arithmetic.cap_now(new, outstanding, cur)
    field = "share" if value_share is not None else "amount"
    most = rules.max_share_per_guarantor
    if (value_share is not None and value_share > most) or (value_amount is not None and value_amount > most
                                                             * outstanding):
        raise RuleViolation(_("One guarantor may cover at most %(percent)s %% of the principal outstanding "
                              "(%(amount)s) under the rules (funding.loans.guarantees.max_share_per_guarantor).",
                              percent=format((most * 100).normalize(), "f"),
                              amount=format_money((most * outstanding).quantize(Decimal("0.01")), cur)), field=field)
    covered = arithmetic.coverage([pledge(g) for g in active_guarantees(loan)], outstanding, cur).covered
    if not rules.allow_over_coverage and covered + covers > outstanding:
        raise RuleViolation(_("The guarantees would cover %(covered)s, more than the principal outstanding of "
                              "%(outstanding)s (the rules do not allow over-coverage: "
                              "funding.loans.guarantees.allow_over_coverage).",
                              covered=format_money(covered + covers, cur), outstanding=format_money(outstanding, cur)),
                            field=field)
    exposed = exposure(guarantor_id, cur)
    adds = arithmetic.exposure_of(new, outstanding, cur)
    limit = rules.max_exposure_per_guarantor
    if exposed + adds > limit:
        raise RuleViolation(_("%(guarantor)s would stand guarantor for %(total)s, more than the rules' limit of "
                              "%(limit)s per guarantor (funding.loans.guarantees.max_exposure_per_guarantor); it "
                              "stands for %(already)s already.", guarantor=guarantor.name,
                              total=format_money(exposed + adds, cur), limit=format_money(limit, cur),
                              already=format_money(exposed, cur)), field=field)
    guarantee = LoanGuarantee(loan_id=loan.id, guarantor_id=guarantor_id, share=value_share, amount=value_amount,
                              status=GuaranteeStatus.ACTIVE, added_by_id=actor.id, added_at=now, release_reason="")
    try:
        with db.session.begin_nested():
            db.session.add(guarantee)
            db.session.flush()
    except IntegrityError:
        raise RuleViolation(_("%(guarantor)s guarantees %(number)s already.", guarantor=guarantor.name,
                              number=loan.number), field="guarantor_id") from None
    audit.record(db.session, actor, "loans.guarantee_added", guarantee, loan=loan.number, guarantor=guarantor.name,
                 share=str(value_share) if value_share is not None else None,
                 amount=str(value_amount) if value_amount is not None else None, covers=str(covers),
                 exposure=str(exposed + adds))
    return guarantee


def release_guarantee(guarantee: LoanGuarantee, *, reason: str, actor: Actor, now: datetime,
                      timezone: str) -> LoanGuarantee:
    """Release an active guarantee, with a reason: only before the loan is in default and before a call."""
    require_role(actor, *HANDLERS)
    reason = (reason or "").strip()
    if not reason:
        raise RuleViolation(_("Give the reason for the release."), field="reason")
    loan = _lock_loan(guarantee.loan)
    db.session.refresh(guarantee)
    if guarantee.status != GuaranteeStatus.ACTIVE:
        raise RuleViolation(_("This guarantee is %(status)s: only an active one can be released.",
                              status=guarantee.status.label.lower()))
    if live_call(loan) is not None:
        raise RuleViolation(_("The guarantees of %(number)s are called: they can no longer be released.",
                              number=loan.number))
    today = _today(now, timezone)
    if in_default(loan, today):
        raise RuleViolation(_("%(number)s is in default (%(days)s days late): its guarantees can no longer be "
                              "released; call them.", number=loan.number, days=loan_days_late(loan, today)))
    guarantee.status = GuaranteeStatus.RELEASED
    guarantee.released_by_id = actor.id
    guarantee.released_at = now
    guarantee.release_reason = reason
    db.session.flush()
    audit.record(db.session, actor, "loans.guarantee_released", guarantee, loan=loan.number,
                 guarantor=guarantee.guarantor.name, reason=reason)
    return guarantee

# ---------------------------------------------------------------------------------------------- loading


def get_guarantee(loan: Loan, guarantee_id: int) -> LoanGuarantee:
    guarantee = db.session.get(LoanGuarantee, guarantee_id)
    if guarantee is None or guarantee.loan_id != loan.id:
        raise NotFound("no such guarantee")
    return guarantee


def get_obligation(loan: Loan, obligation_id: int) -> GuaranteeObligation:
    obligation = db.session.get(GuaranteeObligation, obligation_id)
    if obligation is None or obligation.loan_id != loan.id:
        raise NotFound("no such obligation")
    return obligation


def requested_call(loan: Loan) -> GuaranteeCall:
    call = live_call(loan)
    if call is None or call.status != CallStatus.REQUESTED:
        raise RuleViolation(_("No call of the guarantees of %(number)s is waiting for a decision.",
                              number=loan.number))
    return call
