"""One date format everywhere (issue 16, item 11): pages, messages and notifications write a day with
core.timezone.format_day and the configuration's DATE_FORMAT ("6 Dec 2026" by default), a moment with format_local;
no other style ("06 Dec 2026", "2026-12-06", "2026-12-06 15:00 UTC") in text shown to people. Exports keep ISO
dates or real date cells, where a machine reads them."""

from __future__ import annotations

import ast
import re
from datetime import UTC, date, datetime

import pytest
from flask import has_app_context

from programme.config import PROJECT_ROOT
from programme.core.access import Role
from programme.core.timezone import DATE_FORMAT, date_pattern, format_day, format_local

#: Calls whose text is shown to people: a flash, a refusal beside a field or above a form, a notification.
_SHOWN = {"flash", "RuleViolation", "ValidationError", "notify"}
#: A strftime spec that writes a day for people to read (a month's name, or day, month and year with separators);
#: a reference's year (CALL-2026-), a file name's stamp (20261206-1700) and a time after a day are not.
_A_DAY_FOR_PEOPLE = re.compile(r"%-?[bB]|%-?d[ ./,-]+%-?m|%-?m[ ./,-]+%-?d|%Y-%m")


def test_a_day_is_written_day_month_year_by_default_and_as_configured(app) -> None:
    assert DATE_FORMAT == "%-d %b %Y" == app.config["DATE_FORMAT"]
    assert format_day(date(2026, 12, 6)) == "6 Dec 2026"  # not zero-padded, not ISO
    assert format_day(None) == "–"
    with app.app_context():
        assert date_pattern() == "%-d %b %Y"
        app.config["DATE_FORMAT"] = "%d.%m.%Y"
        assert date_pattern() == "%d.%m.%Y"
        assert format_day(date(2026, 12, 6)) == "06.12.2026"
        assert format_day(date(2026, 12, 6), "%-d %B %Y") == "6 December 2026"  # an explicit pattern wins
        assert format_local(datetime(2026, 12, 6, 15, 0, tzinfo=UTC), "Africa/Johannesburg") == "06.12.2026, 17:00 SAST"


def test_outside_an_app_a_day_is_written_the_default_way() -> None:
    assert not has_app_context()
    assert date_pattern() == DATE_FORMAT
    assert format_day(date(2026, 12, 6)) == "6 Dec 2026"


def test_a_moment_is_the_day_then_the_24_hour_time_in_the_programme_zone() -> None:
    moment = datetime(2027, 3, 23, 15, 0, tzinfo=UTC)
    assert format_local(moment, "Africa/Johannesburg") == "23 Mar 2027, 17:00 SAST"
    assert format_local(moment, "Africa/Johannesburg", with_zone=False) == "23 Mar 2027, 17:00"
    assert format_local(None, "UTC") == "–"


def _shown_text_with_a_date_style(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, what) of each f-string given to a call in _SHOWN that writes a date by itself: .isoformat() or a
    strftime spec ({day:%d %b %Y})."""
    found = []
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call):
            continue
        name = call.func.id if isinstance(call.func, ast.Name) else getattr(call.func, "attr", "")
        if name not in _SHOWN:
            continue
        for node in ast.walk(call):
            if isinstance(node, ast.FormattedValue) and isinstance(node.format_spec, ast.JoinedStr):
                spec = "".join(part.value for part in node.format_spec.values if isinstance(part, ast.Constant))
                if "%" in spec:
                    found.append((node.lineno, spec))
            elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") in {"isoformat", "strftime"}:
                found.append((node.lineno, node.func.attr))
    return found


def test_no_message_writes_a_day_in_a_style_of_its_own() -> None:
    found = []
    for path in sorted((PROJECT_ROOT / "programme").rglob("*.py")):
        if "migrations" in path.parts:
            continue
        source = path.read_text(encoding="utf-8")
        found += [f"{path.relative_to(PROJECT_ROOT)}:{line}: {what}"
                  for line, what in _shown_text_with_a_date_style(ast.parse(source))]
        # Anywhere else, an f-string writes no day for people by itself (a reference's year, a file's stamp only).
        found += [f"{path.relative_to(PROJECT_ROOT)}: {{…:{spec}}}"
                  for spec in re.findall(r"\{[\w.()\[\]]+:(%[^{}]*)\}", source) if _A_DAY_FOR_PEOPLE.search(spec)]
    assert found == []


@pytest.mark.parametrize(("spec", "a_day"), [("%d %b %Y", True), ("%-d %B %Y", True), ("%Y-%m-%d", True),
                                             ("%d/%m/%Y", True), ("%m/%d/%Y", True), ("%Y", False), ("%H:%M", False),
                                             ("%Y%m%d-%H%M", False), ("%Y%m%dT%H%M%SZ", False)])
def test_the_guard_knows_a_day_for_people_from_a_stamp(spec: str, a_day: bool) -> None:
    assert bool(_A_DAY_FOR_PEOPLE.search(spec)) is a_day


def test_the_guard_sees_the_styles_it_refuses() -> None:
    tree = ast.parse('flash(f"paid on {day.isoformat()}")\n'
                     'raise RuleViolation(f"The date {on:%d %b %Y} is in the future.", field="on")\n'
                     'notify(db, body=f"due on {due:%Y-%m-%d}")\n'
                     'flash(f"paid on {format_day(day)}")\n')
    assert [line for line, _ in _shown_text_with_a_date_style(tree)] == [1, 2, 3]


@pytest.mark.parametrize(("url", "seen"), [
    ("/audit?date_from=6/12/2026&date_to=1/12/2026", "The period ends (1 Dec 2026) before it starts (6 Dec 2026)."),
    ("/ledger/entries.xlsx?date_from=6/12/2026&date_to=1/12/2026",
     "The period ends (1 Dec 2026) before it starts (6 Dec 2026)."),
])
def test_a_period_that_ends_before_it_starts_is_told_in_the_pages_format(client, login, make_user, url, seen):
    login(make_user("auditor@format.example.org", Role.AUDITOR))
    response = client.get(url)
    assert response.status_code == 400
    assert seen in response.get_data(as_text=True)
