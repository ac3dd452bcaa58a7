"""The proposal pages: an applicant group writes its proposal section by section, sees its eligibility
live, submits and withdraws; a programme manager reads the submissions of a call, overrides an
eligibility verdict with a reason and exports everything to Excel."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required

from programme.accounts import services as accounts
from programme.calls import services as calls
from programme.calls.models import CallStatus
from programme.core.access import AccessDenied, NotFound, Role, RuleViolation, require_role
from programme.core.files import stored_path
from programme.core.forms import ActionForm, choices
from programme.core.web import actor, attempt, commit, form_error, now, send_workbook
from programme.extensions import db
from programme.proposals import services
from programme.proposals.domain import (
    COST_TYPES,
    SECTIONS,
    ActivityKind,
    ClusterStage,
    CoFinancingKind,
    section_gaps,
    snapshot_figures,
)
from programme.proposals.export import write_submissions_workbook
from programme.proposals.forms import (
    ActivityForm,
    AttachmentForm,
    BudgetLineForm,
    ClusterForm,
    CoFinancingForm,
    IndicatorForm,
    ObjectivesForm,
    OverrideForm,
    RequestedAmountForm,
    StartProposalForm,
    WithdrawForm,
    activity_choices,
    organisation_choices,
)
from programme.proposals.models import AttachmentKind, Proposal, ProposalStatus
from programme.reviews import services as reviews
from programme.rulebook import ORGANISATION_TYPES

bp = Blueprint("proposals", __name__)

PER_PAGE = 50
#: Statuses in which a manager may still decide eligibility.
OVERRIDABLE = (ProposalStatus.SUBMITTED, ProposalStatus.ELIGIBLE, ProposalStatus.INELIGIBLE)


# Loading -----------------------------------------------------------------------------------------


def _own(proposal_id: int) -> Proposal:
    """A proposal for its group's own pages: 404 unless the actor may read it, 403 for a reader outside
    the group (a programme manager reads the overview and the versions, not the editing pages)."""
    proposal = services.get_proposal(proposal_id, actor=actor())
    if not proposal.is_group_user(actor()):
        raise AccessDenied("only the people acting for the group change its proposal")
    return proposal


def _load(proposal_id: int) -> Proposal:
    """The proposal of a section page: on a POST, one the actor may change now (the service says why not)."""
    if request.method == "POST":
        return services.get_proposal_for_edit(proposal_id, actor=actor())
    return _own(proposal_id)


def _item(items: list[Any], item_id: int) -> Any:
    """An activity or budget line of this proposal; 404 for an id of another proposal."""
    item = next((i for i in items if i.id == item_id), None)
    if item is None:
        raise NotFound()
    return item


def _rejected(form: Any, exc: RuleViolation) -> None:
    """A service refused: forget what it changed, show its message beside the field (typed values stay)."""
    db.session.rollback()
    form_error(form, exc)


# What every page of a proposal shows ---------------------------------------------------------------


def _tabs(proposal: Proposal, snapshot: dict[str, Any], gaps: dict[str, list[str]]) -> list[dict[str, Any]]:
    """The section links beside every page of the proposal, each with a tick when complete."""
    objectives_done = bool((snapshot["objectives"] or "").strip())
    return [
        {"endpoint": "proposals.cluster", "label": SECTIONS["cluster"], "done": not gaps["cluster"]},
        {"endpoint": "proposals.objectives", "label": "Objectives", "done": objectives_done},
        {"endpoint": "proposals.activities", "label": "First activities", "done": bool(snapshot["activities"])},
        {"endpoint": "proposals.budget", "label": SECTIONS["budget"], "done": not gaps["budget"]},
        {"endpoint": "proposals.indicators", "label": SECTIONS["indicators"], "done": not gaps["indicators"]},
        {"endpoint": "proposals.attachments", "label": SECTIONS["attachments"],
         "done": bool(snapshot["attachments"]), "count": len(snapshot["attachments"])},
    ]


def _render(template: str, proposal: Proposal, **context: Any):
    """A page of the proposal: its content, the section tabs and the live eligibility checklist."""
    moment = now()
    snapshot = services.build_snapshot(proposal)
    gaps = section_gaps(snapshot)
    return render_template(
        template, proposal=proposal, call=proposal.call, snapshot=snapshot, gaps=gaps,
        tabs=_tabs(proposal, snapshot, gaps), verdict=services.eligibility(proposal, snapshot, moment),
        figures=snapshot_figures(snapshot), is_group_user=proposal.is_group_user(current_user),
        editable=proposal.can_edit(current_user) and proposal.call.is_accepting(moment),
        action_form=ActionForm(), now=moment, sections=SECTIONS, **context,
    )


# Starting and listing ------------------------------------------------------------------------------


def _remove_item(proposal_id: int, item_id: int, remove: Callable[..., None], message: str, endpoint: str,
                 anchor: str | None = None):
    """Remove one item of the draft (an activity, a budget line...) and go back to its section."""
    proposal = services.get_proposal_for_edit(proposal_id, actor=actor())
    if ActionForm().validate_on_submit():
        with attempt() as done:
            remove(proposal, item_id, actor=actor(), now=now())
        if done.ok:
            flash(message, "success")
    return redirect(url_for(endpoint, proposal_id=proposal.id, _anchor=anchor))


@bp.route("/calls/<int:call_id>/proposals/new", methods=["GET", "POST"])
@login_required
def new(call_id: int):
    call = calls.get_call(call_id, actor=actor())
    require_role(actor(), Role.APPLICANT)
    moment = now()
    groups = accounts.groups_of(current_user)
    existing = services.proposals_for_group_and_call([g.id for g in groups], call.id)
    free = [g for g in groups if g.id not in existing]
    form = StartProposalForm()
    form.group_id.choices = choices((g.id, g.name) for g in free)
    accepting = call.is_accepting(moment)
    if accepting and free and form.validate_on_submit():
        group = next(g for g in free if g.id == form.group_id.data)
        try:
            proposal = services.start_proposal(call, group, title=form.title.data, actor=actor(), now=moment)
        except RuleViolation as exc:
            _rejected(form, exc)
        else:
            commit()
            flash(f"Proposal started for {group.name}. Fill in the sections in any order; "
                  "each is saved on its own.", "success")
            return redirect(url_for("proposals.overview", proposal_id=proposal.id))
    return render_template("proposals/new.html", call=call, form=form, accepting=accepting, groups=groups,
                           existing=existing, free=free, now=moment)


@bp.route("/proposals")
@login_required
def mine():
    return render_template("proposals/list.html", proposals=services.proposals_of(actor()), now=now())


# The overview ---------------------------------------------------------------------------------------


def _overview(proposal: Proposal, *, withdraw_form: WithdrawForm | None = None,
              override_form: OverrideForm | None = None):
    is_group_user = proposal.is_group_user(current_user)
    can_withdraw = (
        is_group_user and current_user.has_role(Role.APPLICANT)
        and proposal.status not in (ProposalStatus.DRAFT, ProposalStatus.WITHDRAWN)
        and proposal.call.status != CallStatus.DECIDED
    )
    can_override = (
        current_user.has_role(Role.PROGRAMME_MANAGER) and proposal.latest_version is not None
        and proposal.status in OVERRIDABLE
    )
    if override_form is None and can_override:
        decided = proposal.override_eligible
        current = decided if decided is not None else proposal.current_version.eligible
        override_form = OverrideForm(formdata=None, data={"decision": "eligible" if current else "ineligible"})
    return _render(
        "proposals/overview.html", proposal,
        withdraw_form=(withdraw_form or WithdrawForm(formdata=None)) if can_withdraw else None,
        override_form=override_form if can_override else None,
        feedback=reviews.feedback_for(proposal, actor=actor()),
    )


@bp.route("/proposals/<int:proposal_id>")
@login_required
def overview(proposal_id: int):
    return _overview(services.get_proposal(proposal_id, actor=actor()))


# Sections ------------------------------------------------------------------------------------------


@bp.route("/proposals/<int:proposal_id>/cluster", methods=["GET", "POST"])
@login_required
def cluster(proposal_id: int):
    proposal = _load(proposal_id)
    form = ClusterForm(data={
        "title": proposal.title, "sector": proposal.sector, "territory": proposal.territory,
        "stage": proposal.stage.value if proposal.stage else "", "main_problem": proposal.main_problem,
        "market_failure": proposal.market_failure,
    } if request.method == "GET" else None)
    if form.validate_on_submit():
        data = services.ClusterSection(
            title=form.title.data, sector=form.sector.data or "", territory=form.territory.data or "",
            stage=ClusterStage(form.stage.data) if form.stage.data else None,
            main_problem=form.main_problem.data or "", market_failure=form.market_failure.data or "",
        )
        try:
            services.update_cluster(proposal, data, actor=actor(), now=now())
        except RuleViolation as exc:
            _rejected(form, exc)
        else:
            commit()
            flash("The cluster section is saved.", "success")
            return redirect(url_for("proposals.cluster", proposal_id=proposal.id))
    return _render("proposals/cluster.html", proposal, form=form)


@bp.route("/proposals/<int:proposal_id>/objectives", methods=["GET", "POST"])
@login_required
def objectives(proposal_id: int):
    proposal = _load(proposal_id)
    form = ObjectivesForm(obj=proposal if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            services.update_objectives(proposal, objectives=form.objectives.data or "",
                                       sustainability_plan=form.sustainability_plan.data or "",
                                       actor=actor(), now=now())
        except RuleViolation as exc:
            _rejected(form, exc)
        else:
            commit()
            flash("The objectives are saved.", "success")
            return redirect(url_for("proposals.objectives", proposal_id=proposal.id))
    return _render("proposals/objectives.html", proposal, form=form)


def _activity_data(form: ActivityForm) -> services.ActivityData:
    return services.ActivityData(
        title=form.title.data, kind=ActivityKind(form.kind.data), description=form.description.data or "",
        start_quarter=form.start_quarter.data, end_quarter=form.end_quarter.data, cost=form.cost.data,
    )


@bp.route("/proposals/<int:proposal_id>/activities", methods=["GET", "POST"])
@login_required
def activities(proposal_id: int):
    proposal = _load(proposal_id)
    form = ActivityForm()
    if form.validate_on_submit():
        try:
            activity = services.add_activity(proposal, _activity_data(form), actor=actor(), now=now())
        except RuleViolation as exc:
            _rejected(form, exc)
        else:
            commit()
            flash(f"Activity '{activity.title}' added.", "success")
            return redirect(url_for("proposals.activities", proposal_id=proposal.id))
    return _render("proposals/activities.html", proposal, form=form)


@bp.route("/proposals/<int:proposal_id>/activities/<int:activity_id>", methods=["GET", "POST"])
@login_required
def edit_activity(proposal_id: int, activity_id: int):
    proposal = _load(proposal_id)
    activity = _item(proposal.activities, activity_id)
    form = ActivityForm(obj=activity, data={"kind": activity.kind.value} if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            services.update_activity(proposal, activity.id, _activity_data(form), actor=actor(), now=now())
        except RuleViolation as exc:
            _rejected(form, exc)
        else:
            commit()
            flash(f"Activity '{form.title.data}' saved.", "success")
            return redirect(url_for("proposals.activities", proposal_id=proposal.id))
    return _render("proposals/activity_edit.html", proposal, form=form, activity=activity)


@bp.route("/proposals/<int:proposal_id>/activities/<int:activity_id>/remove", methods=["POST"])
@login_required
def remove_activity(proposal_id: int, activity_id: int):
    return _remove_item(
        proposal_id, activity_id, services.remove_activity,
        "Activity removed; its budget lines are kept, no longer tied to it.", "proposals.activities",
    )


# Budget and co-financing -----------------------------------------------------------------------------


def _budget_page(proposal: Proposal, *, requested_form: RequestedAmountForm | None = None,
                 line_form: BudgetLineForm | None = None, cofinancing_form: CoFinancingForm | None = None):
    """The budget page; the form that was posted comes back with its values and errors, the others fresh."""
    requested_form = requested_form or RequestedAmountForm(
        formdata=None, data={"requested_amount": proposal.requested_amount}
    )
    line_form = line_form or BudgetLineForm(formdata=None)
    line_form.activity_id.choices = activity_choices(proposal.activities)
    cofinancing_form = cofinancing_form or CoFinancingForm(formdata=None, prefix="cofinancing")
    cofinancing_form.organisation_id.choices = organisation_choices(proposal.group.organisations)
    return _render("proposals/budget.html", proposal, requested_form=requested_form, line_form=line_form,
                   cofinancing_form=cofinancing_form, cost_types=COST_TYPES)


@bp.route("/proposals/<int:proposal_id>/budget")
@login_required
def budget(proposal_id: int):
    return _budget_page(_own(proposal_id))


@bp.route("/proposals/<int:proposal_id>/budget/requested", methods=["POST"])
@login_required
def set_requested(proposal_id: int):
    proposal = services.get_proposal_for_edit(proposal_id, actor=actor())
    form = RequestedAmountForm()
    if form.validate_on_submit():
        try:
            services.set_requested_amount(proposal, form.requested_amount.data, actor=actor(), now=now())
        except RuleViolation as exc:
            _rejected(form, exc)
        else:
            commit()
            flash("The amount requested is saved.", "success")
            return redirect(url_for("proposals.budget", proposal_id=proposal.id))
    return _budget_page(proposal, requested_form=form)


def _line_data(form: BudgetLineForm) -> services.BudgetLineData:
    return services.BudgetLineData(activity_id=form.activity_id.data or None, cost_type=form.cost_type.data,
                                   description=form.description.data, amount=form.amount.data)


@bp.route("/proposals/<int:proposal_id>/budget/lines", methods=["POST"])
@login_required
def add_line(proposal_id: int):
    proposal = services.get_proposal_for_edit(proposal_id, actor=actor())
    form = BudgetLineForm()
    form.activity_id.choices = activity_choices(proposal.activities)
    if form.validate_on_submit():
        try:
            services.add_budget_line(proposal, _line_data(form), actor=actor(), now=now())
        except RuleViolation as exc:
            _rejected(form, exc)
        else:
            commit()
            flash("Budget line added.", "success")
            return redirect(url_for("proposals.budget", proposal_id=proposal.id))
    return _budget_page(proposal, line_form=form)


@bp.route("/proposals/<int:proposal_id>/budget/<int:line_id>", methods=["GET", "POST"])
@login_required
def edit_line(proposal_id: int, line_id: int):
    proposal = _load(proposal_id)
    line = _item(proposal.budget_lines, line_id)
    form = BudgetLineForm(data={
        "activity_id": line.activity_id or 0, "cost_type": line.cost_type, "description": line.description,
        "amount": line.amount,
    } if request.method == "GET" else None)
    form.activity_id.choices = activity_choices(proposal.activities)
    if form.validate_on_submit():
        try:
            services.update_budget_line(proposal, line.id, _line_data(form), actor=actor(), now=now())
        except RuleViolation as exc:
            _rejected(form, exc)
        else:
            commit()
            flash("Budget line saved.", "success")
            return redirect(url_for("proposals.budget", proposal_id=proposal.id))
    return _render("proposals/budget_line_edit.html", proposal, form=form, line=line)


@bp.route("/proposals/<int:proposal_id>/budget/<int:line_id>/remove", methods=["POST"])
@login_required
def remove_line(proposal_id: int, line_id: int):
    return _remove_item(proposal_id, line_id, services.remove_budget_line, "Budget line removed.", "proposals.budget")


@bp.route("/proposals/<int:proposal_id>/cofinancing", methods=["POST"])
@login_required
def add_cofinancing(proposal_id: int):
    proposal = services.get_proposal_for_edit(proposal_id, actor=actor())
    form = CoFinancingForm(prefix="cofinancing")
    form.organisation_id.choices = organisation_choices(proposal.group.organisations)
    if form.validate_on_submit():
        data = services.CoFinancingData(
            organisation_id=form.organisation_id.data, kind=CoFinancingKind(form.kind.data),
            amount=form.amount.data, description=form.description.data or "",
        )
        try:
            services.add_cofinancing(proposal, data, actor=actor(), now=now())
        except RuleViolation as exc:
            _rejected(form, exc)
        else:
            commit()
            flash("Co-financing commitment added.", "success")
            return redirect(url_for("proposals.budget", proposal_id=proposal.id) + "#cofinancing")
    return _budget_page(proposal, cofinancing_form=form)


@bp.route("/proposals/<int:proposal_id>/cofinancing/<int:cofinancing_id>/remove", methods=["POST"])
@login_required
def remove_cofinancing(proposal_id: int, cofinancing_id: int):
    return _remove_item(
        proposal_id, cofinancing_id, services.remove_cofinancing,
        "Co-financing commitment removed.", "proposals.budget", anchor="cofinancing",
    )


# Indicators and attachments --------------------------------------------------------------------------


@bp.route("/proposals/<int:proposal_id>/indicators", methods=["GET", "POST"])
@login_required
def indicators(proposal_id: int):
    proposal = _load(proposal_id)
    form = IndicatorForm()
    if form.validate_on_submit():
        data = services.IndicatorData(name=form.name.data, unit=form.unit.data, baseline=form.baseline.data,
                                      target=form.target.data)
        try:
            services.add_indicator(proposal, data, actor=actor(), now=now())
        except RuleViolation as exc:
            _rejected(form, exc)
        else:
            commit()
            flash("Indicator added.", "success")
            return redirect(url_for("proposals.indicators", proposal_id=proposal.id))
    return _render("proposals/indicators.html", proposal, form=form)


@bp.route("/proposals/<int:proposal_id>/indicators/<int:indicator_id>/remove", methods=["POST"])
@login_required
def remove_indicator(proposal_id: int, indicator_id: int):
    return _remove_item(
        proposal_id, indicator_id, services.remove_indicator,
        "Indicator removed.", "proposals.indicators",
    )


@bp.route("/proposals/<int:proposal_id>/attachments", methods=["GET", "POST"])
@login_required
def attachments(proposal_id: int):
    proposal = _load(proposal_id)
    form = AttachmentForm()
    max_bytes = current_app.config["MAX_ATTACHMENT_BYTES"]
    if form.validate_on_submit():
        upload = form.file.data
        try:
            attachment = services.add_attachment(
                proposal, kind=AttachmentKind(form.kind.data), stream=upload.stream, filename=upload.filename,
                upload_root=current_app.config["UPLOAD_FOLDER"], max_bytes=max_bytes, actor=actor(), now=now(),
            )
        except RuleViolation as exc:
            _rejected(form, exc)
        else:
            commit()
            flash(f"'{attachment.original_name}' uploaded.", "success")
            return redirect(url_for("proposals.attachments", proposal_id=proposal.id))
    return _render("proposals/attachments.html", proposal, form=form, max_megabytes=max_bytes / (1024 * 1024))


@bp.route("/proposals/<int:proposal_id>/attachments/<int:attachment_id>/remove", methods=["POST"])
@login_required
def remove_attachment(proposal_id: int, attachment_id: int):
    return _remove_item(
        proposal_id, attachment_id, services.remove_attachment,
        "Attachment removed from the draft (submitted versions keep it).", "proposals.attachments",
    )


@bp.route("/proposals/<int:proposal_id>/attachments/<int:attachment_id>")
@login_required
def download(proposal_id: int, attachment_id: int):
    proposal = services.get_proposal(proposal_id, actor=actor())
    attachment = services.get_attachment(proposal, attachment_id)
    folder = services.attachments_folder(current_app.config["UPLOAD_FOLDER"], proposal)
    response = send_file(stored_path(folder, attachment.stored_name), as_attachment=True,
                         download_name=attachment.original_name, mimetype=attachment.content_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# Submission, withdrawal, versions ----------------------------------------------------------------------


@bp.route("/proposals/<int:proposal_id>/submit", methods=["POST"])
@login_required
def submit(proposal_id: int):
    proposal = services.get_proposal_for_edit(proposal_id, actor=actor())
    if ActionForm().validate_on_submit():
        with attempt() as done:
            version = services.submit(proposal, actor=actor(), now=now())
        if done.ok:
            flash(f"Submitted as version {version.number}, reference {proposal.reference}. "
                  f"A confirmation is in your notifications.", "success")
    return redirect(url_for("proposals.overview", proposal_id=proposal.id))


@bp.route("/proposals/<int:proposal_id>/withdraw", methods=["POST"])
@login_required
def withdraw(proposal_id: int):
    proposal = _own(proposal_id)
    form = WithdrawForm()
    if form.validate_on_submit():
        with attempt() as done:
            services.withdraw(proposal, reason=form.reason.data, actor=actor(), now=now())
        if done.ok:
            flash("The proposal is withdrawn. Its submitted versions stay readable.", "success")
        return redirect(url_for("proposals.overview", proposal_id=proposal.id))
    return _overview(proposal, withdraw_form=form)


@bp.route("/proposals/<int:proposal_id>/versions/<int:number>")
@login_required
def version(proposal_id: int, number: int):
    proposal = services.get_proposal(proposal_id, actor=actor())
    frozen = services.get_version(proposal, number)
    snapshot = frozen.snapshot
    return render_template(
        "proposals/version.html", proposal=proposal, call=proposal.call, version=frozen, snapshot=snapshot,
        verdict=frozen.verdict, organisation_types=ORGANISATION_TYPES,
        figures=snapshot_figures(snapshot), gaps=section_gaps(snapshot), sections=SECTIONS, cost_types=COST_TYPES,
        kinds={kind.value: kind.label for kind in ActivityKind},
    )


# The manager's view ------------------------------------------------------------------------------------


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
    page = min(max(1, request.args.get("page", 1, type=int) or 1), 1_000_000)
    rows, total = services.list_submissions(call, filters, page=page, per_page=PER_PAGE, actor=actor())
    query = {"status": filters.status, "eligibility": filters.eligibility, "q": filters.search,
             "sort": filters.sort if filters.sort != "reference" else None, "desc": "1" if filters.descending else None}

    def link(**changes: Any) -> str:
        merged = {**query, **changes}
        return url_for("proposals.submissions", call_id=call.id, **{k: v for k, v in merged.items() if v})

    def sort_link(key: str) -> str:
        descending = filters.sort == key and not filters.descending
        return link(sort=key if key != "reference" else None, desc="1" if descending else None, page=None)

    return render_template(
        "proposals/submissions.html", call=call, rows=rows, total=total, page=page,
        pages=max(1, math.ceil(total / PER_PAGE)), filters=filters, link=link, sort_link=sort_link,
        requested_total=services.requested_total(call, filters, actor=actor()),
        statuses=[s for s in ProposalStatus if s is not ProposalStatus.DRAFT],
    )


@bp.route("/manage/calls/<int:call_id>/submissions.xlsx")
@login_required
def submissions_export(call_id: int):
    call = calls.get_call_for_management(call_id, actor=actor())
    stamp = now().strftime("%Y%m%d-%H%M")
    return send_workbook(
        lambda handle: write_submissions_workbook(call, handle, actor=actor(),
                                                  timezone=current_app.config["PROGRAMME_TIMEZONE"]),
        f"{call.reference}-submissions-{stamp}.xlsx")


@bp.route("/manage/proposals/<int:proposal_id>/eligibility", methods=["POST"])
@login_required
def override(proposal_id: int):
    require_role(actor(), Role.PROGRAMME_MANAGER)
    proposal = services.get_proposal(proposal_id, actor=actor())
    form = OverrideForm()
    if form.validate_on_submit():
        try:
            services.override_eligibility(proposal, eligible=form.decision.data == "eligible",
                                          reason=form.reason.data, actor=actor(), now=now())
        except RuleViolation as exc:
            _rejected(form, exc)
        else:
            commit()
            flash(f"Eligibility decided: {proposal.status.label.lower()}. The reason is in the audit log.",
                  "success")
            return redirect(url_for("proposals.overview", proposal_id=proposal.id))
    return _overview(proposal, override_form=form)
