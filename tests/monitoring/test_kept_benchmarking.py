"""The benchmarking pages keep what they read per data version (issue 15): a report submitted through the
services shows at the next request of a KPI's benchmark, and the page is then what it is when worked out from
nothing (every kept thing forgotten). Publication through the services is in test_benchmarking.py."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from programme.config import PROJECT_ROOT
from programme.core.kept import forget_all
from programme.extensions import db
from programme.monitoring.services import reports, scorecards
from tests.funding.conftest import LATER, funded_initiative, loginable

NOW = datetime(2027, 12, 16, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def frozen(clock, app):
    clock(NOW)
    app.config["PROGRAMME_TIMEZONE"] = "UTC"


def main_of(response) -> str:
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    return re.sub(r'name="csrf_token"[^>]*>', "", html[html.index("<main"):html.index("</main>")])


def test_a_submitted_report_shows_at_the_next_request_of_the_benchmark(client, login):
    funded = loginable(funded_initiative())
    card = scorecards.start_scorecard(funded.initiative, template_key="scottish_cluster",
                                      rules_folder=PROJECT_ROOT / "rules", actor=funded.applicant, now=LATER)
    db.session.commit()
    (report, *_) = reports.open_reports(funded.initiative, today=date(2027, 6, 1), actor=funded.applicant,
                                        now=LATER, timezone="UTC")
    live = [k for k in scorecards.kpis_of(card) if k.live]
    values = {k.id: (index + 1, "") for index, k in enumerate(live)}
    reports.save_report(report, values=values, narrative="We met four times.", learned="Firms share more.",
                        will_change="Meet monthly.", actor=funded.applicant, now=NOW)
    db.session.commit()
    login(funded.manager)
    path = f"/benchmarking/{live[0].key}"
    before = main_of(client.get(path))
    assert main_of(client.get(path)) == before  # kept while nothing changes

    reports.submit_report(report, actor=funded.applicant, now=NOW)
    db.session.commit()

    after = main_of(client.get(path))
    assert after != before
    forget_all()
    assert main_of(client.get(path)) == after
