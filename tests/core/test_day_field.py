"""Dates entered the way they are shown (issue 16, item 11): core.fields.DayField, the date field of every form,
reads a day typed day before month ("6 Dec 2026", "06/12/2026", "6.12.2026", ISO too), shows it back as pages write
it, and refuses anything else with a message that says how to write it, never a 500."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from datetime import date

import pytest
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import DateField
from wtforms.fields.core import UnboundField
from wtforms.validators import InputRequired, Optional

import programme
from programme.config import PROJECT_ROOT
from programme.core.access import Role
from programme.core.fields import DayField, read_day
from programme.core.forms import FIRST_YEAR, LAST_YEAR, ProgrammeForm

HOW = "Write the day as day month year, for example 6 Dec 2026."


class _Days(ProgrammeForm):
    class Meta:
        csrf = False

    due = DayField("Due", validators=[InputRequired(message="Give the day it is due.")],
                   description="Not after today.")
    since = DayField("Since", validators=[Optional()])


def _form(**typed: str) -> _Days:
    return _Days(formdata=MultiDict({"due": "6 Dec 2026", **typed}))


@pytest.mark.parametrize(("typed", "day"), [
    ("6 Dec 2026", date(2026, 12, 6)),
    ("06 Dec 2026", date(2026, 12, 6)),
    ("6 December 2026", date(2026, 12, 6)),
    ("6 DECEMBER 2026", date(2026, 12, 6)),
    ("6 dec 2026", date(2026, 12, 6)),
    ("6-Dec-2026", date(2026, 12, 6)),
    ("6 Sept 2026", date(2026, 9, 6)),
    ("06/12/2026", date(2026, 12, 6)),
    ("6/12/2026", date(2026, 12, 6)),
    ("6.12.2026", date(2026, 12, 6)),
    ("06-12-2026", date(2026, 12, 6)),
    ("  6 Dec 2026  ", date(2026, 12, 6)),
    ("Sunday 6 Dec 2026", date(2026, 12, 6)),
    ("2026-12-06", date(2026, 12, 6)),  # ISO: what the tests and old links post
    ("2026-06-12", date(2026, 6, 12)),  # ISO is year, month, day, not dateutil's dayfirst reading (12 Jun -> 6 Dec)
    ("2026/12/06", date(2026, 12, 6)),
    ("03/04/2026", date(2026, 4, 3)),  # ambiguous digits: day first, the 3rd of April
    ("3.4.2026", date(2026, 4, 3)),
    ("2026-04-03", date(2026, 4, 3)),
    ("3/4/26", date(2026, 4, 3)),  # a two-digit year
    ("6 Dec 26", date(2026, 12, 6)),
    ("29/02/2028", date(2028, 2, 29)),
])
def test_a_day_typed_day_first_is_read(typed: str, day: date) -> None:
    assert read_day(typed) == day


@pytest.mark.parametrize(("typed", "message"), [
    ("12/31/2026", "Write the day before the month."),  # month first: refused, never guessed
    ("12.31.26", "Write the day before the month."),
    ("31/02/2026", "That day does not exist: check the day and the month."),
    ("29/02/2027", "That day does not exist"),
    ("2026-02-30", "That day does not exist"),
    ("2026-13-01", "That day does not exist"),
    ("0/12/2026", "That day does not exist"),
    ("Monday 6 Dec 2026", "6 Dec 2026 is a Sunday, not a Monday"),
    ("6 Dec", HOW),
    ("Dec 2026", HOW),
    ("20261206", HOW),
    ("061226", HOW),
    ("6/12/026", HOW),
    ("6 Dec 2026 15:00", HOW),
    ("6 Dec 2026 UTC", HOW),
    ("6 Foo 2026", HOW),
    ("tomorrow", HOW),
    ("6/12/99999999999999999999999", HOW),
    ("6 Dec 2026" + " " * 40 + "x", HOW),
    ("   ", HOW),
])
def test_anything_else_is_refused_saying_how_to_write_a_day(typed: str, message: str) -> None:
    with pytest.raises(ValueError) as refused:
        read_day(typed)
    assert message in str(refused.value)
    assert str(refused.value).endswith(HOW)


def test_the_form_reads_a_day_and_an_empty_optional_one(app) -> None:
    with app.test_request_context():
        form = _form(due="03/04/2026", since="")
        assert form.validate(), form.errors
        assert (form.due.data, form.since.data) == (date(2026, 4, 3), None)


@pytest.mark.parametrize(("typed", "message"), [
    ({"due": ""}, "Give the day it is due."),
    ({"due": "31/02/2026"}, "That day does not exist: check the day and the month. " + HOW),
    ({"due": "   "}, HOW),
    ({"due": "04/13/2026"}, "Write the day before the month. " + HOW),
    ({"due": "1/1/1899"}, f"Give a date between the years {FIRST_YEAR} and {LAST_YEAR}."),
    ({"since": "yesterday"}, HOW),
])
def test_a_refused_day_is_one_message_beside_its_field(app, typed: dict, message: str) -> None:
    with app.test_request_context():
        form = _form(**typed)
        assert not form.validate()
        (field,) = typed
        assert form.errors == {field: [message]}


def test_the_input_is_text_with_the_format_as_placeholder_and_hint(app) -> None:
    with app.test_request_context():
        form = _Days(formdata=None, data={"due": date(2026, 12, 6)})
        shown = form.due()
        assert 'type="text"' in shown and 'type="date"' not in shown
        assert 'value="6 Dec 2026"' in shown
        assert 'placeholder="6 Dec 2026"' in shown
        assert 'autocomplete="off"' in shown and 'inputmode="text"' in shown
        assert form.due.description == "Not after today. Day month year, for example 6 Dec 2026."
        assert form.since.description == "Day month year, for example 6 Dec 2026."
        assert 'value=""' in form.since()


def test_a_day_read_is_shown_as_pages_write_it_and_a_refused_one_as_typed(app) -> None:
    with app.test_request_context():
        form = _form(due="6/12/2026", since="31/02/2026")
        form.validate()
        assert 'value="6 Dec 2026"' in form.due()
        assert 'value="31/02/2026"' in form.since()


def test_the_field_follows_the_configured_date_format(app) -> None:
    app.config["DATE_FORMAT"] = "%d/%m/%Y"
    with app.test_request_context():
        form = _Days(formdata=None, data={"due": date(2026, 4, 3)})
        assert 'value="03/04/2026"' in form.due() and 'placeholder="06/12/2026"' in form.due()
        again = _form(due="03/04/2026", since="yesterday")  # what it shows reads back as the same day
        assert not again.validate()
        assert again.due.data == date(2026, 4, 3)
        assert again.errors["since"] == ["Write the day as day month year, for example 06/12/2026."]


def test_every_date_field_of_the_app_is_a_day_field() -> None:
    dated = []
    for module in pkgutil.walk_packages(programme.__path__, "programme."):
        if module.name.rsplit(".", 1)[-1] == "forms" or ".forms." in module.name:
            loaded = importlib.import_module(module.name)
            for _, form in inspect.getmembers(loaded, inspect.isclass):
                if issubclass(form, FlaskForm) and form.__module__ == loaded.__name__:
                    dated += [(form.__qualname__, name, unbound.field_class)
                              for name, unbound in inspect.getmembers(form, lambda v: isinstance(v, UnboundField))
                              if issubclass(unbound.field_class, DateField)]
    assert len(dated) >= 14
    assert [(form, name) for form, name, cls in dated if not issubclass(cls, DayField)] == []


def test_no_template_writes_a_browser_date_input() -> None:
    found = [str(path) for path in (PROJECT_ROOT / "templates").rglob("*.html")
             if re.search(r"""type=["']?date\b""", path.read_text(encoding="utf-8"))]
    assert found == []


@pytest.mark.parametrize(("url", "status", "seen"), [
    ("/audit?date_from=31/02/2026", 400, "That day does not exist"),
    ("/audit?date_from=12/31/2026", 400, "Write the day before the month."),
    ("/audit?date_from=6/12/2026&date_to=6%20December%202026", 200, 'value="6 Dec 2026"'),
    ("/ledger?as_of=31.02.2026", 400, "That day does not exist"),
    ("/ledger?as_of=3/4/2026", 200, "on or before 3 Apr 2026"),
])
def test_a_page_answers_a_typed_day_with_a_message_never_a_500(client, login, make_user, url, status, seen) -> None:
    login(make_user("auditor@days.example.org", Role.AUDITOR))
    response = client.get(url)
    assert response.status_code == status
    page = response.get_data(as_text=True)
    assert seen in page
    if status == 400:
        assert re.search(r'<div class="field has-error">.*?role="alert">[^<]*' + HOW, page, re.S)
