"""Moments entered the way they are shown (issue 16, item 11): core.fields.DayTimeField, the date-and-time field of
every form (a call's opening and deadline, the review deadline), reads a day as DayField does followed by the
24-hour time ("6 Dec 2026 17:00"; ISO "2026-12-06T17:00" too), shows it back that way, and refuses anything else
with a message that says how to write it, never a 500."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from datetime import datetime

import pytest
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import DateField, DateTimeField
from wtforms.fields.core import UnboundField
from wtforms.validators import InputRequired, Optional

import programme
from programme.config import PROJECT_ROOT
from programme.core.fields import DayTimeField, read_moment
from programme.core.forms import FIRST_YEAR, LAST_YEAR, ProgrammeForm

HOW = "Write the day and time as day month year hours:minutes, for example 6 Dec 2026 17:00."


class _Moments(ProgrammeForm):
    class Meta:
        csrf = False

    deadline = DayTimeField("Deadline", validators=[InputRequired(message="Give the deadline.")],
                            description="In the programme's time zone.")
    opens = DayTimeField("Opens", validators=[Optional()])


def _form(**typed: str) -> _Moments:
    return _Moments(formdata=MultiDict({"deadline": "6 Dec 2026 17:00", **typed}))


@pytest.mark.parametrize(("typed", "moment"), [
    ("6 Dec 2026 17:00", datetime(2026, 12, 6, 17, 0)),
    ("6 Dec 2026, 17:00", datetime(2026, 12, 6, 17, 0)),  # as pages write a moment, without the zone
    ("6 December 2026 09:30", datetime(2026, 12, 6, 9, 30)),
    ("06/12/2026 9:30", datetime(2026, 12, 6, 9, 30)),
    ("6.12.2026 00:00", datetime(2026, 12, 6, 0, 0)),
    ("Sunday 6 Dec 2026 23:59", datetime(2026, 12, 6, 23, 59)),
    ("  6 Dec 2026   17:00  ", datetime(2026, 12, 6, 17, 0)),
    ("03/04/2026 12:00", datetime(2026, 4, 3, 12, 0)),  # digits day first, as DayField reads them
    ("2026-12-06T17:00", datetime(2026, 12, 6, 17, 0)),  # what a datetime-local input posted, and the tests post
    ("2026-12-06 17:00", datetime(2026, 12, 6, 17, 0)),
])
def test_a_day_and_a_time_are_read(typed: str, moment: datetime) -> None:
    assert read_moment(typed) == moment


@pytest.mark.parametrize(("typed", "message"), [
    ("12/31/2026 17:00", "Write the day before the month."),  # month first: refused, never guessed
    ("31/02/2026 17:00", "That day does not exist: check the day and the month."),
    ("Monday 6 Dec 2026 17:00", "6 Dec 2026 is a Sunday, not a Monday"),
    ("6 Dec 2026", "Give the time as well as the day."),  # a deadline at midnight is never guessed
    ("12/31/2026", "Write the day before the month."),
    ("6 Dec 2026 24:00", "That time does not exist"),
    ("6 Dec 2026 17:60", "That time does not exist"),
    ("6 Dec 2026 5pm", HOW),  # 24-hour only
    ("6 Dec 2026 5:00 pm", HOW),
    ("6 Dec 2026 17.00", HOW),
    ("6 Dec 2026 17h00", HOW),
    ("6 Dec 2026 17:00:00", HOW),
    ("6 Dec 2026 117:00", HOW),
    ("6 Dec 2026 17:00 SAST", HOW),  # the zone is the programme's, never typed
    ("2026-12-06T17:00Z", HOW),
    ("2026-12-06T17:00:00", HOW),
    ("17:00 6 Dec 2026", HOW),
    ("17:00", HOW),
    ("tomorrow at five", HOW),
    ("6 Dec 2026 17:00" + " " * 40 + "x", HOW),
    ("   ", HOW),
])
def test_anything_else_is_refused_saying_how_to_write_a_moment(typed: str, message: str) -> None:
    with pytest.raises(ValueError) as refused:
        read_moment(typed)
    assert message in str(refused.value)
    assert str(refused.value).endswith(HOW)


def test_the_form_reads_a_moment_and_an_empty_optional_one(app) -> None:
    with app.test_request_context():
        form = _form(deadline="1 Mar 2027 17:00", opens="")
        assert form.validate(), form.errors
        assert (form.deadline.data, form.opens.data) == (datetime(2027, 3, 1, 17, 0), None)


@pytest.mark.parametrize(("typed", "message"), [
    ({"deadline": ""}, "Give the deadline."),
    ({"deadline": "31/02/2026 17:00"}, "That day does not exist: check the day and the month. " + HOW),
    ({"deadline": "04/13/2026 17:00"}, "Write the day before the month. " + HOW),
    ({"deadline": "6 Dec 2026"}, "Give the time as well as the day. " + HOW),
    ({"deadline": "1/1/1899 12:00"}, f"Give a date between the years {FIRST_YEAR} and {LAST_YEAR}."),
    ({"opens": "5pm"}, HOW),
])
def test_a_refused_moment_is_one_message_beside_its_field(app, typed: dict, message: str) -> None:
    with app.test_request_context():
        form = _form(**typed)
        assert not form.validate()
        (field,) = typed
        assert form.errors == {field: [message]}


def test_the_input_is_text_with_the_format_as_placeholder_and_hint(app) -> None:
    with app.test_request_context():
        form = _Moments(formdata=None, data={"deadline": datetime(2026, 12, 6, 9, 5)})
        shown = form.deadline()
        assert 'type="text"' in shown and "datetime-local" not in shown
        assert 'value="6 Dec 2026 09:05"' in shown
        assert 'placeholder="6 Dec 2026 17:00"' in shown
        assert 'autocomplete="off"' in shown and 'inputmode="text"' in shown
        assert form.deadline.description == ("In the programme's time zone. Day month year and the time, 24-hour, "
                                             "for example 6 Dec 2026 17:00.")
        assert 'value=""' in form.opens()


def test_a_moment_read_is_shown_as_pages_write_it_and_a_refused_one_as_typed(app) -> None:
    with app.test_request_context():
        form = _form(deadline="2026-12-06T17:00", opens="6 Dec 2026 5pm")
        form.validate()
        assert 'value="6 Dec 2026 17:00"' in form.deadline()
        assert 'value="6 Dec 2026 5pm"' in form.opens()


def test_the_field_follows_the_configured_date_format(app) -> None:
    app.config["DATE_FORMAT"] = "%d/%m/%Y"
    with app.test_request_context():
        form = _Moments(formdata=None, data={"deadline": datetime(2026, 4, 3, 8, 30)})
        assert 'value="03/04/2026 08:30"' in form.deadline() and 'placeholder="06/12/2026 17:00"' in form.deadline()
        again = _form(deadline="03/04/2026 08:30", opens="yesterday")  # what it shows reads back as the same moment
        assert not again.validate()
        assert again.deadline.data == datetime(2026, 4, 3, 8, 30)
        assert again.errors["opens"] == [
            "Write the day and time as day month year hours:minutes, for example 06/12/2026 17:00."]


def test_every_date_and_time_field_of_the_app_is_a_day_time_field() -> None:
    timed = []
    for module in pkgutil.walk_packages(programme.__path__, "programme."):
        if module.name.rsplit(".", 1)[-1] == "forms" or ".forms." in module.name:
            loaded = importlib.import_module(module.name)
            for _, form in inspect.getmembers(loaded, inspect.isclass):
                if issubclass(form, FlaskForm) and form.__module__ == loaded.__name__:
                    timed += [(form.__qualname__, name, unbound.field_class)
                              for name, unbound in inspect.getmembers(form, lambda v: isinstance(v, UnboundField))
                              if issubclass(unbound.field_class, DateTimeField)
                              and not issubclass(unbound.field_class, DateField)]
    assert {(form, name) for form, name, _ in timed} >= {("CallDraftForm", "opens_at"), ("CallDraftForm", "closes_at"),
                                                          ("DeadlineForm", "deadline")}
    assert [(form, name) for form, name, cls in timed if not issubclass(cls, DayTimeField)] == []


def test_no_template_writes_a_browser_date_and_time_input() -> None:
    found = [str(path) for path in (PROJECT_ROOT / "templates").rglob("*.html")
             if re.search(r"""type=["']?(datetime-local|time|month|week)\b""", path.read_text(encoding="utf-8"))]
    assert found == []
