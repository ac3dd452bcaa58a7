"""The initiative's page keeps its figures (the start-up grant's position, what the ledger says was paid, the
matching grants' positions and the external-share chart) per data version and initiative (issue 15). A change
made through the services as a user makes it (a tranche paid, co-financing verified, a report submitted, a
milestone review, a termination) shows at the next request, and what the page shows then is what it shows when
worked out from nothing (every kept thing forgotten)."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from programme.config import PROJECT_ROOT
from programme.core.kept import forget_all
from programme.extensions import db
from programme.funding import services
from programme.funding.services import matching
from programme.monitoring.services import reports, scorecards
from programme.monitoring.services.milestones import record_milestone_review
from tests.funding.conftest import PAID_ON, Funded, funded_initiative, loginable
from tests.funding.matching import DAY1, YEAR1, contribute, matching_grant

NOW = YEAR1
TODAY = NOW.date()


@pytest.fixture(autouse=True)
def frozen(clock, app):
    clock(NOW)
    app.config["PROGRAMME_TIMEZONE"] = "UTC"


@pytest.fixture
def f() -> Funded:
    return loginable(funded_initiative())


def main_of(response) -> str:
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    # A form's token is signed with the time: it may differ between two requests when a second passes.
    return re.sub(r'name="csrf_token"[^>]*>', "", html[html.index("<main"):html.index("</main>")])


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def _pay(f: Funded, tmp: Path) -> None:
    d = services.request_disbursement(f.grant, amount="1234.56", purpose="First tranche", actor=f.manager, now=NOW,
                                      timezone="UTC")
    services.approve_disbursement(d, actor=f.admin, now=NOW, timezone="UTC")
    services.record_payment(d, value_date=PAID_ON, bank_reference="KEPT-PAY-1", actor=f.admin2, now=NOW,
                            timezone="UTC")


def _cofinance(f: Funded, tmp: Path) -> None:
    grant = matching_grant(f)
    db.session.commit()
    contribute(f, grant, "7000.00", on=DAY1, upload_root=tmp)


def _report(f: Funded, tmp: Path) -> None:
    card = scorecards.start_scorecard(f.initiative, template_key="scottish_cluster",
                                      rules_folder=PROJECT_ROOT / "rules", actor=f.applicant, now=NOW)
    db.session.commit()
    (report, *_) = reports.open_reports(f.initiative, today=TODAY, actor=f.applicant, now=NOW, timezone="UTC")
    live = [k for k in scorecards.kpis_of(card) if k.live]
    reports.save_report(report, values={k.id: (1, "") for k in live}, narrative="We met.", learned="Much.",
                        will_change="More.", actor=f.applicant, now=NOW)
    reports.submit_report(report, actor=f.applicant, now=NOW)


def _review(f: Funded, tmp: Path) -> None:
    record_milestone_review(f.initiative, decision="continue", reason="On track.", conditions="",
                            next_status="implementation", decided_on=TODAY, actor=f.manager, now=NOW, timezone="UTC")


def _terminate(f: Funded, tmp: Path) -> None:
    record_milestone_review(f.initiative, decision="terminate", reason="Nothing produced in a year.",
                            conditions="", next_status=None, decided_on=TODAY, actor=f.manager, now=NOW,
                            timezone="UTC")


CHANGES: dict[str, Callable[[Funded, Path], None]] = {
    "payment": _pay, "co-financing": _cofinance, "report": _report, "milestone review": _review,
    "termination": _terminate,
}


@pytest.mark.parametrize("change", CHANGES.values(), ids=CHANGES.keys())
def test_a_change_shows_at_the_next_request_of_the_initiative_page(client, login, f, change, tmp_path):
    login(f.admin.email)
    path = f"/initiatives/{f.initiative.id}"
    before = main_of(client.get(path))
    assert main_of(client.get(path)) == before  # kept: the same while nothing changes

    change(f, tmp_path)
    db.session.commit()

    after = main_of(client.get(path))
    if change is not _report:  # the page shows no report: its data version moved, its figures did not
        assert after != before
    forget_all()
    assert main_of(client.get(path)) == after  # what is kept is what is worked out from nothing


def test_the_figures_shown_after_a_payment(client, login, f, tmp_path):
    login(f.manager.email)
    path = f"/initiatives/{f.initiative.id}"
    client.get(path)
    _pay(f, tmp_path)
    db.session.commit()
    shown = text(main_of(client.get(path)))
    assert "1,234.56" in shown and "KEPT-PAY-1" in shown
    assert services.paid_from_ledger(f.initiative) == services.grant_position(f.grant).paid


def test_the_page_works_its_figures_out_once_per_data_version(client, login, f, monkeypatch, tmp_path):
    login(f.manager.email)
    path = f"/initiatives/{f.initiative.id}"
    worked_out: list[int] = []
    real = matching._work_out

    def counted(*args, **kwargs):
        worked_out.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(matching, "_work_out", counted)
    for _ in range(3):
        main_of(client.get(path))
    assert len(worked_out) == 1
    _pay(f, tmp_path)
    db.session.commit()
    main_of(client.get(path))
    main_of(client.get(path))
    assert len(worked_out) == 2
