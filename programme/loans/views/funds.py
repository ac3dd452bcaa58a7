"""The funds, a fund's page (position, balance chart, capitalisations, loans), opening a fund and capitalising it."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import login_required

from programme.core.access import Role, require_role
from programme.core.forms import ActionForm
from programme.core.money import format_money
from programme.core.texts import gettext as _
from programme.core.timezone import format_day
from programme.core.web import actor, attempt, now, page_arg, programme_zone
from programme.dashboard.cache import data_version
from programme.funding import services as funding
from programme.loans import services
from programme.loans.forms import (
    CapitaliseForm,
)
from programme.loans.models import (
    RevolvingFund,
)
from programme.loans.services import approvals, guarantee_figures, portfolio, statements
from programme.loans.views import bp
from programme.loans.views._common import _administered_fund, _administers, _approvals_shown, _today


@bp.route("/funds")
@login_required
def funds():
    me = actor()
    listed = portfolio.funds_overview(actor=me, version=data_version(today=_today()), page=page_arg())
    waiting = None
    if any(me.has_role(r) for r in approvals.APPROVERS):
        waiting = len(services.pending_approvals(actor=me, for_me=True))
        if me.has_role(Role.FUND_ADMINISTRATOR):
            waiting += sum(statements.may_apply(s, me) for s in statements.waiting_statements(actor=me))
    return render_template("loans/funds.html", listed=listed, administers=_administers(),
                           waiting_for_you=waiting)


def _fund_page(fund: RevolvingFund, *, capitalise_form: CapitaliseForm | None = None, status: int = 200):
    today = _today()
    shown = portfolio.fund_page(fund, cash=lambda: services.fund_cash(fund), as_of=today,
                                version=data_version(today=today))
    administers = _administers()
    if administers and capitalise_form is None:
        capitalise_form = CapitaliseForm(formdata=None, data={"value_date": today})
    return render_template(
        "loans/fund.html", fund=fund, initiative=fund.initiative, position=shown.position, chart=shown.chart,
        table=shown.table, capitalisations=services.capitalisations_of(fund), loans=shown.loans,
        loan_count=shown.loan_count, administers=administers, capitalise_form=capitalise_form,
        guaranteed=guarantee_figures.fund_guarantees(fund.id), share_text=guarantee_figures.format_share,
        **_approvals_shown(fund=fund),
    ), status



@bp.route("/funds/<int:fund_id>")
@login_required
def fund(fund_id: int):
    return _fund_page(services.get_fund(fund_id, actor=actor()))


@bp.route("/initiatives/<int:initiative_id>/fund", methods=["GET", "POST"])
@login_required
def initiative_fund(initiative_id: int):
    """The initiative's revolving fund: a redirect to its page; a fund administrator opens it if it has none."""
    initiative = funding.get_initiative(initiative_id, actor=actor())
    if request.method == "POST":
        require_role(actor(), Role.FUND_ADMINISTRATOR)
    existing = services.existing_fund(initiative)
    if existing is not None:
        return redirect(url_for("loans.fund", fund_id=existing.id))
    if request.method == "POST" and ActionForm().validate_on_submit():
        with attempt() as done:
            fund_id = services.open_fund(initiative, actor=actor()).id
        if not done.ok:
            return redirect(url_for("funding.initiative", initiative_id=initiative.id))
        flash(_("The revolving fund of %(initiative)s is open: capitalise it to lend.",
                initiative=initiative.reference), "success")
        return redirect(url_for("loans.fund", fund_id=fund_id))
    return render_template("loans/no_fund.html", initiative=initiative, administers=_administers(),
                           action_form=ActionForm())


@bp.route("/funds/<int:fund_id>/capitalisations", methods=["POST"])
@login_required
def capitalise(fund_id: int):
    fund = _administered_fund(fund_id)
    form = CapitaliseForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            made = services.capitalise_fund(
                fund, amount=form.amount.data, value_date=form.value_date.data,
                bank_reference=form.bank_reference.data.strip(), note=(form.note.data or "").strip(), actor=actor(),
                now=now(), timezone=programme_zone())
            message = _("%(amount)s put into the fund of %(initiative)s on %(day)s, reference %(reference)s.",
                        amount=format_money(made.amount, fund.currency), initiative=fund.initiative.reference,
                        day=format_day(made.value_date), reference=made.bank_reference)
        if done.ok:
            flash(message, "success")
            return redirect(url_for("loans.fund", fund_id=fund_id, _anchor="capitalisations"))
    return _fund_page(fund, capitalise_form=form)
