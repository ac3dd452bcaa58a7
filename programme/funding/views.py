"""The initiative pages: the initiatives one may see, and one initiative with its start-up grant and the
disbursements that pay it (request, approve, reject, pay).

Managers, fund administrators and applicants (their groups' initiatives) read them; managers and fund
administrators act on disbursements; only a fund administrator records a payment (the service's rule). A
reviewer sees none (403 on the list, 404 on an initiative). Each view loads, checks access through the services,
validates its form, calls one service and commits once.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, send_file, url_for
from flask import request as http_request
from flask_login import login_required

from programme.core.access import AccessDenied, NotFound, Role, RuleViolation, require_role
from programme.core.charts import Bands, Scale, coordinate, tick_values
from programme.core.files import stored_path
from programme.core.forms import ActionForm, choices
from programme.core.money import format_money
from programme.core.timezone import to_local
from programme.core.web import actor, attempt, commit, now
from programme.extensions import db
from programme.funding import services
from programme.funding.domain import percent
from programme.funding.forms import (
    ContributionForm,
    FundingRequestForm,
    PaymentForm,
    RejectForm,
    RequestForm,
    judgement_form,
    row_ids,
)
from programme.funding.models import (
    CoFinancingContribution,
    ContributionStatus,
    Disbursement,
    DisbursementStatus,
    FundingRequestStatus,
    GrantKind,
    Initiative,
    InitiativeStatus,
)

bp = Blueprint("funding", __name__)


def _zone() -> str:
    return current_app.config["PROGRAMME_TIMEZONE"]


def _handles(user: Any) -> bool:
    return any(user.has_role(role) for role in services.HANDLERS)


def _pays(user: Any) -> bool:
    return user.has_role(Role.FUND_ADMINISTRATOR)


@bp.route("/initiatives")
@login_required
def initiatives():
    # Filters from the dashboard's links (each optional; an unknown value is ignored, not an error).
    status_arg = http_request.args.get("status", "")
    status = InitiativeStatus(status_arg) if status_arg in {s.value for s in InitiativeStatus} else None
    call_id = http_request.args.get("call", type=int) or None
    year = http_request.args.get("year", type=int)
    year = year if year is not None and 1 <= year <= 1000 else None
    zone = _zone()
    shown = services.initiatives_for(actor(), status=status, call_id=call_id, year=year,
                                     today=to_local(now(), zone).date(), timezone=zone)
    filters = {"status": status, "call": call_id, "year": year}
    return render_template("funding/list.html", initiatives=shown, positions=services.positions_of(shown),
                           filters=filters, narrowed=any(v is not None for v in filters.values()))


def _page(initiative: Initiative, *, request_form: RequestForm | None = None, failed: Disbursement | None = None,
          failed_form: Any = None, failed_action: str = "", message: str = "", status: int = 200,
          forms: dict[str, Any] | None = None):
    """The initiative's page; after a refusal, the refused row's form (with what was typed) and its message.
    ``forms`` replaces the page's other forms by name after a refusal: ``funding`` (submit a request),
    ``judge-<id>`` (judge request id), ``tranche-<grant id>`` (request a matching-grant tranche),
    ``contribution`` (record co-financing), ``contribution-reject-<id>``; ``message-<name>`` is a message for
    that form's row."""
    user = actor()
    forms = forms or {}
    grant = initiative.startup_grant
    disbursements = services.disbursements_of(initiative, actor=user)
    handles, pays = _handles(user), _pays(user)
    today = to_local(now(), _zone()).date()
    reject_forms: dict[int, RejectForm] = {}
    pay_forms: dict[int, PaymentForm] = {}
    if handles:
        for d in disbursements:
            if d.status in (DisbursementStatus.REQUESTED, DisbursementStatus.APPROVED):
                reject_forms[d.id] = row_ids(RejectForm(formdata=None), d.id)
            if d.status == DisbursementStatus.APPROVED and pays:
                pay_forms[d.id] = row_ids(PaymentForm(formdata=None, data={"value_date": today}), d.id)
    if failed is not None and failed_form is not None:
        row_ids(failed_form, failed.id)
        (reject_forms if failed_action == "reject" else pay_forms)[failed.id] = failed_form
    if handles and request_form is None and grant is not None:
        request_form = RequestForm(formdata=None)
    position = services.grant_position(grant) if grant is not None else None
    matching = _matching_context(initiative, user, forms, handles)
    return render_template(
        "funding/initiative.html", initiative=initiative, grant=grant, position=position,
        ledger_paid=services.paid_from_ledger(initiative), disbursements=disbursements,
        all_paid=sum((d.amount for d in disbursements if d.status == DisbursementStatus.PAID), Decimal("0.00")),
        people=services.people_of(disbursements), handles=handles, pays=pays, me=user.id,
        request_form=request_form, reject_forms=reject_forms, pay_forms=pay_forms, action_form=ActionForm(),
        failed_id=failed.id if failed is not None else None, failed_action=failed_action, message=message,
        **matching,
    ), status


