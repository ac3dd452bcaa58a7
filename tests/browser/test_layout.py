"""The layout on a phone and on paper (issue 16): the skip link, the menu button that opens the navigation on a
phone (with the script off the navigation is simply shown), documents printed, and the self-evaluation report's
compact form. That every page fits the screen at a desk's width and a phone's is measured by the crawl of every
role's pages in tests/browser/test_accessibility.py (each page is loaded once for both checks).

The demo is shared with the accessibility test (tests/browser/demo_site.py): it is seeded into its own SQLite
database (the layout does not depend on the database), so this runs once, in the SQLite run of the suite."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.browser.demo_site import DESK, PHONE, ROLES, Demo, log_in, serve_demo

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
                       reason="the layout is the same on every database: measured in the SQLite run"),
]


@pytest.fixture(scope="module", name="demo")
def _demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from serve_demo(tmp_path_factory)


def test_the_skip_link_and_the_phone_menu(chromium_browser, demo: Demo):
    context = chromium_browser.new_context(viewport={"width": PHONE, "height": 800})
    page = context.new_page()
    log_in(page, demo, ROLES["programme manager"])
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
        log_in(page, demo, ROLES[role])
    assert page.goto(demo.url + path).status == 200
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible()
    assert not page.locator("main form button").first.is_visible() if page.locator("main form button").count() else True
    assert page.locator("main h1").first.is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= DESK
    context.close()


def test_a_report_is_a_compact_form_that_stacks_on_a_phone(chromium_browser, demo: Demo):
    """The demo group's draft self-evaluation report: one row per KPI under its perspective's heading, its name
    once as the row's header, its fields named for it; a few dozen pixels a row at a desk, and on a phone each row
    stacked into a card (the name, then the figures, then the fields) without a sideways scroll."""
    context = chromium_browser.new_context(viewport={"width": DESK, "height": 900})
    page = context.new_page()
    log_in(page, demo, ROLES["applicant"])
    page.goto(demo.url + page.locator("main a[href^='/reports/']").first.get_attribute("href"))
    rows = page.locator("#report-form tr[id^=kpi-]")
    assert rows.count() >= 20 and page.locator("#report-form h3").count() >= 3
    for row in rows.all():
        name = row.locator("th label").evaluate("label => label.firstChild.textContent")
        unit = row.locator("td").first.inner_text()
        assert row.get_by_role("textbox", name=f"{name} ({unit})", exact=True).count() == 1
        assert row.get_by_role("textbox", name=f"Note on {name}", exact=True).count() == 1
    heights = rows.evaluate_all("rows => rows.map(row => row.getBoundingClientRect().height)")
    assert sum(heights) / len(heights) < 90, heights

    page.set_viewport_size({"width": PHONE, "height": 900})
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE
    first = rows.first
    header, value = first.locator("th").bounding_box(), first.locator("input").bounding_box()
    assert value["y"] >= header["y"] + header["height"] and value["width"] >= 150
    assert first.evaluate("row => getComputedStyle(row).display") == "grid"
    context.close()
