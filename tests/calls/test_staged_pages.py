"""The pages of a staged call: the manager creates it from its rules file, sets each stage's dates (a bad period is
refused beside its field, changing nothing), opens the first stage; the public page of the staged call shows its
stages with their dates, budgets, shares, sections and criteria; a later stage's page says who takes part."""

from __future__ import annotations

import html
from datetime import timedelta

import pytest
from sqlalchemy import select

from programme.calls.models import Call, CallStatus
from programme.core.access import Role
from programme.core.db import utcnow
from programme.core.timezone import to_local
from programme.extensions import db

STAGED_FILE = "staged-network-contest.toml"


@pytest.fixture
def manager(make_user, login):
    user = make_user("stager@example.org", Role.PROGRAMME_MANAGER, name="Stella Stager")
    login(user)
    return user


def _day(moment, zone: str) -> str:
    return to_local(moment, zone).strftime("%-d %b %Y %H:%M")


def _create(client) -> tuple[Call, list[Call]]:
    assert "staged-network-contest.toml: Business Network Contest (in 3 stages)" in html.unescape(
        client.get("/manage/calls/new").get_data(as_text=True))
    response = client.post("/manage/calls/new", data={"rules_file": STAGED_FILE})
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    db.session.rollback()
    parent = db.session.scalar(select(Call).where(Call.stage_index == 0).order_by(Call.id.desc()).limit(1))
    stages = list(db.session.scalars(select(Call).where(Call.parent_id == parent.id).order_by(Call.stage_index)))
    return parent, stages


def _dates(client, app, parent: Call, stage: Call, opens, closes):
    zone = app.config["PROGRAMME_TIMEZONE"]
    prefix = f"stage{stage.id}"
    return client.post(f"/manage/calls/{parent.id}/stages/{stage.id}/dates",
                       data={f"{prefix}-opens_at": _day(opens, zone), f"{prefix}-closes_at": _day(closes, zone)})


def test_the_manager_sets_the_stages_dates_and_opens_the_first_stage(app, client, manager):
    parent, stages = _create(client)
    assert [s.stage_key for s in stages] == ["concept", "planning", "implementation"]
    page = client.get(f"/manage/calls/{parent.id}").get_data(as_text=True)
    assert "A staged call" in page and f"/manage/calls/{parent.id}/stages" in page
    assert "Open the call" not in page
    page = html.unescape(client.get(f"/manage/calls/{parent.id}/stages").get_data(as_text=True))
    for title in ("Concept note", "Feasibility and business plan", "Implementation"):
        assert title in page
    start = (utcnow() + timedelta(hours=1)).replace(second=0, microsecond=0)
    for number, stage in enumerate(stages):
        opens = start + timedelta(days=40 * number)
        response = _dates(client, app, parent, stage, opens, opens + timedelta(days=30))
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    db.session.rollback()
    assert db.session.get(Call, stages[0].id).opens_at == start
    # A bad period is refused beside its field and changes nothing.
    before = db.session.get(Call, stages[1].id).closes_at
    response = _dates(client, app, parent, stages[1], start + timedelta(days=50), start + timedelta(days=45))
    assert response.status_code == 200 and "The stage must close after it opens." in response.get_data(as_text=True)
    response = _dates(client, app, parent, stages[1], start + timedelta(days=10), start + timedelta(days=60))
    assert response.status_code == 200
    assert "cannot open before the stage before it" in html.unescape(response.get_data(as_text=True))
    db.session.rollback()
    assert db.session.get(Call, stages[1].id).closes_at == before
    # Opening the first stage publishes the staged call.
    page = client.get(f"/manage/calls/{stages[0].id}").get_data(as_text=True)
    assert "Open the stage" in page and "Stage 1 of 3" in page
    assert client.post(f"/manage/calls/{stages[0].id}/open").status_code == 302
    db.session.rollback()
    assert db.session.get(Call, stages[0].id).status == CallStatus.OPEN
    assert db.session.get(Call, parent.id).status == CallStatus.OPEN


def test_the_public_page_shows_the_stages(app, client, manager):
    parent, stages = _create(client)
    start = (utcnow() - timedelta(hours=1)).replace(second=0, microsecond=0)
    for number, stage in enumerate(stages):
        opens = start + timedelta(days=40 * number)
        assert _dates(client, app, parent, stage, opens, opens + timedelta(days=30)).status_code == 302
    assert client.post(f"/manage/calls/{stages[0].id}/open").status_code == 302
    client.post("/logout")
    page = html.unescape(client.get(f"/calls/{parent.id}").get_data(as_text=True))
    assert "<h2 id=\"stages-heading\">Stages</h2>" in page
    for text in ("1. Concept note", "2. Feasibility and business plan", "3. Implementation",
                 "no money at this stage", "€120,000.00" if "€" in page else "120,000.00", "12,000.00", "75",
                 "A common interest among the firms", "An experienced network broker", "150,000.00",
                 "The cluster; Objectives and first activities"):
        assert text in page, text
    assert "Start a proposal" not in page  # the staged call itself takes none; its stages do
    listing = client.get("/calls").get_data(as_text=True)
    assert f"/calls/{parent.id}\"" in listing and f"/calls/{stages[0].id}\"" not in listing
    first = html.unescape(client.get(f"/calls/{stages[0].id}").get_data(as_text=True))
    assert "Stage 1 of 3" in first and "Log in" in first
    # A stage not yet opened is named on the page, not linked (its page is not public yet).
    assert f"/calls/{stages[1].id}\"" not in page and client.get(f"/calls/{stages[1].id}").status_code == 404


def test_a_stage_of_another_staged_call_is_not_found(app, client, manager):
    first, _ = _create(client)
    _, other_stages = _create(client)
    response = client.post(f"/manage/calls/{first.id}/stages/{other_stages[0].id}/dates",
                           data={"opens_at": "1 Jan 2030 09:00", "closes_at": "1 Feb 2030 09:00"})
    assert response.status_code == 404
    assert client.get(f"/manage/calls/{other_stages[0].id}/stages").status_code == 404  # a stage is no staged call
