"""What the initiative pages share: who handles and who pays disbursements, the initiative's page (its start-up
grant and disbursements, funding requests, matching grants, co-financing and the external-share chart) shown
again after a refusal with the refused form and its message, and the redirects back to it. Private to
``programme.funding.views``."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any

from flask import redirect, render_template, url_for

from programme.calls import staging
from programme.core.access import Role
from programme.core.charts import Bands, Scale, coordinate, tick_values
from programme.core.forms import ActionForm, choices
from programme.core.money import format_money
from programme.core.texts import gettext as _
from programme.core.timezone import to_local
from programme.core.web import actor, now, programme_zone
from programme.dashboard.cache import data_version
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
    ContributionStatus,
    Disbursement,
    DisbursementStatus,
    FundingRequestStatus,
    Initiative,
    InitiativeStatus,
)
from programme.proposals.services import stage_path


def handles(user: Any) -> bool:
    return any(user.has_role(role) for role in services.HANDLERS)


def pays(user: Any) -> bool:
    return user.has_role(Role.FUND_ADMINISTRATOR)


def page(initiative: Initiative, *, request_form: RequestForm | None = None, failed: Disbursement | None = None,
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
    user_handles, user_pays = handles(user), pays(user)
    zone, moment = programme_zone(), now()
    today = to_local(moment, zone).date()
    # Shown again after a refusal, the page reads its figures afresh: what the refused request wrote is rolled
    # back, and on SQLite its ids are handed out again, so nothing read in that request is kept.
    refused = status != 200 or failed is not None or bool(forms) or request_form is not None
    figures = services.initiative_figures(initiative, version=None if refused else data_version(today=today),
                                          now=moment, timezone=zone)
    reject_forms: dict[int, RejectForm] = {}
    pay_forms: dict[int, PaymentForm] = {}
    if user_handles:
        for d in disbursements:
            if d.status in (DisbursementStatus.REQUESTED, DisbursementStatus.APPROVED):
                reject_forms[d.id] = row_ids(RejectForm(formdata=None), d.id)
            if d.status == DisbursementStatus.APPROVED and user_pays:
                pay_forms[d.id] = row_ids(PaymentForm(formdata=None, data={"value_date": today}), d.id)
    if failed is not None and failed_form is not None:
        row_ids(failed_form, failed.id)
        (reject_forms if failed_action == "reject" else pay_forms)[failed.id] = failed_form
    if user_handles and request_form is None and grant is not None:
        request_form = RequestForm(formdata=None)
    matching = _matching_context(initiative, user, forms, user_handles, figures, disbursements)
    return render_template(
        "funding/initiative.html", initiative=initiative, grant=grant, position=figures.startup,
        ledger_paid=figures.ledger_paid, disbursements=disbursements,
        all_paid=sum((d.amount for d in disbursements if d.status == DisbursementStatus.PAID), Decimal("0.00")),
        people=matching["matching_people"], handles=user_handles, pays=user_pays, me=user.id,
        request_form=request_form, reject_forms=reject_forms, pay_forms=pay_forms, action_form=ActionForm(),
        failed_id=failed.id if failed is not None else None, failed_action=failed_action, message=message,
        **matching, **_facilitation_context(initiative, user), **_stages_context(initiative),
    ), status


@dataclass(frozen=True)
class StageStep:
    """One stage of a staged call on the initiative's page: the stage, the group's proposal to it, and the
    initiative it became (None for a stage that awards no money, or one not decided yet)."""

    stage: staging.StageView
    proposal: Any
    initiative: Initiative | None


def _stages_context(initiative: Initiative) -> dict[str, Any]:
    """The network's way through the staged call the initiative was funded by (nothing for a one-stage call): each
    stage that pays opens its own initiative, within the cap per network over all the stages."""
    if not initiative.call.is_stage:
        return {"stages": []}
    path = stage_path(initiative.proposal)
    opened = services.initiatives_of_proposals([p.id for p in path])
    steps = []
    for proposal in path:
        view = staging.stage_view(proposal.call)
        if view is not None:
            steps.append(StageStep(view, proposal, opened.get(proposal.id)))
    committed = sum((step.initiative.startup_grant.committed for step in steps
                     if step.initiative is not None and step.initiative.startup_grant is not None), Decimal("0.00"))
    return {"stages": steps, "staged_call": staging.parent_of(initiative.call), "stages_committed": committed}


def _facilitation_context(initiative: Initiative, user: Any) -> dict[str, Any]:
    """The facilitation fund on the initiative's page: its figures and claims (read afresh: a few rows), and
    whether the reader may claim on it."""
    fund = services.facilitation_position(initiative, now=now(), timezone=programme_zone())
    if fund is None:
        return {"facilitation": None}
    return {"facilitation": fund, "facilitation_claims": services.claims_of(initiative, actor=user),
            "may_claim": services.may_claim(initiative, user)
            and initiative.status not in (InitiativeStatus.TERMINATED, InitiativeStatus.COMPLETED)}


def _matching_context(initiative: Initiative, user: Any, forms: dict[str, Any], user_handles: bool,
                      figures: services.InitiativeFigures, disbursements: list[Disbursement]) -> dict[str, Any]:
    """What the page shows of funding requests, matching grants, co-financing and the external-share chart;
    its ``matching_people`` are everyone the page names (on the tranches too)."""
    zone, moment = programme_zone(), now()
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
    positions = services.matching_positions_of(figures, initiative, requests)
    tranche_forms = {}
    if user_handles:
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
    chart = list(figures.share_rows)
    people = services.names_of({r.submitted_by_id for r in requests} | {r.decided_by_id for r in requests}
                               | {c.recorded_by_id for c in contributions}
                               | {c.verified_by_id for c in contributions}
                               | {c.rejected_by_id for c in contributions}
                               | {uid for d in disbursements for uid in (d.requested_by_id, d.approved_by_id,
                                                                          d.paid_by_id, d.rejected_by_id)})
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
    form.grant_id.choices = choices((p.grant.id, _("Matching grant %(number)s: %(basis)s (%(committed)s)",
                                                   number=p.grant.id, basis=p.grant.basis,
                                                   committed=format_money(p.grant.committed, p.grant.currency)))
                                    for p in positions)
    form.contributor_id.choices = choices([("", _("– not named –"))]
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
                      "title": (_("Year %(year)s: cap %(cap)s, paid nothing", year=row.year, cap=percent(row.cap))
                                if row.share is None else
                                _("Year %(year)s: cap %(cap)s, paid %(share)s", year=row.year, cap=percent(row.cap),
                                  share=percent(row.share)))})
    ticks = [(_coordinate(y_of(value)), f"{int(value * 100)} %")
             for value in tick_values(Fraction(0), Fraction(1), Fraction(1, 4))]
    paid_years = [r for r in rows if r.share is not None]
    caps = ", ".join(percent(r.cap) for r in rows)
    if paid_years:
        paid = "; ".join(_("year %(year)s: %(share)s", year=r.year, share=percent(r.share)) for r in paid_years)
        description = _("The external-share cap for programme years 1 to %(last)s (%(caps)s) drawn as a line, and the "
                        "share of programme money actually paid in each year as bars (%(paid)s).", last=len(rows),
                        caps=caps, paid=paid)
    else:
        description = _("The external-share cap for programme years 1 to %(last)s (%(caps)s) drawn as a line, and the "
                        "share of programme money actually paid in each year as bars; nothing has been paid or "
                        "co-financed yet.", last=len(rows), caps=caps)
    return ShareChart(width, height, left, top, bottom, ticks, years, " ".join(steps), description)


def back(initiative: Initiative, disbursement: Disbursement | None = None):
    """To the initiative's page, at the disbursement (or the list of them)."""
    anchor = f"disbursement-{disbursement.id}" if disbursement is not None else "disbursements"
    return redirect(url_for("funding.initiative", initiative_id=initiative.id, _anchor=anchor))


def to(initiative: Initiative, anchor: str):
    """To the initiative's page, at the anchor."""
    return redirect(url_for("funding.initiative", initiative_id=initiative.id, _anchor=anchor))