def _matching_context(initiative: Initiative, user: Any, forms: dict[str, Any], handles: bool) -> dict[str, Any]:
    """What the page shows of funding requests, matching grants, co-financing and the external-share chart."""
    zone, moment = _zone(), now()
    requests = services.funding_requests_of(initiative, actor=user)
    criteria = initiative.call.rules.funding.request_criteria
    manager = user.has_role(Role.PROGRAMME_MANAGER)
    judge_forms = {}
    if manager:
        for r in requests:
            if r.status == FundingRequestStatus.SUBMITTED:
                judge_forms[r.id] = forms.get(f"judge-{r.id}") or judgement_form(criteria, formdata=None)
                row_ids(judge_forms[r.id], r.id)
    open_ = initiative.status not in (InitiativeStatus.TERMINATED, InitiativeStatus.COMPLETED)
    funding_form = None
    if open_ and services.may_submit_requests(initiative, user):
        funding_form = forms.get("funding") or FundingRequestForm(formdata=None)
    positions = services.matching_positions(initiative, now=moment, timezone=zone)
    tranche_forms = {}
    if handles:
        for p in positions:
            tranche_forms[p.grant.id] = row_ids(forms.get(f"tranche-{p.grant.id}") or RequestForm(formdata=None),
                                                p.grant.id)
    contributions = services.contributions_of(initiative, actor=user)
    contribution_form = None
    if open_ and positions and services.may_record_contributions(initiative, user):
        contribution_form = forms.get("contribution") or ContributionForm(
            formdata=None, data={"contributed_on": to_local(moment, zone).date()})
        _contribution_choices(contribution_form, initiative, positions)
    judges_contributions = user.has_role(Role.FUND_ADMINISTRATOR)
    contribution_reject_forms = {}
    if judges_contributions:
        for c in contributions:
            if c.status == ContributionStatus.RECORDED:
                contribution_reject_forms[c.id] = row_ids(
                    forms.get(f"contribution-reject-{c.id}") or RejectForm(formdata=None), c.id)
    chart = services.share_chart(initiative, now=moment, timezone=zone)
    people = services.people_named({r.submitted_by_id for r in requests} | {r.decided_by_id for r in requests}
                                   | {c.recorded_by_id for c in contributions}
                                   | {c.verified_by_id for c in contributions}
                                   | {c.rejected_by_id for c in contributions})
    return {
        "funding_requests": requests, "criteria": {c.key: c.title for c in criteria}, "judge_forms": judge_forms,
        "funding_form": funding_form, "matching_positions": positions, "tranche_forms": tranche_forms,
        "contributions": contributions, "contribution_form": contribution_form,
        "contribution_reject_forms": contribution_reject_forms, "judges_contributions": judges_contributions,
        "organisations": {o.id: o for o in initiative.group.organisations},
        "share_rows": chart, "share_chart": _share_chart(chart), "matching_people": people,
        "messages": {k.removeprefix("message-"): v for k, v in forms.items() if k.startswith("message-")},
        "started_on": services.started_on(initiative, zone),
    }


