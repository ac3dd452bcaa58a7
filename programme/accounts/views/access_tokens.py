"""Personal access tokens on the account page: a person makes one for a program that uses the API in their name
(shown once, on the answer to the form, never in a cookie or a message kept for later), lists theirs, revokes one."""

from __future__ import annotations

from datetime import timedelta

from flask import flash, redirect, render_template, url_for
from flask_login import login_required

from programme.accounts.forms import AccessTokenForm
from programme.accounts.models import TokenScope
from programme.accounts.services import access_tokens
from programme.accounts.views._common import bp
from programme.core.forms import ActionForm
from programme.core.texts import gettext as _
from programme.core.timezone import now, programme_today
from programme.core.web import actor, attempt, programme_zone

#: The expiry the form proposes: three months from today.
PROPOSED_LIFE = timedelta(days=90)


def _page(form: AccessTokenForm, *, made: access_tokens.MadeToken | None = None, status: int = 200):
    return render_template("accounts/access_tokens.html", form=form, tokens=access_tokens.tokens_of(actor()),
                           made=made, moment=now(), revoke_form=ActionForm(formdata=None)), status


@bp.route("/account/tokens", methods=["GET"])
@login_required
def access_token_list():
    today = programme_today(programme_zone())
    return _page(AccessTokenForm(formdata=None, data={"expires_on": today + PROPOSED_LIFE}))


@bp.route("/account/tokens", methods=["POST"])
@login_required
def make_access_token():
    form = AccessTokenForm()
    if form.validate_on_submit():
        scopes = {TokenScope.READ, TokenScope.WRITE} if form.write.data else {TokenScope.READ}
        with attempt(form) as done:
            made = access_tokens.make_token(name=form.name.data, scopes=scopes, expires_on=form.expires_on.data,
                                            actor=actor(), now=now(), timezone=programme_zone())
        if done.ok:
            # The answer to the form shows the secret, once: it is not redirected to, kept or flashed.
            return _page(AccessTokenForm(formdata=None, data={
                "expires_on": programme_today(programme_zone()) + PROPOSED_LIFE}), made=made)
    return _page(form, status=422 if form.is_submitted() else 200)


@bp.route("/account/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_access_token(token_id: int):
    form = ActionForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            token = access_tokens.revoke_token(token_id, actor=actor(), now=now())
        if done.ok:
            flash(_("The token \u201c%(name)s\u201d is revoked: a program that uses it is refused from now on.",
                    name=token.name), "success")
    return redirect(url_for("accounts.access_token_list"))
