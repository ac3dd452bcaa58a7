"""core.forms.ProgrammeForm, the base of every form (issue 14, finding 9): a NUL character in any text field and a
date outside the years a programme can hold are errors beside the field, never a 500 from the database or the
time-zone conversion."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from datetime import date

import pytest
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import DateField, DateTimeLocalField, StringField, TextAreaField
from wtforms.validators import DataRequired, Optional

import programme
from programme.core.forms import FIRST_YEAR, LAST_YEAR, ProgrammeForm


class _Sample(ProgrammeForm):
    class Meta:
        csrf = False

    name = StringField("Name", validators=[DataRequired()])
    note = TextAreaField("Note", validators=[Optional()])
    day = DateField("Day", validators=[Optional()])
    deadline = DateTimeLocalField("Deadline", format="%Y-%m-%dT%H:%M", validators=[Optional()])


def _form(**data: str) -> _Sample:
    return _Sample(formdata=MultiDict({"name": "Ada", **data}))


def test_a_clean_form_validates(app) -> None:
    with app.test_request_context():
        form = _form(note="fine", day="2026-12-06", deadline="2026-12-31T17:00")
        assert form.validate(), form.errors


@pytest.mark.parametrize("field", ["name", "note"])
def test_a_nul_character_is_an_error_beside_its_field(app, field: str) -> None:
    with app.test_request_context():
        form = _form(**{field: "Ada\x00Lovelace"})
        assert not form.validate()
        assert form.errors[field] == ["This contains a NUL character, which cannot be stored: remove it."]


@pytest.mark.parametrize(("field", "value"), [("day", "0001-01-01"), ("deadline", "0001-01-01T00:00"),
                                              ("deadline", "9999-12-31T23:59"), ("day", "1899-12-31")])
def test_a_date_outside_the_programmes_years_is_an_error_beside_its_field(app, field: str, value: str) -> None:
    with app.test_request_context():
        form = _form(**{field: value})
        assert not form.validate()
        assert form.errors[field] == [f"Give a date between the years {FIRST_YEAR} and {LAST_YEAR}."]


def test_the_first_and_last_years_are_accepted(app) -> None:
    with app.test_request_context():
        assert _form(day=date(FIRST_YEAR, 1, 1).isoformat(), deadline=f"{LAST_YEAR}-12-31T23:59").validate()


def test_every_form_of_the_app_is_a_programme_form() -> None:
    forms = []
    for module in pkgutil.walk_packages(programme.__path__, "programme."):
        if module.name.rsplit(".", 1)[-1] == "forms" or ".forms." in module.name:
            loaded = importlib.import_module(module.name)
            forms += [cls for _, cls in inspect.getmembers(loaded, inspect.isclass)
                      if issubclass(cls, FlaskForm) and cls.__module__ == loaded.__name__]
    assert len(forms) > 40
    assert [f.__qualname__ for f in forms if not issubclass(f, ProgrammeForm)] == []


def test_a_nul_in_a_registration_name_is_refused_beside_the_field(client) -> None:
    from programme.accounts.models import User
    from programme.extensions import db

    response = client.post("/register", data={"name": "Eve\x00", "email": "eve@example.org",
                                              "password": "a long unusual phrase 93", "confirm":
                                              "a long unusual phrase 93"})
    assert response.status_code == 200
    assert "NUL character" in response.get_data(as_text=True)
    assert db.session.query(User).filter_by(email="eve@example.org").count() == 0