def _contribution_choices(form: ContributionForm, initiative: Initiative, positions: list[Any]) -> None:
    form.grant_id.choices = choices((p.grant.id, f"Matching grant {p.grant.id}: {p.grant.basis} "
                                     f"({format_money(p.grant.committed, p.grant.currency)})") for p in positions)
    form.contributor_id.choices = choices([("", "– not named –")]
                                          + [(o.id, o.name) for o in initiative.group.organisations])


@dataclass(frozen=True)
class ShareChart:
    width: int
    height: int
    left: int
    top: int
    bottom: int
    ticks: list[tuple[str, str]]
    years: list[dict[str, Any]]
    cap_path: str
    description: str


def _coordinate(value: Fraction) -> str:
    return coordinate(value, trim=False)


def _share_chart(rows: list[Any]) -> ShareChart:
    """The schedule's cap per programme year (a step line) against the external share actually paid (a bar per
    year), as coordinates for an inline SVG; all in exact fractions, shown to a tenth of a pixel."""
    width, height, left, top, bottom = 640, 230, 44, 12, 30
    plot_w, plot_h = width - left - 8, height - top - bottom
    bands = Bands(left, plot_w, len(rows))
    y_of = Scale(0, 1, top + plot_h, top, clip=True).at

    years, steps = [], []
    for index, row in enumerate(rows):
        cap_y = y_of(row.cap)
        steps.append(f"{'M' if index == 0 else 'L'}{_coordinate(bands.at(index))} {_coordinate(cap_y)} "
                     f"L{_coordinate(bands.at(index + 1))} {_coordinate(cap_y)}")
        bar = None
        if row.share is not None:
            y = y_of(row.share)
            x, bar_width = bands.bar(index, Fraction(1, 2))
            bar = {"x": _coordinate(x), "y": _coordinate(y), "width": _coordinate(bar_width),
                   "height": _coordinate(top + plot_h - y), "over": row.share > row.cap}
        years.append({"year": row.year, "bar": bar, "label_x": _coordinate(bands.at(Fraction(2 * index + 1, 2))),
                      "title": (f"Year {row.year}: cap {percent(row.cap)}, paid "
                                + ("nothing" if row.share is None else percent(row.share)))})
    ticks = [(_coordinate(y_of(value)), f"{int(value * 100)} %")
             for value in tick_values(Fraction(0), Fraction(1), Fraction(1, 4))]
    paid_years = [r for r in rows if r.share is not None]
    description = (f"The external-share cap for programme years 1 to {len(rows)} "
                   f"({', '.join(percent(r.cap) for r in rows)}) drawn as a line, and the share of programme money "
                   "actually paid in each year as bars"
                   + (f" ({'; '.join(f'year {r.year}: {percent(r.share)}' for r in paid_years)})." if paid_years
                      else "; nothing has been paid or co-financed yet."))
    return ShareChart(width, height, left, top, bottom, ticks, years, " ".join(steps), description)


@bp.route("/initiatives/<int:initiative_id>")
@login_required
def initiative(initiative_id: int):
    return _page(services.get_initiative(initiative_id, actor=actor()))


def _back(initiative: Initiative, disbursement: Disbursement | None = None):
    anchor = f"disbursement-{disbursement.id}" if disbursement is not None else "disbursements"
    return redirect(url_for("funding.initiative", initiative_id=initiative.id, _anchor=anchor))


