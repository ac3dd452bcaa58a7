"""One date format (issue 16): pages write a day as day, month, year ("6 Dec 2026"), the configuration's
DATE_FORMAT, and a moment as the same day with its local time."""

from __future__ import annotations

from datetime import UTC, date, datetime

from flask import render_template_string

from programme.core.timezone import format_day, format_local


def test_a_day_and_a_moment_are_written_the_same_way():
    assert format_day(date(2026, 12, 6)) == "6 Dec 2026"
    assert format_day(None) == "–"
    assert format_local(datetime(2026, 12, 6, 13, 0, tzinfo=UTC), "Africa/Johannesburg") == "6 Dec 2026, 15:00 SAST"


def test_the_day_filter_follows_the_configuration(app):
    with app.test_request_context():
        assert render_template_string("{{ d|day }}", d=date(2027, 3, 1)) == "1 Mar 2027"
        app.config["DATE_FORMAT"] = "%d/%m/%Y"
        assert render_template_string("{{ d|day }}", d=date(2027, 3, 1)) == "01/03/2027"
