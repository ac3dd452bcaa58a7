"""The guarantees section of a loan's page (``templates/loans/_guarantees.html``): the guarantees, their coverage of
the principal outstanding, the call and each guarantor's obligation with its collections, and, for a fund
administrator, the forms (add and release before default, ask for the call once in default, record collections,
ask for a write-off of what a guarantor cannot pay, ask for the refund of a guarantor's credit); for a possible
second person, approve or reject."""

from __future__ import annotations

from datetime import date
from typing import Any

from programme.core.access import Role
from programme.core.forms import ActionForm
from programme.core.web import actor
from programme.loans.forms import DecisionForm, RefundForm
from programme.loans.guarantee_forms import (
    CallForm,
    CollectionForm,
    GuaranteeForm,
    ObligationWriteOffForm,
    ReleaseForm,
)
from programme.loans.models import Loan
from programme.loans.services import (
    guarantee_calls,
    guarantee_collections,
    guarantee_figures,
    guarantee_refunds,
    guarantees,
)


def guarantor_choices(loan: Loan) -> list[tuple[int, str]]:
    return [(o.id, o.name) for o in guarantees.eligible_guarantors(loan)]


def guarantee_section(loan: Loan, today: date, forms: dict[str, Any] | None = None) -> dict[str, Any]:
    """The template's ``g_*`` names: what the section shows, and the forms (those given kept, with their errors)."""
    me = actor()
    shown = guarantee_figures.loan_guarantees(loan, today)
    administers = me.has_role(Role.FUND_ADMINISTRATOR)
    given = forms or {}
    add = given.get("guarantee_add") or GuaranteeForm(formdata=None)
    add.guarantor_id.choices = guarantor_choices(loan)
    collection_forms = {o.id: CollectionForm(formdata=None, data={"value_date": today}, prefix=f"collect-{o.id}")
                        for o in shown.obligations}
    write_off_forms = {o.id: ObligationWriteOffForm(formdata=None, data={"on_date": today},
                                                    prefix=f"write-off-{o.id}") for o in shown.obligations}
    refund_forms = {o.id: RefundForm(formdata=None, data={"value_date": today}, prefix=f"refund-{o.id}")
                    for o in shown.obligations}
    if "guarantor_refund" in given:
        obligation_id, form = given["guarantor_refund"]
        refund_forms[obligation_id] = form
    refunds = guarantee_refunds.refunds_of(shown.obligations)
    if "collection" in given:
        obligation_id, form = given["collection"]
        collection_forms[obligation_id] = form
    if "obligation_write_off" in given:
        obligation_id, form = given["obligation_write_off"]
        write_off_forms[obligation_id] = form
    return {
        "g": shown,
        "g_administers": administers,
        "g_add": add,
        "g_release": given.get("guarantee_release") or ReleaseForm(formdata=None),
        "g_call": given.get("guarantee_call") or CallForm(formdata=None),
        "g_collect": collection_forms,
        "g_write_off": write_off_forms,
        "g_refund": refund_forms,
        "g_refunds": refunds,
        "g_refund_waiting": {r.obligation_id: r for r in refunds if r.status.value == "requested"},
        "g_may_decide_refund": lambda r: guarantee_refunds.may_decide_refund(r, me),
        "g_action": ActionForm(formdata=None),
        "g_decision": DecisionForm(formdata=None),
        "g_collections": guarantee_collections.collections_of(shown.obligations),
        "g_may_decide_call": shown.call is not None and guarantee_calls.may_decide_call(shown.call, me),
        "g_may_decide_write_off": lambda o: guarantee_collections.may_decide_write_off(o, me),
        "g_share": guarantee_figures.format_share,
        "g_me": me,
    }
