"""Every page fits the screen and passes axe-core's automatic checks (issue 16): each role logged in to the demo,
one page of each kind it reaches from its home page (tests/browser/demo_site.py), each page looked at once at a
desk's width (1366 px) and once at a phone's (390 px): the page itself never scrolls sideways (a wide table scrolls
inside its own box), and axe-core, vendored in tests/browser/vendor/axe-core (from the npm registry, see its
README), finds nothing against WCAG 2.0 and 2.1 A and AA and axe's best practices. Any page too wide or any
violation fails the test, named by page, width, rule, impact and the elements at fault. One crawl does both: each
page is loaded once. tests/browser/test_layout.py has the layout's other checks.

axe is injected into the page, which the application's Content-Security-Policy forbids (scripts from the site
only, nothing inline): the test's browser context bypasses the policy. Runs once, in the SQLite run of the suite.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.demo_site import DESK, PHONE, ROLES, Demo, crawl, serve_demo

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
                       reason="the pages are the same on every database: checked in the SQLite run"),
]

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
    "resultTypes": ["violations"],
}
RUN_AXE = """async (options) => {
  const results = await axe.run(document, options);
  return results.violations.map(v => ({
    rule: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(node => node.target.join(' '))
  }));
}"""

#: A page's next frame drawn: the script has seen the new width (a box that now scrolls takes the focus).
NEXT_FRAME = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"


@pytest.fixture(scope="module", name="demo")
def _demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    yield from serve_demo(tmp_path_factory)


def _look(page) -> tuple[dict[int, int], list[tuple[int, dict]]]:
    """The loaded page at each width: how wide it is (its scroll width) and axe's violations, as (width,
    violation)."""
    page.add_script_tag(path=str(AXE))
    widths, found = {}, []
    for width in (DESK, PHONE):
        page.set_viewport_size({"width": width, "height": 900})
        page.evaluate(NEXT_FRAME)
        widths[width] = page.evaluate("document.documentElement.scrollWidth")
        found += [(width, violation) for violation in page.evaluate(RUN_AXE, AXE_OPTIONS)]
    page.set_viewport_size({"width": DESK, "height": 900})
    return widths, found


@pytest.mark.parametrize("role", list(ROLES))
def test_every_page_fits_the_screen_and_passes_axe(chromium_browser, demo: Demo, role: str):
    context = chromium_browser.new_context(viewport={"width": DESK, "height": 900}, bypass_csp=True)
    page = context.new_page()
    visited, too_wide, failures = 0, [], []
    for path in crawl(page, demo, role):
        visited += 1
        widths, violations = _look(page)
        if widths[PHONE] > PHONE or widths[DESK] > DESK:
            too_wide.append(f"{path}: {widths[DESK]} px at {DESK}, {widths[PHONE]} px at {PHONE}")
        for width, violation in violations:
            failures.append(f"{path} at {width} px: {violation['rule']} ({violation['impact']}) {violation['help']}"
                            f"\n    " + "\n    ".join(violation["targets"]))
    context.close()
    assert visited >= (3 if role == "anonymous" else 8), f"{role} reached only {visited} pages"
    assert not too_wide, f"pages wider than the screen for the {role}:\n" + "\n".join(too_wide)
    assert not failures, f"axe-core's violations for the {role}:\n" + "\n".join(failures)


def test_axe_finds_what_it_should(chromium_browser, demo: Demo):
    """The check itself works: axe, injected despite the Content-Security-Policy, reports a field without a
    name on one of the demo's pages."""
    context = chromium_browser.new_context(viewport={"width": DESK, "height": 900}, bypass_csp=True)
    page = context.new_page()
    page.goto(demo.url + "/login")
    page.evaluate("document.querySelector('main form').append(document.createElement('input'))")
    rules = {violation["rule"] for _, violation in _look(page)[1]}
    context.close()
    assert "label" in rules
