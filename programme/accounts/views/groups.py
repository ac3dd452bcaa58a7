"""Applicant groups, their organisations, members and invitations."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from programme.accounts import services
from programme.accounts.forms import GroupForm, InviteForm, OrganisationForm
from programme.accounts.models import OrganisationType, SizeClass
from programme.accounts.views._common import bp
from programme.core.access import Role, require_role
from programme.core.forms import ActionForm
from programme.core.texts import gettext as _
from programme.core.web import actor, attempt, commit

# Applicant groups ------------------------------------------------------------------------------


@bp.route("/groups")
@login_required
def groups():
    mine = services.groups_of(current_user)
    everyone = services.list_groups(actor=actor()) if current_user.has_role(Role.PROGRAMME_MANAGER) else []
    invitations = services.pending_invitations_for(current_user)
    return render_template("accounts/groups.html", groups=mine, all_groups=everyone, invitations=invitations,
                           can_create=current_user.has_role(Role.APPLICANT))


@bp.route("/groups/new", methods=["GET", "POST"])
@login_required
def new_group():
    require_role(actor(), Role.APPLICANT)
    form = GroupForm()
    if form.validate_on_submit():
        group = services.create_group(name=form.name.data, description=form.description.data or "", actor=actor())
        commit()
        flash(_("Group created. Add its member organisations next."), "success")
        return redirect(url_for("accounts.group", group_id=group.id))
    return render_template("accounts/group_form.html", form=form, group=None)


@bp.route("/groups/<int:group_id>")
@login_required
def group(group_id: int):
    group = services.get_group(group_id, actor=actor())
    return render_template(
        "accounts/group.html", group=group, invite_form=InviteForm(), action_form=ActionForm(),
        can_edit=group.can_edit(current_user), can_manage=group.can_manage_members(current_user),
    )


@bp.route("/groups/<int:group_id>/edit", methods=["GET", "POST"])
@login_required
def edit_group(group_id: int):
    group = services.get_group_for_edit(group_id, actor=actor())
    form = GroupForm(obj=group)
    if form.validate_on_submit():
        services.update_group(group, name=form.name.data, description=form.description.data or "", actor=actor())
        commit()
        flash(_("Group updated."), "success")
        return redirect(url_for("accounts.group", group_id=group.id))
    return render_template("accounts/group_form.html", form=form, group=group)


def _organisation_data(form: OrganisationForm) -> services.OrganisationData:
    return services.OrganisationData(
        name=form.name.data, kind=OrganisationType(form.kind.data), locality=form.locality.data,
        size_class=SizeClass(form.size_class.data) if form.size_class.data else None, sector=form.sector.data,
    )


@bp.route("/groups/<int:group_id>/organisations/new", methods=["GET", "POST"])
@login_required
def new_organisation(group_id: int):
    group = services.get_group_for_edit(group_id, actor=actor())
    form = OrganisationForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            organisation = services.add_organisation(group, _organisation_data(form), actor=actor())
        if done.ok:
            flash(_("%(name)s added to the group.", name=organisation.name), "success")
            return redirect(url_for("accounts.group", group_id=group.id))
    return render_template("accounts/organisation_form.html", form=form, group=group, organisation=None)


@bp.route("/groups/<int:group_id>/organisations/<int:organisation_id>", methods=["GET", "POST"])
@login_required
def edit_organisation(group_id: int, organisation_id: int):
    group = services.get_group_for_edit(group_id, actor=actor())
    organisation = services.get_group_organisation(group, organisation_id)
    form = OrganisationForm(obj=organisation, data={
        "kind": organisation.kind.value, "size_class": organisation.size_class.value if organisation.size_class else ""
    } if request.method == "GET" else None)
    if form.validate_on_submit():
        with attempt(form) as done:
            services.update_organisation(group, organisation, _organisation_data(form), actor=actor())
        if done.ok:
            flash(_("%(name)s updated.", name=organisation.name), "success")
            return redirect(url_for("accounts.group", group_id=group.id))
    return render_template("accounts/organisation_form.html", form=form, group=group, organisation=organisation)


@bp.route("/groups/<int:group_id>/organisations/<int:organisation_id>/remove", methods=["POST"])
@login_required
def remove_organisation(group_id: int, organisation_id: int):
    group = services.get_group_for_edit(group_id, actor=actor())
    organisation = services.get_group_organisation(group, organisation_id)
    if ActionForm().validate_on_submit():
        services.remove_organisation(group, organisation, actor=actor())
        commit()
        flash(_("%(name)s removed from the group.", name=organisation.name), "success")
    return redirect(url_for("accounts.group", group_id=group.id))


@bp.route("/groups/<int:group_id>/invite", methods=["POST"])
@login_required
def invite(group_id: int):
    group = services.get_group(group_id, actor=actor())
    form = InviteForm()
    if form.validate_on_submit():
        with attempt() as done:  # a refusal is flashed: the form is not shown again
            services.invite(group, form.email.data, actor=actor(),
                            accept_url=url_for("accounts.invitation", token="__token__", _external=True))
        if done.ok:
            flash(_("Invitation sent to %(email)s.", email=form.email.data), "success")
    else:
        for error in form.email.errors:
            flash(error, "error")
    return redirect(url_for("accounts.group", group_id=group.id))


@bp.route("/groups/<int:group_id>/invitations/<int:invitation_id>/revoke", methods=["POST"])
@login_required
def revoke_invitation(group_id: int, invitation_id: int):
    group = services.get_group(group_id, actor=actor())
    if ActionForm().validate_on_submit():
        services.revoke_invitation(group, invitation_id, actor=actor())
        commit()
        flash(_("Invitation withdrawn."), "success")
    return redirect(url_for("accounts.group", group_id=group.id))


@bp.route("/groups/<int:group_id>/members/<int:user_id>/remove", methods=["POST"])
@login_required
def remove_member(group_id: int, user_id: int):
    group = services.get_group(group_id, actor=actor())
    if ActionForm().validate_on_submit():
        services.remove_member(group, user_id, actor=actor())
        commit()
        flash(_("The person no longer acts for the group."), "success")
    return redirect(url_for("accounts.group", group_id=group.id))


@bp.route("/groups/<int:group_id>/members/<int:user_id>/lead", methods=["POST"])
@login_required
def make_lead(group_id: int, user_id: int):
    group = services.get_group(group_id, actor=actor())
    if ActionForm().validate_on_submit():
        services.make_lead(group, user_id, actor=actor())
        commit()
        flash(_("The lead contact has changed."), "success")
    return redirect(url_for("accounts.group", group_id=group.id))


@bp.route("/invitations/<token>", methods=["GET", "POST"])
@login_required
def invitation(token: str):
    invitation = services.get_invitation(token, actor=actor())
    form = ActionForm()
    if form.validate_on_submit():
        group = services.accept_invitation(invitation, actor=actor())
        commit()
        flash(_("You now act for %(group)s.", group=group.name), "success")
        return redirect(url_for("accounts.group", group_id=group.id))
    return render_template("accounts/invitation.html", invitation=invitation, form=form)
