"""The caller's proposals and their submitted versions (frozen: what the reviewers scored)."""

from __future__ import annotations

import json

from spectree import Response

from programme.api import auth
from programme.api.pagination import page_from
from programme.api.schemas import ListQuery, Page, Problem, ProposalDetail, ProposalOut, ProposalVersionOut
from programme.api.spec import NEEDS_TOKEN, api_spec
from programme.api.views._common import bp
from programme.proposals import services as proposals
from programme.proposals.models import Proposal

REFUSED = {"HTTP_401": Problem, "HTTP_403": Problem, "HTTP_404": Problem}


def _fields(proposal: Proposal) -> dict:
    return dict(id=proposal.id, call_id=proposal.call_id, group_id=proposal.group_id, reference=proposal.reference,
                title=proposal.title, status=proposal.status.value, requested_amount=proposal.requested_amount,
                latest_version=proposal.latest_version, submitted_at=proposal.submitted_at,
                updated_at=proposal.updated_at)


@bp.get("/proposals")
@api_spec.validate(query=ListQuery, resp=Response(HTTP_200=Page[ProposalOut], HTTP_422=Problem, **REFUSED),
                   tags=["proposals"], security=NEEDS_TOKEN)
def proposal_list(query: ListQuery):
    """The proposals of every applicant group the caller acts for, by id, page by page."""
    shown, cursor = page_from(proposals.proposals_of(auth.acting()), query.cursor, query.limit,
                              key=lambda proposal: proposal.id)
    return Page[ProposalOut](items=[ProposalOut(**_fields(p)) for p in shown], next_cursor=cursor)


@bp.get("/proposals/<int:proposal_id>")
@api_spec.validate(resp=Response(HTTP_200=ProposalDetail, **REFUSED), tags=["proposals"], security=NEEDS_TOKEN)
def proposal_detail(proposal_id: int):
    """A proposal the caller may read (its group's members; the programme's staff as the pages allow)."""
    proposal = proposals.get_proposal(proposal_id, actor=auth.acting())
    return ProposalDetail(**_fields(proposal), versions=[v.number for v in proposal.versions])


@bp.get("/proposals/<int:proposal_id>/versions/<int:number>")
@api_spec.validate(resp=Response(HTTP_200=ProposalVersionOut, **REFUSED), tags=["proposals"], security=NEEDS_TOKEN)
def proposal_version(proposal_id: int, number: int):
    """One submitted version with its content as submitted and the figures checked at submission."""
    proposal = proposals.get_proposal(proposal_id, actor=auth.acting())
    version = proposals.get_version(proposal, number)
    return ProposalVersionOut(
        proposal_id=proposal.id, number=version.number, submitted_at=version.submitted_at,
        content_sha256=version.content_sha256, eligible=version.eligible, requested_amount=version.requested_amount,
        budget_total=version.budget_total, cofinancing_cash=version.cofinancing_cash,
        cofinancing_in_kind=version.cofinancing_in_kind, content=json.loads(version.content))
