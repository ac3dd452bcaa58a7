"""A programme manager's pages of the proposals: a call's submissions (filtered, sorted, paged) and their Excel
export, and an eligibility decision that departs from the computed one, with its reason."""

from __future__ import annotations

import math
from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import login_required

from programme.calls import services as calls
from programme.core.access import Role, require_role
from programme.core.texts import gettext as _
from programme.core.web import actor, attempt, now, page_arg, programme_zone, send_workbook
from programme.proposals import services
from programme.proposals.export import write_submissions_workbook
from programme.proposals.forms import OverrideForm
from programme.proposals.models import ProposalStatus
from programme.proposals.views import bp
from programme.proposals.views._common import overview_page

PER_PAGE = 50


def _submission_filters() -> services.SubmissionFilter:
    args = request.args
    status = args.get("status", "")
    eligibility = args.get("eligibility", "")
    sort = args.get("sort", "reference")
    return services.SubmissionFilter(
        status=status if status in {s.value for s in ProposalStatus} - {"draft"} else None,
        eligibility=eligibility if eligibility in ("eligible", "ineligible") else None,
        search=(args.get("q") or "").strip()[:200] or None,
        sort=sort if sort in services.SORTS else "reference",
        descending=args.get("desc") == "1",
    )


@bp.route("/manage/calls/<int:call_id>/submissions")
@login_required
def submissions(call_id: int):
    call = calls.get_call_for_management(call_id, actor=actor())
    filters = _submission_filters()
    page = page_arg()
    found = services.submissions_page(call, filters, page=page, per_page=PER_PAGE, actor=actor())
    query = {"status": filters.status, "eligibility": filters.eligibility, "q": filters.search,
             "sort": filters.sort if filters.sort != "reference" else None, "desc": "1" if filters.descending else None}

    def link(**changes: Any) -> str:
        merged = {**query, **changes}
        return url_for("proposals.submissions", call_id=call.id, **{k: v for k, v in merged.items() if v})

    def sort_link(key: str) -> str:
        descending = filters.sort == key and not filters.descending
        return link(sort=key if key != "reference" else None, desc="1" if descending else None, page=None)

    return render_template(
        "proposals/submissions.html", call=call, rows=found.rows, total=found.count, page=page,
        pages=max(1, math.ceil(found.count / PER_PAGE)), filters=filters, link=link, sort_link=sort_link,
        requested_total=found.requested, overview_link=url_for("proposals.overview", proposal_id=0)[:-1],
        statuses=[s for s in ProposalStatus if s is not ProposalStatus.DRAFT],
    )


@bp.route("/manage/calls/<int:call_id>/submissions.xlsx")
@login_required
def submissions_export(call_id: int):
    call = calls.get_call_for_management(call_id, actor=actor())
    stamp = now().strftime("%Y%m%d-%H%M")
    return send_workbook(
        lambda handle: write_submissions_workbook(call, handle, actor=actor(), timezone=programme_zone()),
        f"{call.reference}-submissions-{stamp}.xlsx")


@bp.route("/manage/proposals/<int:proposal_id>/eligibility", methods=["POST"])
@login_required
def override(proposal_id: int):
    require_role(actor(), Role.PROGRAMME_MANAGER)
    proposal = services.get_proposal(proposal_id, actor=actor())
    form = OverrideForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            services.override_eligibility(proposal, eligible=form.decision.data == "eligible",
                                          reason=form.reason.data, actor=actor(), now=now())
        if done.ok:
            flash(_("Eligibility decided: %(status)s. The reason is in the audit log.",
                    status=proposal.status.label.lower()), "success")
            return redirect(url_for("proposals.overview", proposal_id=proposal.id))
    return overview_page(proposal, override_form=form)
