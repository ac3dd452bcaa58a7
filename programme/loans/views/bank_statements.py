"""The bank-statement import: check a statement, store it, apply or reject it."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import login_required

from programme.core.access import Role, require_role
from programme.core.forms import ActionForm
from programme.core.money import format_money
from programme.core.texts import gettext as _
from programme.core.web import actor, attempt, now, programme_zone
from programme.extensions import db
from programme.loans.forms import (
    DecisionForm,
    StatementForm,
)
from programme.loans.models import (
    BankStatementImport,
    StatementStatus,
)
from programme.loans.services import statements
from programme.loans.views import bp


def _statements_page(form: StatementForm, *, check: statements.StatementCheck | None = None,
                     applied: BankStatementImport | None = None, summary: Any = None,
                     stored: BankStatementImport | None = None):
    imports, count = statements.recent_imports(actor=actor())
    waiting = statements.waiting_statements(actor=actor())
    me = actor()
    return render_template("loans/statements.html", form=form, check=check, applied=applied, summary=summary,
                           imports=imports, import_count=count, stored=stored, waiting=waiting,
                           may_apply=lambda statement: statements.may_apply(statement, me),
                           decision_form=DecisionForm(formdata=None))


@bp.route("/bank-statements", methods=["GET", "POST"])
@login_required
def bank_statements():
    require_role(actor(), Role.FUND_ADMINISTRATOR)
    form = StatementForm()
    if request.method == "GET" or not form.validate_on_submit():
        return _statements_page(form)
    upload = form.statement.data
    check = statements.check_statement(upload.stream, upload.filename or "statement.xlsx", actor=actor(), now=now(),
                                       timezone=programme_zone())
    if not check.ok:
        db.session.rollback()
        return _statements_page(form, check=check)
    summary = check.summary
    with attempt(flash_unplaced=False) as done:  # a refusal is listed with the statement's other errors
        stored = statements.store_checked_statement(check, actor=actor(), now=now())
        stored_id = stored.id
    if not done.ok:
        check.errors.append(done.message)
        return _statements_page(form, check=check)
    kept = db.session.get(BankStatementImport, stored_id) if stored_id is not None else stored
    if kept is None or kept.status != StatementStatus.CHECKED:  # nothing new in it: applied before
        return _statements_page(StatementForm(formdata=None), check=check, applied=kept or stored, summary=summary)
    return _statements_page(StatementForm(formdata=None), check=check, summary=summary, stored=kept)


@bp.route("/bank-statements/<int:statement_id>/apply", methods=["POST"])
@login_required
def apply_statement(statement_id: int):
    statement = statements.get_statement(statement_id, actor=actor())
    if ActionForm().validate_on_submit():
        with attempt() as done:
            applied = statements.apply_statement(statement, actor=actor(), now=now(), timezone=programme_zone())
            message = _("%(filename)s applied: %(rows)s row(s), %(total)s received.", filename=applied.filename,
                        rows=applied.applied, total=format_money(applied.total, ""))
        if done.ok:
            flash(message, "success")
    return redirect(url_for("loans.bank_statements"))


@bp.route("/bank-statements/<int:statement_id>/reject", methods=["POST"])
@login_required
def reject_statement(statement_id: int):
    statement = statements.get_statement(statement_id, actor=actor())
    form = DecisionForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            statements.reject_statement(statement, reason=form.reason.data.strip(), actor=actor(), now=now())
        if done.ok:
            flash(_("%(filename)s rejected: nothing of it was applied.", filename=statement.filename), "success")
    else:
        flash(_("Give the reason for the rejection."), "error")
    return redirect(url_for("loans.bank_statements"))
