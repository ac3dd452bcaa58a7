"""The API's blueprint and what its routes share: the caller from its token before each request, throttling per
token, answers to refusals as problems that name their field, the one commit of a request that writes."""

from __future__ import annotations

from flask import Blueprint, current_app

from programme.api import auth
from programme.core.access import RuleViolation
from programme.core.texts import gettext as _
from programme.core.texts import pgettext
from programme.core.web import problem
from programme.extensions import csrf, db, limiter

API_PREFIX = "/api/v1"

bp = Blueprint("api", __name__, url_prefix=API_PREFIX)
# Programs send a token in a header, never a cookie: there is no form to forge, so no CSRF token to ask for.
csrf.exempt(bp)
bp.before_request(auth.authenticate)
bp.after_request(auth.finish_read)
limiter.limit(lambda: current_app.config["API_LIMIT_PER_TOKEN"], key_func=auth.token_key)(bp)


@bp.errorhandler(auth.Unauthenticated)
def unauthenticated(exc: auth.Unauthenticated):
    return problem(401, _("Not authenticated"), str(exc),
                   headers={"WWW-Authenticate": 'Bearer realm="programme", error="invalid_token"'})


@bp.errorhandler(RuleViolation)
def rule_violation(exc: RuleViolation):
    """A refusal by the programme's rules: 422, with the field it is about, as the page puts it beside the field."""
    db.session.rollback()
    errors = [{"field": exc.field, "message": exc.message}] if exc.field else []
    return problem(422, pgettext("problem", "Refused"), exc.message, errors)
