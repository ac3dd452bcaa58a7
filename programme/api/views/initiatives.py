"""Initiatives with their grants and tranches, and asking for a tranche (a second person approves it on the
pages: four eyes hold through the API as they do there)."""

from __future__ import annotations

from flask import url_for
from spectree import Response

from programme.accounts.models import TokenScope
from programme.api import auth
from programme.api.pagination import page_of, read_cursor
from programme.api.schemas import (
    DisbursementIn,
    DisbursementOut,
    GrantOut,
    InitiativeDetail,
    InitiativeOut,
    InitiativeQuery,
    Page,
    Problem,
)
from programme.api.spec import NEEDS_TOKEN, api_spec
from programme.api.views._common import bp
from programme.core.access import NotFound
from programme.core.timezone import now
from programme.core.web import commit, programme_zone
from programme.funding import services as funding
from programme.funding.models import Disbursement, Initiative, InitiativeStatus

REFUSED = {"HTTP_401": Problem, "HTTP_403": Problem, "HTTP_404": Problem, "HTTP_422": Problem}


def _fields(initiative: Initiative) -> dict:
    return dict(id=initiative.id, reference=initiative.reference, name=initiative.name, call_id=initiative.call_id,
                group_id=initiative.group_id, status=initiative.status.value, currency=initiative.currency,
                started_at=initiative.started_at, terminated_on=initiative.terminated_on)


def _disbursement(d: Disbursement) -> DisbursementOut:
    return DisbursementOut(id=d.id, grant_id=d.grant_id, amount=d.amount, purpose=d.purpose, status=d.status.value,
                           requested_at=d.requested_at, approved_at=d.approved_at, paid_at=d.paid_at,
                           value_date=d.value_date)


@bp.get("/initiatives")
@api_spec.validate(query=InitiativeQuery, resp=Response(HTTP_200=Page[InitiativeOut], **REFUSED),
                   tags=["initiatives"], security=NEEDS_TOKEN)
def initiative_list(query: InitiativeQuery):
    """The initiatives the caller may see (all for the programme's staff, its own groups' for an applicant), by
    id, page by page, filtered like the list of initiatives (status, call)."""
    rows = funding.initiatives_after(auth.acting(), after_id=read_cursor(query.cursor), limit=query.limit + 1,
                                     status=InitiativeStatus(query.status) if query.status else None,
                                     call_id=query.call_id)
    shown, cursor = page_of(rows, query.limit, key=lambda initiative: initiative.id)
    return Page[InitiativeOut](items=[InitiativeOut(**_fields(i)) for i in shown], next_cursor=cursor)


@bp.get("/initiatives/<int:initiative_id>")
@api_spec.validate(resp=Response(HTTP_200=InitiativeDetail, **REFUSED), tags=["initiatives"], security=NEEDS_TOKEN)
def initiative_detail(initiative_id: int):
    """An initiative with its grants (start-up, matching, facilitation) and each grant's tranches."""
    me = auth.acting()
    initiative = funding.get_initiative(initiative_id, actor=me)
    tranches = funding.disbursements_of(initiative, actor=me)
    return InitiativeDetail(**_fields(initiative), grants=[GrantOut(
        id=g.id, kind=g.kind.value, currency=g.currency, committed=g.committed, external_share=g.external_share,
        committed_at=g.committed_at, disbursements=[_disbursement(d) for d in tranches if d.grant_id == g.id])
        for g in initiative.grants])


@bp.post("/initiatives/<int:initiative_id>/grants/<int:grant_id>/disbursements")
@api_spec.validate(json=DisbursementIn, resp=Response(HTTP_201=DisbursementOut, **REFUSED), tags=["initiatives"],
                   security=NEEDS_TOKEN)
def request_disbursement(initiative_id: int, grant_id: int, json: DisbursementIn):
    """Ask for a tranche of a grant (fund administrators, with a token that may write). It is checked against what
    is left of the grant and, for a matching grant, every cap of the year, as on the initiative's page; another
    person approves it (never the one who asked)."""
    me = auth.acting(TokenScope.WRITE)
    initiative = funding.get_initiative(initiative_id, actor=me)
    grant = next((g for g in initiative.grants if g.id == grant_id), None)
    if grant is None:
        raise NotFound("no such grant of this initiative")
    asked = funding.request_disbursement(grant, amount=json.amount, purpose=json.purpose, actor=me, now=now(),
                                         timezone=programme_zone())
    commit()
    return _disbursement(asked), 201, {"Location": url_for("api.initiative_detail", initiative_id=initiative.id)}
