"""Fixtures for the browser tests: the real app served on a local port, seed data, headless Chromium.

The browser tests are skipped when Chromium or Playwright is missing, unless REQUIRE_BROWSER=1
is set: then a missing browser is a failure, so a CI job that must run them cannot pass without.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from flask import Flask

from programme import create_app
from programme.config import PROJECT_ROOT
from programme.core.access import Role, SystemActor
from programme.core.db import utcnow
from programme.core.timezone import format_local
from programme.extensions import db
from tests.browser.world import serving

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SEEDER = SystemActor("test")
RULES_FILE = "cluster-contest.toml"


def _chromium_path() -> str | None:
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    return shutil.which("chromium")


def _unavailable(reason: str) -> None:
    if os.environ.get("REQUIRE_BROWSER") == "1":
        pytest.fail(f"REQUIRE_BROWSER=1 but the browser tests cannot run: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[object]:
    """Debian's Chromium driven by Playwright's sync API, once per test run."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _unavailable(f"playwright is not importable ({exc})")
    executable = _chromium_path()
    if executable is None:
        _unavailable(f"no Chromium at {CHROMIUM} nor on PATH")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(chromium_browser) -> Iterator[object]:
    """A fresh browser context (no cookies) and tab per test."""
    context = chromium_browser.new_context()
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


@dataclass(frozen=True)
class CriterionRow:
    title: str
    weight: Decimal
    threshold: Decimal


@dataclass(frozen=True)
class Seeded:
    open_call_id: int
    open_call_name: str
    open_call_reference: str
    deadline_text: str
    criteria: tuple[CriterionRow, ...]
    draft_call_id: int


def _seed(live_app: Flask) -> Seeded:
    """A programme manager, one open call and one draft call, committed before the server starts."""
    from programme.accounts import services as accounts
    from programme.calls import services as calls

    with live_app.app_context():
        manager = accounts.create_user(
            email="manager@example.org", name="Browser Manager", roles=[Role.PROGRAMME_MANAGER],
            password="manager-password-1", actor=SEEDER,
        )
        db.session.flush()
        now = utcnow()
        zone = live_app.config["PROGRAMME_TIMEZONE"]
        folder = live_app.config["RULES_FOLDER"]
        call = calls.create_call(RULES_FILE, rules_folder=folder, timezone=zone, actor=manager, now=now)
        calls.update_draft_call(
            call,
            calls.CallDraft(
                name=call.name, description=call.description, budget=call.budget,
                per_initiative_cap=call.per_initiative_cap,
                opens_at=(now - timedelta(days=1)).replace(second=0, microsecond=0),
                closes_at=(now + timedelta(days=30)).replace(second=0, microsecond=0),
            ),
            actor=manager,
        )
        calls.open_call(call, actor=manager, now=now)
        draft = calls.create_call(RULES_FILE, rules_folder=folder, timezone=zone, actor=manager, now=now)
        db.session.commit()
        seeded = Seeded(
            open_call_id=call.id,
            open_call_name=call.name,
            open_call_reference=call.reference,
            deadline_text=format_local(call.closes_at, zone),
            criteria=tuple(CriterionRow(c.title, c.weight, c.threshold) for c in call.criteria),
            draft_call_id=draft.id,
        )
        db.session.remove()
    return seeded


@dataclass(frozen=True)
class LiveServer:
    url: str
    app: Flask
    seeded: Seeded


@pytest.fixture
def live_server(app: Flask, database_url: str, tmp_path: Path) -> Iterator[LiveServer]:
    """The real app on 127.0.0.1 (a free port) in a daemon thread, over the test database.

    `app` empties the tables; this second app shares the database but has its own instance
    folder, its own engine and no SERVER_NAME, so the browser's Host header is accepted.
    """
    live_app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "browser-test-secret",
        "RATELIMIT_ENABLED": False,
        "RULES_FOLDER": str(PROJECT_ROOT / "rules"),
        "INSTANCE_PATH": str(tmp_path / "live-instance"),
    })
    seeded = _seed(live_app)
    with serving(live_app, "live-server") as url:
        yield LiveServer(url=url, app=live_app, seeded=seeded)
