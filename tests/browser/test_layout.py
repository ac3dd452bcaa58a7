"""Every page fits the screen (issue 16): the demo programme served for real, each role logged in, every page it
can reach by links from its home page (one of each kind: ``/loans/1`` stands for every loan's page) opened in
Chromium and measured at a desk's width (1366 px) and a phone's (390 px): the page itself never scrolls sideways
(a wide table scrolls inside its own box). Also the skip link, and the menu button that opens the navigation on a
phone (with the script off the navigation is simply shown).

The demo is seeded into its own SQLite database (the layout does not depend on the database), so this runs once,
in the SQLite run of the suite."""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from werkzeug.serving import make_server

from programme import create_app
from programme.extensions import db

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
                       reason="the layout is the same on every database: measured in the SQLite run"),
]

DESK, PHONE = 1366, 390
#: Each role of the demo (README) and its password.
ROLES = {
    "anonymous": None,
    "programme manager": ("manager@demo.example", "demo-manager-2026"),
    "fund administrator": ("funds@demo.example", "demo-funds-2026"),
    "auditor": ("auditor@demo.example", "demo-auditor-2026"),
    "reviewer": ("reviewer1@demo.example", "demo-reviewer-2026"),
    "applicant": ("applicant@demo.example", "demo-applicant-2026"),
}
#: Downloads and actions are not pages to look at.
NOT_PAGES = re.compile(r"\.(xlsx|csv|pdf|zip|docx?)$|/logout|/download|/attachments/|/export|/static/")
PAGES_PER_ROLE = 45


@dataclass(frozen=True)
class Demo:
    url: str


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    from flask_migrate import upgrade

    from programme.demo import seed_demo

    folder: Path = tmp_path_factory.mktemp("layout-demo")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'demo.sqlite'}", "SECRET_KEY": "layout",
                      "INSTANCE_PATH": str(folder / "instance"), "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade()
        assert seed_demo(app, echo=lambda _: None)
        db.session.remove()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="layout-demo", daemon=True)
    thread.start()
    try:
        yield Demo(f"http://127.0.0.1:{server.port}")
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with app.app_context():
            db.engine.dispose()


def _log_in(page, demo: Demo, credentials: tuple[str, str]) -> None:
    page.goto(demo.url + "/login")
    page.fill("input[name=email]", credentials[0])
    page.fill("input[name=password]", credentials[1])
    page.click("main button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def _kind(path: str) -> str:
    """One page of each kind: ids and the query string aside."""
    return re.sub(r"/\d+", "/N", urlsplit(path).path)


def _widths(page) -> dict[int, int]:
    seen = {}
    for width in (DESK, PHONE):
        page.set_viewport_size({"width": width, "height": 900})
        seen[width] = page.evaluate("document.documentElement.scrollWidth")
    return seen


@pytest.mark.parametrize("role", list(ROLES))
def test_no_page_is_wider_than_the_screen(chromium_browser, demo: Demo, role: str):
    context = chromium_browser.new_context(viewport={"width": DESK, "height": 900})
    page = context.new_page()
    if ROLES[role]:
        _log_in(page, demo, ROLES[role])
    kinds: set[str] = set()
    queue, visited, too_wide = ["/"], 0, []
    while queue and visited < PAGES_PER_ROLE:
        path = queue.pop(0)
        if _kind(path) in kinds:
            continue
        kinds.add(_kind(path))
        answer = page.goto(demo.url + path)
        if answer is None or answer.status != 200 or "text/html" not in answer.headers.get("content-type", ""):
            continue
        visited += 1
        widths = _widths(page)
        if widths[PHONE] > PHONE or widths[DESK] > DESK:
            too_wide.append(f"{path}: {widths[DESK]} px at {DESK}, {widths[PHONE]} px at {PHONE}")
        page.set_viewport_size({"width": DESK, "height": 900})
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))"):
            target = urlsplit(urljoin(demo.url + path, href))
            if target.netloc != urlsplit(demo.url).netloc or NOT_PAGES.search(target.path):
                continue
            queue.append(target.path + (f"?{target.query}" if target.query else ""))
    context.close()
    assert visited >= (3 if role == "anonymous" else 8), f"{role} reached only {visited} pages"
    assert not too_wide, f"pages wider than the screen for the {role}:\n" + "\n".join(too_wide)


def test_the_skip_link_and_the_phone_menu(chromium_browser, demo: Demo):
    context = chromium_browser.new_context(viewport={"width": PHONE, "height": 800})
    page = context.new_page()
    _log_in(page, demo, ROLES["programme manager"])
    page.goto(demo.url + "/")
    page.keyboard.press("Tab")
    skip = page.locator("a.skip-link")
    assert skip.evaluate("link => link === document.activeElement") and skip.is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    nav, button = page.locator("#main-nav"), page.locator("button.menu-toggle")
    assert button.is_visible() and not nav.is_visible()
    button.click()
    assert nav.is_visible() and button.get_attribute("aria-expanded") == "true"
    assert nav.get_by_role("link", name="Dashboard").is_visible()
    button.click()
    assert not nav.is_visible()
    context.close()

    without_script = chromium_browser.new_context(viewport={"width": PHONE, "height": 800}, java_script_enabled=False)
    page = without_script.new_page()
    page.goto(demo.url + "/")
    assert page.locator("#main-nav").is_visible() and not page.locator("button.menu-toggle").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE
    without_script.close()


@pytest.mark.parametrize("role, path", [("fund administrator", "/loans/1"), ("applicant", "/proposals/1"),
                                        ("anonymous", "/calls/1")])
def test_documents_print_without_the_site_around_them(chromium_browser, demo: Demo, role: str, path: str):
    """A loan's schedule, a proposal and a call's rules print as documents: no navigation, no buttons or forms,
    the tables whole (print.css)."""
    context = chromium_browser.new_context(viewport={"width": DESK, "height": 900})
    page = context.new_page()
    if ROLES[role]:
        _log_in(page, demo, ROLES[role])
    assert page.goto(demo.url + path).status == 200
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible()
    assert not page.locator("main form button").first.is_visible() if page.locator("main form button").count() else True
    assert page.locator("main h1").first.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= DESK
    context.close()