@bp.route("/initiatives/<int:initiative_id>/disbursements", methods=["POST"])
@login_required
def request(initiative_id: int):
    initiative = services.get_initiative(initiative_id, actor=actor())
    require_role(actor(), *services.HANDLERS)
    grant = initiative.startup_grant
    if grant is None:
        raise RuleViolation(f"{initiative.reference} has no start-up grant to pay.")
    form = RequestForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            d = services.request_disbursement(grant, amount=form.amount.data, purpose=form.purpose.data,
                                              actor=actor(), now=now(), timezone=_zone())
            amount, left = d.amount, services.grant_position(grant).left
        if done.ok:
            flash(f"{format_money(amount, d.currency)} requested for {initiative.reference}; "
                  f"{format_money(left, d.currency)} of the start-up grant is left to request. Another person "
                  "must approve it.", "success")
            return _back(initiative, d)
    return _page(initiative, request_form=form)


def _refusal(form: Any, exc: RuleViolation) -> str:
    """A service refused: forget what it changed; its message beside the field it names, else for the row."""
    db.session.rollback()
    field = getattr(form, exc.field, None) if exc.field else None
    if field is None:
        return exc.message
    field.errors = [*field.errors, exc.message] if isinstance(field.errors, list) else [exc.message]
    return ""


def _handled(disbursement_id: int) -> Disbursement:
    """A disbursement to act on: 404 if one may not see it, 403 if one may see it but not handle it."""
    d = services.get_disbursement(disbursement_id, actor=actor())
    require_role(actor(), *services.HANDLERS)
    return d


@bp.route("/disbursements/<int:disbursement_id>/approve", methods=["POST"])
@login_required
def approve(disbursement_id: int):
    d = _handled(disbursement_id)
    initiative = d.initiative
    if ActionForm().validate_on_submit():
        try:
            services.approve_disbursement(d, actor=actor(), now=now(), timezone=_zone())
        except (RuleViolation, AccessDenied) as exc:
            # AccessDenied here is the rule that the requester never approves (the role was checked above).
            db.session.rollback()
            message = exc.message if isinstance(exc, RuleViolation) else str(exc)
            return _page(initiative, failed=d, failed_action="approve", message=message)
        amount, currency, reference = d.amount, d.currency, initiative.reference
        commit()
        flash(f"{format_money(amount, currency)} to {reference} approved: it may now be paid.", "success")
    return _back(initiative, d)


@bp.route("/disbursements/<int:disbursement_id>/reject", methods=["POST"])
@login_required
def reject(disbursement_id: int):
    d = _handled(disbursement_id)
    initiative = d.initiative
    form = RejectForm()
    if form.validate_on_submit():
        try:
            services.reject_disbursement(d, reason=form.reason.data, actor=actor(), now=now())
        except RuleViolation as exc:
            return _page(initiative, failed=d, failed_form=form, failed_action="reject",
                         message=_refusal(form, exc))
        amount, currency, reference = d.amount, d.currency, initiative.reference
        commit()
        flash(f"{format_money(amount, currency)} to {reference} rejected; the amount may be requested again.",
              "success")
        return _back(initiative, d)
    return _page(initiative, failed=d, failed_form=form, failed_action="reject")


@bp.route("/disbursements/<int:disbursement_id>/pay", methods=["POST"])
@login_required
def pay(disbursement_id: int):
    d = services.get_disbursement(disbursement_id, actor=actor())
    require_role(actor(), Role.FUND_ADMINISTRATOR)
    initiative = d.initiative
    form = PaymentForm()
    if form.validate_on_submit():
        try:
            services.record_payment(d, value_date=form.value_date.data, bank_reference=form.bank_reference.data,
                                    actor=actor(), now=now(), timezone=_zone())
        except RuleViolation as exc:
            return _page(initiative, failed=d, failed_form=form, failed_action="pay", message=_refusal(form, exc))
        amount, currency, reference = d.amount, d.currency, initiative.reference
        value_date, bank_reference = d.value_date, d.bank_reference
        commit()
        flash(f"{format_money(amount, currency)} paid to {reference} on {value_date.isoformat()}, "
              f"reference {bank_reference}.", "success")
        return _back(initiative, d)
    return _page(initiative, failed=d, failed_form=form, failed_action="pay")


# Matching grants: funding requests, matching-grant tranches, co-financing --------------------------------------


