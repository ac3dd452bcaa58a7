"""Calls, as the public pages show them: the published calls, one call with its criteria and eligibility."""

from __future__ import annotations

from spectree import Response

from programme.api import auth
from programme.api.pagination import page_from
from programme.api.schemas import CallDetail, CallOut, CriterionOut, ListQuery, Page, Problem
from programme.api.spec import api_spec
from programme.api.views._common import bp
from programme.calls import services as calls
from programme.calls.models import Call
from programme.core.timezone import now


def _fields(call: Call) -> dict:
    return dict(id=call.id, reference=call.reference, name=call.name, description=call.description,
                   status=call.status.value, phase=call.phase(now()), currency=call.currency, budget=call.budget,
                   per_initiative_cap=call.per_initiative_cap, opens_at=call.opens_at, closes_at=call.closes_at)


@bp.get("/calls")
@api_spec.validate(query=ListQuery, resp=Response(HTTP_200=Page[CallOut], HTTP_422=Problem), tags=["calls"])
def call_list(query: ListQuery):
    """The published calls (open, closed, in review, decided), by id, page by page. Public."""
    shown, cursor = page_from(calls.public_calls(), query.cursor, query.limit, key=lambda call: call.id)
    return Page[CallOut](items=[CallOut(**_fields(c)) for c in shown], next_cursor=cursor)


@bp.get("/calls/<int:call_id>")
@api_spec.validate(resp=Response(HTTP_200=CallDetail, HTTP_404=Problem), tags=["calls"])
def call_detail(call_id: int):
    """A published call with its criteria (weights and thresholds) and its eligibility rules. Public; a call not
    published yet is not found."""
    call = calls.get_call(call_id, actor=auth.caller())
    rules = call.rules
    return CallDetail(
        **_fields(call),
        criteria=[CriterionOut.model_validate(c) for c in call.criteria],
        overall_threshold=rules.scoring.overall_threshold, min_members=rules.eligibility.min_members,
        min_firms=rules.eligibility.min_firms, min_support_institutions=rules.eligibility.min_support_institutions)
