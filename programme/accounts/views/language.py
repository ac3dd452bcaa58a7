"""The language switch every page carries: a visitor's choice is kept in the session, a logged-in person's on
their account (so it follows them to another browser, and their mail and exports are in it too)."""

from __future__ import annotations

from flask import redirect, session, url_for
from flask_login import current_user

from programme.accounts import services
from programme.accounts.forms import LanguageForm
from programme.accounts.views._common import bp
from programme.core.i18n import SESSION_KEY
from programme.core.web import actor, attempt, safe_next
from programme.extensions import csrf


@bp.route("/language", methods=["POST"])
@csrf.exempt
def choose_language():
    """A visitor's switch carries no form token, so that a page for visitors sets no cookie of its own (the public
    pages are cached as the same for everyone): what it changes is only that browser's language. A logged-in
    person's switch changes their account, so it carries the token and is checked as every form is."""
    if current_user.is_authenticated:
        csrf.protect()
    form = LanguageForm(meta={"csrf": False})
    if form.validate_on_submit():
        session[SESSION_KEY] = form.language.data
        if current_user.is_authenticated:
            with attempt(form):
                services.set_language(current_user._get_current_object(), form.language.data, actor=actor())
    return redirect(safe_next(form.next.data) or url_for("home.index"))
