"""The demo programme served for real, and the crawl of every page a role reaches from its home page, shared by
the browser tests that look at every page (tests/browser/test_layout.py, tests/browser/test_accessibility.py).

The demo is seeded into its own SQLite database (what a page looks like does not depend on the database), so these
tests run once, in the SQLite run of the suite. A module serves it with a module-scoped fixture of its own:

    @pytest.fixture(scope="module", name="demo")
    def _demo(tmp_path_factory):
        yield from serve_demo(tmp_path_factory)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from werkzeug.exceptions import HTTPException
from werkzeug.routing import MapAdapter

from programme import create_app
from programme.extensions import db
from tests.browser.world import serving

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
#: Downloads and actions are not pages to look at (nor the one page whose markup is a vendored viewer's).
NOT_PAGES = re.compile(r"\.(xlsx|csv|pdf|zip|docx?)$|/logout|/download|/attachments/|/evidence$|/export|/static/"
                       # Swagger UI's own markup (the API's interactive viewer, vendored) falls short of axe-core's
                       # rules; the API's page, /api/v1/docs, lists the same operations and is crawled.
                       r"|/api/v1/docs/viewer$")
PAGES_PER_ROLE = 45


@dataclass(frozen=True)
class Demo:
    url: str
    pages: MapAdapter

    def kind(self, path: str) -> str:
        """One page of each kind: the route that answers the path, whatever its ids, keys and query string
        (``/loans/1`` stands for every loan's page, ``/benchmarking/market_share`` for every KPI's)."""
        try:
            endpoint, _ = self.pages.match(urlsplit(path).path, method="GET")
        except HTTPException:
            return re.sub(r"/\d+", "/N", urlsplit(path).path)
        return endpoint


def serve_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The demo programme (``programme demo``'s seed) served on a free local port while the generator runs."""
    from flask_migrate import upgrade

    from programme.demo import seed_demo

    folder: Path = tmp_path_factory.mktemp("demo-site")
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'demo.sqlite'}", "SECRET_KEY": "demo-site",
                      "INSTANCE_PATH": str(folder / "instance"), "RATELIMIT_ENABLED": False})
    with app.app_context():
        upgrade()
        assert seed_demo(app, echo=lambda _: None)
        db.session.remove()
    with serving(app, "demo-site") as url:
        yield Demo(url, app.url_map.bind("127.0.0.1"))


def log_in(page, demo: Demo, credentials: tuple[str, str]) -> None:
    page.goto(demo.url + "/login")
    page.fill("input[name=email]", credentials[0])
    page.fill("input[name=password]", credentials[1])
    page.click("main button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def crawl(page, demo: Demo, role: str) -> Iterator[str]:
    """Log the role in, then open one page of each kind it reaches by links from its home page (at most
    PAGES_PER_ROLE), breadth first, yielding each page's path once it is loaded in ``page``. The caller looks at
    the page (it may change the viewport) before the crawl goes on; the page's links are read before it is
    yielded."""
    from playwright.sync_api import Error as PlaywrightError  # imported here: without Playwright the tests skip

    if ROLES[role]:
        log_in(page, demo, ROLES[role])
    site = urlsplit(demo.url).netloc
    kinds: set[str] = set()
    queue, visited = ["/"], 0
    while queue and visited < PAGES_PER_ROLE:
        path = queue.pop(0)
        if demo.kind(path) in kinds:
            continue
        kinds.add(demo.kind(path))
        try:
            answer = page.goto(demo.url + path)
        except PlaywrightError as error:  # a file sent as an attachment is a download, not a page
            if "Download is starting" in str(error):
                continue
            raise
        if answer is None or answer.status != 200 or "text/html" not in answer.headers.get("content-type", ""):
            continue
        visited += 1
        for href in page.eval_on_selector_all("a[href]", "links => links.map(a => a.getAttribute('href'))"):
            target = urlsplit(urljoin(demo.url + path, href))
            if target.netloc != site or NOT_PAGES.search(target.path):
                continue
            queue.append(target.path + (f"?{target.query}" if target.query else ""))
        yield path