def _to(initiative: Initiative, anchor: str):
    return redirect(url_for("funding.initiative", initiative_id=initiative.id, _anchor=anchor))


def _refused_on(form: Any, exc: RuleViolation | AccessDenied) -> str:
    """Forget what the service changed; its message on the field it names, else returned for the row."""
    if isinstance(exc, AccessDenied):
        db.session.rollback()
        return str(exc)
    return _refusal(form, exc)


@bp.route("/initiatives/<int:initiative_id>/funding-requests", methods=["POST"])
@login_required
def submit_funding_request(initiative_id: int):
    initiative = services.get_initiative(initiative_id, actor=actor())
    if not services.may_submit_requests(initiative, actor()):
        raise AccessDenied("only the initiative's group or a programme manager submits its funding requests")
    form = FundingRequestForm()
    if form.validate_on_submit():
        try:
            made = services.submit_funding_request(
                initiative, title=form.title.data, description=form.description.data, cost=form.cost.data,
                instrument=form.instrument.data, grant_asked=form.grant_asked.data, loan_asked=form.loan_asked.data,
                actor=actor(), now=now())
        except RuleViolation as exc:
            message = _refusal(form, exc)
            return _page(initiative, forms={"funding": form, "message-funding": message})
        title, request_id = made.title, made.id
        commit()
        flash(f"Funding request '{title}' submitted; a programme manager will judge it.", "success")
        return _to(initiative, f"funding-request-{request_id}")
    return _page(initiative, forms={"funding": form})


@bp.route("/funding-requests/<int:request_id>/judge", methods=["POST"])
@login_required
def judge_funding_request(request_id: int):
    found = services.get_funding_request(request_id, actor=actor())
    require_role(actor(), Role.PROGRAMME_MANAGER)
    initiative = found.initiative
    criteria = initiative.call.rules.funding.request_criteria
    form = judgement_form(criteria)
    key = f"judge-{found.id}"
    if form.validate_on_submit():
        assessments = {c.key: (met.data == "yes", note.data) for c, met, note in form.criteria}
        try:
            services.judge_funding_request(
                found, assessments=assessments, approve=form.decision.data == "approve", reason=form.reason.data,
                grant_approved=form.grant_approved.data, loan_approved=form.loan_approved.data, actor=actor(),
                now=now())
        except RuleViolation as exc:
            row_ids(form, found.id)
            message = _refusal(form, exc)
            return _page(initiative, forms={key: form, f"message-{key}": message})
        title, outcome = found.title, found.status.value
        commit()
        flash(f"Funding request '{title}' {outcome}; the group is notified.", "success")
        return _to(initiative, f"funding-request-{request_id}")
    return _page(initiative, forms={key: form})


@bp.route("/initiatives/<int:initiative_id>/grants/<int:grant_id>/disbursements", methods=["POST"])
@login_required
def request_matching(initiative_id: int, grant_id: int):
    initiative = services.get_initiative(initiative_id, actor=actor())
    require_role(actor(), *services.HANDLERS)
    grant = next((g for g in initiative.grants if g.id == grant_id and g.kind == GrantKind.MATCHING), None)
    if grant is None:
        raise NotFound("no such matching grant")
    form = RequestForm()
    key = f"tranche-{grant.id}"
    if form.validate_on_submit():
        try:
            d = services.request_disbursement(grant, amount=form.amount.data, purpose=form.purpose.data,
                                              actor=actor(), now=now(), timezone=_zone())
        except RuleViolation as exc:
            message = _refusal(form, exc)
            return _page(initiative, forms={key: form, f"message-{key}": message})
        amount, currency = d.amount, d.currency
        commit()
        flash(f"{format_money(amount, currency)} of matching grant {grant_id} requested for {initiative.reference}. "
              "Another person must approve it.", "success")
        return _back(initiative, d)
    return _page(initiative, forms={key: form})


