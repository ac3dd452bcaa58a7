"""Staff users: enrolment by a manager, roles, and the role requests that wait for a second manager."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, flash, redirect, render_template, url_for
from flask_login import login_required
from wtforms.fields.choices import SelectChoice

from programme.accounts import services
from programme.accounts.forms import StaffUserForm, UserRolesForm
from programme.accounts.models import Organisation
from programme.accounts.views._common import bp, link_to
from programme.core.access import Role, require_role
from programme.core.forms import ActionForm, choices
from programme.core.texts import gettext as _
from programme.core.web import actor, attempt
from programme.extensions import db


def _organisation_choices() -> list[SelectChoice]:
    organisations = db.session.scalars(db.select(Organisation).order_by(Organisation.name)).all()
    return choices([(0, _("— none —")), *((o.id, f"{o.name} ({o.locality})") for o in organisations)])


def _enrolment_valid_for() -> timedelta:
    return timedelta(hours=current_app.config["ENROLMENT_LINK_HOURS"])


def _flash_requests(made: list) -> None:
    if made:
        flash(_("Waiting for a second programme manager's approval: %(roles)s.",
                roles=", ".join(r.role.label for r in made)), "info")


@bp.route("/manage/users")
@login_required
def users():
    require_role(actor(), Role.PROGRAMME_MANAGER)
    return render_template("accounts/users.html", users=services.list_users(),
                           requests=services.role_requests_waiting(), action_form=ActionForm())


@bp.route("/manage/users/new", methods=["GET", "POST"])
@login_required
def new_user():
    require_role(actor(), Role.PROGRAMME_MANAGER)
    form = StaffUserForm()
    form.organisation_id.choices = _organisation_choices()
    if form.validate_on_submit():
        with attempt(form) as done:
            user = services.enrol_user(
                email=form.email.data, name=form.name.data, roles=[Role(r) for r in form.roles.data],
                actor=actor(), organisation_id=form.organisation_id.data or None,
                link=link_to("accounts.enrol"), valid_for=_enrolment_valid_for(),
            )
            waiting = [r.label for r in map(Role, form.roles.data) if r in services.GUARDED_ROLES]
        if done.ok:
            flash(_("Account %(email)s opened: an enrolment link was mailed to the person.", email=user.email),
                  "success")
            if waiting:
                flash(_("Waiting for a second programme manager's approval: %(roles)s.", roles=", ".join(waiting)),
                      "info")
            return redirect(url_for("accounts.users"))
    return render_template("accounts/user_new.html", form=form)


@bp.route("/manage/users/<int:user_id>", methods=["GET", "POST"])
@login_required
def edit_user(user_id: int):
    user = services.get_user(user_id, actor=actor())
    form = UserRolesForm(data={"roles": [r.value for r in user.role_set], "active": user.active})
    if form.validate_on_submit():
        with attempt(form) as done:
            made = services.set_roles(user, [Role(r) for r in form.roles.data], actor=actor())
            if form.active.data != user.active:
                services.set_active(user, form.active.data, actor=actor())
        if done.ok:
            flash(_("Account %(email)s updated.", email=user.email), "success")
            _flash_requests(made)
            return redirect(url_for("accounts.users"))
    return render_template("accounts/user_edit.html", form=form, user=user, action_form=ActionForm())


@bp.route("/manage/users/<int:user_id>/enrolment", methods=["POST"])
@login_required
def resend_enrolment(user_id: int):
    user = services.get_user(user_id, actor=actor())
    if ActionForm().validate_on_submit():
        with attempt() as done:
            services.resend_enrolment(user, actor=actor(), link=link_to("accounts.enrol"),
                                      valid_for=_enrolment_valid_for())
        if done.ok:
            flash(_("A new enrolment link was mailed to %(email)s; the older one no longer works.", email=user.email),
                  "success")
    return redirect(url_for("accounts.edit_user", user_id=user.id))


@bp.route("/manage/role-requests/<int:request_id>/approve", methods=["POST"])
@login_required
def approve_role_request(request_id: int):
    role_request = services.get_role_request(request_id, actor=actor())
    if ActionForm().validate_on_submit():
        with attempt() as done:
            services.approve_role_request(role_request, actor=actor())
        if done.ok:
            flash(_("%(email)s now has the role %(role)s.", email=role_request.user.email,
                    role=role_request.role.label), "success")
    return redirect(url_for("accounts.users"))


@bp.route("/manage/role-requests/<int:request_id>/reject", methods=["POST"])
@login_required
def reject_role_request(request_id: int):
    role_request = services.get_role_request(request_id, actor=actor())
    if ActionForm().validate_on_submit():
        with attempt() as done:
            services.reject_role_request(role_request, actor=actor())
        if done.ok:
            flash(_("The role %(role)s for %(email)s was refused.", role=role_request.role.label,
                    email=role_request.user.email), "success")
    return redirect(url_for("accounts.users"))
