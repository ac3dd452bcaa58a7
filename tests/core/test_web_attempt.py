"""core.web.attempt: a view's one service call, committed once on success, rolled back on a refusal with the message
beside the field it names (or flashed, or kept for the page)."""

from __future__ import annotations

import pytest
from flask import get_flashed_messages
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import StringField

from programme.accounts import services as accounts
from programme.accounts.models import User
from programme.core.access import AccessDenied, Role, RuleViolation
from programme.core.web import attempt
from programme.extensions import db
from tests.conftest import PASSWORD, SETUP


class NameForm(FlaskForm):
    class Meta:
        csrf = False

    name = StringField("Name")


def _add_user(email: str) -> None:
    accounts.create_user(email=email, name="Someone", roles=(Role.APPLICANT,), password=PASSWORD, actor=SETUP)
    db.session.flush()


def _users() -> int:
    return db.session.scalar(select(func.count()).select_from(User)) or 0


def test_a_done_attempt_commits_once_and_is_ok(app):
    with app.test_request_context("/", method="POST"):
        form = NameForm()
        with attempt(form) as done:
            _add_user("done@example.org")
        assert done.ok and done.refused is None and done.message == ""
        db.session.rollback()  # nothing left to undo: the attempt committed
        assert _users() == 1


def test_a_refusal_that_names_a_field_goes_beside_it_and_nothing_is_kept(app):
    with app.test_request_context("/", method="POST"):
        form = NameForm()
        with attempt(form) as done:
            _add_user("refused@example.org")
            raise RuleViolation("That name is taken.", field="name")
        assert not done.ok and isinstance(done.refused, RuleViolation)
        assert form.name.errors == ["That name is taken."]
        assert get_flashed_messages() == []
        assert _users() == 0


def test_a_refusal_without_a_field_is_flashed_or_kept_for_the_page(app):
    with app.test_request_context("/", method="POST"):
        with attempt(NameForm()) as done:
            _add_user("flashed@example.org")
            raise RuleViolation("The call is closed.")
        assert not done.ok and get_flashed_messages(with_categories=True) == [("error", "The call is closed.")]
    with app.test_request_context("/", method="POST"):  # (a request reads its flashed messages once)
        with attempt(NameForm(), flash_unplaced=False) as kept:
            raise RuleViolation("The call is closed.")
        assert kept.message == "The call is closed." and get_flashed_messages() == []
        assert _users() == 0


def test_also_rolls_back_the_named_errors_and_any_other_error_passes_through(app):
    with app.test_request_context("/", method="POST"):
        with attempt(NameForm(), also=(AccessDenied,)) as done:
            _add_user("denied@example.org")
            raise AccessDenied("not yours")
        assert not done.ok and done.message == "not yours"
        assert _users() == 0
        with pytest.raises(ValueError), attempt(NameForm()):
            raise ValueError("a bug, not a refusal")