@bp.route("/initiatives/<int:initiative_id>/contributions", methods=["POST"])
@login_required
def record_contribution(initiative_id: int):
    initiative = services.get_initiative(initiative_id, actor=actor())
    if not services.may_record_contributions(initiative, actor()):
        raise AccessDenied("only the initiative's group or a fund administrator records its co-financing")
    form = ContributionForm()
    positions = services.matching_grants_of(initiative)
    form.grant_id.choices = choices((g.id, str(g.id)) for g in positions)
    form.contributor_id.choices = choices([("", "–")] + [(o.id, o.name) for o in initiative.group.organisations])
    if form.validate_on_submit():
        grant = next(g for g in positions if g.id == form.grant_id.data)
        upload = form.file.data
        try:
            made = services.record_contribution(
                grant, kind=form.kind.data, amount=form.amount.data, contributed_on=form.contributed_on.data,
                description=form.description.data, contributor_id=form.contributor_id.data, stream=upload.stream,
                filename=upload.filename, upload_root=current_app.config["UPLOAD_FOLDER"],
                max_bytes=current_app.config["MAX_ATTACHMENT_BYTES"], actor=actor(), now=now(), timezone=_zone())
        except RuleViolation as exc:
            message = _refusal(form, exc)
            return _page(initiative, forms={"contribution": form, "message-contribution": message})
        amount, currency, contribution_id = made.amount, made.currency, made.id
        commit()
        flash(f"Contribution of {format_money(amount, currency)} recorded; it counts once a fund administrator "
              "who did not record it has verified it.", "success")
        return _to(initiative, f"contribution-{contribution_id}")
    return _page(initiative, forms={"contribution": form})


def _judged_contribution(contribution_id: int) -> CoFinancingContribution:
    """A contribution to verify or reject: 404 if one may not see it, 403 if one may see it but is not a fund
    administrator."""
    c = services.get_contribution(contribution_id, actor=actor())
    require_role(actor(), Role.FUND_ADMINISTRATOR)
    return c


@bp.route("/contributions/<int:contribution_id>/verify", methods=["POST"])
@login_required
def verify_contribution(contribution_id: int):
    c = _judged_contribution(contribution_id)
    initiative = c.initiative
    if ActionForm().validate_on_submit():
        try:
            services.verify_contribution(c, actor=actor(), now=now())
        except (RuleViolation, AccessDenied) as exc:
            # AccessDenied here is the rule that the recorder never verifies (the role was checked above).
            message = _refused_on(None, exc)
            return _page(initiative, forms={f"message-contribution-{contribution_id}": message})
        amount, currency = c.amount, c.currency
        commit()
        flash(f"Contribution of {format_money(amount, currency)} verified: it now counts for matching grant "
              f"{c.grant_id}.", "success")
    return _to(initiative, f"contribution-{contribution_id}")


@bp.route("/contributions/<int:contribution_id>/reject", methods=["POST"])
@login_required
def reject_contribution(contribution_id: int):
    c = _judged_contribution(contribution_id)
    initiative = c.initiative
    form = RejectForm()
    key = f"contribution-reject-{contribution_id}"
    if form.validate_on_submit():
        try:
            services.reject_contribution(c, reason=form.reason.data, actor=actor(), now=now())
        except (RuleViolation, AccessDenied) as exc:
            message = _refused_on(form, exc)
            return _page(initiative, forms={key: form, f"message-contribution-{contribution_id}": message})
        amount, currency = c.amount, c.currency
        commit()
        flash(f"Contribution of {format_money(amount, currency)} rejected; it does not count.", "success")
        return _to(initiative, f"contribution-{contribution_id}")
    return _page(initiative, forms={key: form})


@bp.route("/contributions/<int:contribution_id>/evidence")
@login_required
def contribution_evidence(contribution_id: int):
    c = services.get_contribution(contribution_id, actor=actor())
    folder = services.contributions_folder(current_app.config["UPLOAD_FOLDER"], c.initiative)
    response = send_file(stored_path(folder, c.evidence_stored_name), as_attachment=True,
                         download_name=c.evidence_name, mimetype=c.evidence_content_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
