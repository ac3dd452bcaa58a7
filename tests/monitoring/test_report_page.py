"""The self-evaluation report's page as people read it (issue 16): the KPIs in a compact table under a heading per
scorecard perspective, one row per KPI with the KPI's name shown once (the row's header), and every field of the
form named for its KPI for a screen reader (the value by the row header's label, with the unit; the note "Note on
<KPI>"); a refused value is tied to its field (aria-invalid, described by the message). The frozen report keeps
the same rows."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from html.parser import HTMLParser

import pytest

from programme.config import PROJECT_ROOT
from programme.extensions import db
from programme.monitoring.models import Scorecard, ScorecardKpi, SelfEvaluationReport
from programme.monitoring.services import reports
from programme.monitoring.services import scorecards as services
from tests.funding.conftest import LATER, Funded, funded_initiative, loginable
from tests.worlds import Kept, keep, reload

START = date(2027, 6, 1)
NOW = datetime(2027, 12, 16, 1, 0, tzinfo=UTC)
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    parent: Node | None = None
    children: list[Node | str] = field(default_factory=list)

    def text(self, *, shown_only: bool = False) -> str:
        """The text inside, with single spaces (``shown_only``: leaving out what only a screen reader reads)."""
        parts = []
        for child in self.children:
            if isinstance(child, str):
                parts.append(child)
            elif not (shown_only and "visually-hidden" in child.attrs.get("class", "").split()):
                parts.append(child.text(shown_only=shown_only))
        return " ".join(" ".join(parts).split())

    def walk(self):
        for child in self.children:
            if isinstance(child, Node):
                yield child
                yield from child.walk()

    def find_all(self, tag: str) -> list[Node]:
        return [node for node in self.walk() if node.tag == tag]


class Tree(HTMLParser):
    """A page's elements as a tree (enough of HTML for the app's own templates)."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.root = self.current = Node("#document", {})
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {key: value or "" for key, value in attrs}, self.current)
        self.current.children.append(node)
        if tag not in VOID:
            self.current = node

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Node(tag, {key: value or "" for key, value in attrs}, self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node.parent is not None and node.tag != tag:
            node = node.parent
        if node.parent is not None:
            self.current = node.parent

    def handle_data(self, data):
        self.current.children.append(data)

    def by_id(self, ident: str) -> Node | None:
        return next((node for node in self.root.walk() if node.attrs.get("id") == ident), None)

    def accessible_name(self, control: Node) -> str:
        """The name a screen reader gives a form field: aria-labelledby, else aria-label, else its labels."""
        if control.attrs.get("aria-labelledby"):
            return " ".join(self.by_id(ident).text() for ident in control.attrs["aria-labelledby"].split())
        if control.attrs.get("aria-label"):
            return control.attrs["aria-label"]
        ident = control.attrs.get("id")
        labels = [label for label in self.root.find_all("label") if ident and label.attrs.get("for") == ident]
        return " ".join(label.text() for label in labels)

    def description(self, control: Node) -> str:
        return " ".join(self.by_id(ident).text() for ident in control.attrs.get("aria-describedby", "").split())


@pytest.fixture(scope="module")
def funded_once(built_once) -> Kept:
    with built_once():
        return keep(funded_initiative())


@pytest.fixture
def pf(app, funded_once: Kept, clock) -> Funded:
    clock(NOW)
    return loginable(reload(funded_once))


def _draft(f: Funded) -> tuple[Scorecard, SelfEvaluationReport, list[ScorecardKpi]]:
    card = services.start_scorecard(f.initiative, template_key="scottish_cluster", rules_folder=PROJECT_ROOT / "rules",
                                    actor=f.applicant, now=LATER)
    (report,) = reports.open_reports(f.initiative, today=START, actor=f.applicant, now=NOW, timezone="UTC")
    db.session.commit()
    return card, report, [k for k in services.kpis_of(card) if k.live]


def _rows(page: Tree) -> list[tuple[str, Node]]:
    """Each KPI row of the page's KPI tables with the perspective heading above its table."""
    rows, heading = [], None
    for node in page.root.walk():
        if node.tag == "h3":
            heading = node.text()
        elif node.tag == "tr" and node.attrs.get("id", "").startswith("kpi-"):
            rows.append((heading, node))
    return rows


def test_every_field_is_named_for_its_kpi_and_each_kpi_is_written_once(client, login, pf):
    _, report, kpis = _draft(pf)
    login(pf.applicant.email)
    page = Tree(client.get(f"/reports/{report.id}").get_data(as_text=True))
    form = page.by_id("report-form")

    for kpi in kpis:
        value, note = page.by_id(f"value_{kpi.id}"), page.by_id(f"note_{kpi.id}")
        assert value.tag == "input" and note.tag == "textarea"
        assert page.accessible_name(value) == f"{kpi.name} ({kpi.unit})"
        assert page.accessible_name(note) == f"Note on {kpi.name}"
        assert "at most 4 decimal places" in page.description(value)
        assert value.attrs["aria-invalid"] == "false"
    # every field of the form has a name, none is named twice
    names = Counter(page.accessible_name(control) for control in form.walk()
                    if control.tag in ("input", "textarea", "select") and control.attrs.get("type") != "hidden")
    assert "" not in names and max(names.values()) == 1

    # one row per KPI, under its perspective's heading, in the scorecard's order; its name shown once, as the
    # row's header
    rows = _rows(page)
    assert [row.attrs["id"] for _, row in rows] == [f"kpi-{k.id}" for k in kpis]
    assert [heading for heading, _ in rows] == [k.perspective_title for k in kpis]
    headings = [h.text() for h in form.find_all("h3")]
    assert headings == list(dict.fromkeys(k.perspective_title for k in kpis))
    shown = form.text(shown_only=True)
    for (_, row), kpi in zip(rows, kpis, strict=True):
        (header,) = [cell for cell in row.children if isinstance(cell, Node) and cell.tag == "th"]
        assert header.attrs["scope"] == "row" and header.find_all("label")[0].attrs["for"] == f"value_{kpi.id}"
        assert header.text(shown_only=True).startswith(kpi.name)
        assert shown.count(kpi.name) == 1 + sum(other.name != kpi.name and kpi.name in other.name for other in kpis)


def test_a_refused_value_is_tied_to_its_field(client, login, pf):
    card, report, kpis = _draft(pf)
    login(pf.applicant.email)
    first, second = kpis[0], kpis[1]
    data = {f"value_{k.id}": "" for k in kpis} | {f"note_{k.id}": "" for k in kpis}
    data |= {f"value_{first.id}": "abc", f"note_{second.id}": "x" * 2001, "narrative": "Kept as typed."}
    response = client.post(f"/reports/{report.id}", data=data)
    assert response.status_code == 422
    page = Tree(response.get_data(as_text=True))

    value = page.by_id(f"value_{first.id}")
    assert value.attrs["aria-invalid"] == "true" and value.attrs["value"] == "abc"
    assert "Not a valid decimal value" in page.description(value)
    assert page.by_id(f"kpi-{first.id}").attrs.get("class") == "flagged"
    note = page.by_id(f"note_{second.id}")
    assert note.attrs["aria-invalid"] == "true" and "at most 2,000" in page.description(note)
    assert page.accessible_name(note) == f"Note on {second.name}"
    untouched = page.by_id(f"value_{kpis[2].id}")
    assert untouched.attrs["aria-invalid"] == "false" and "Not a valid" not in page.description(untouched)
    assert "Kept as typed." in page.by_id("narrative").text()


def test_the_submitted_report_keeps_the_rows_by_perspective(client, login, pf):
    _, report, kpis = _draft(pf)
    values = {k.id: (Decimal(i + 1), "") for i, k in enumerate(kpis)}
    reports.save_report(report, values=values, narrative="n", learned="l", will_change="w", actor=pf.applicant,
                        now=NOW)
    reports.submit_report(report, actor=pf.applicant, now=NOW)
    db.session.commit()
    login(pf.manager.email)
    page = Tree(client.get(f"/reports/{report.id}").get_data(as_text=True))
    assert page.by_id("report-form") is None
    rows = _rows(page)
    assert [(heading, row.attrs["id"]) for heading, row in rows] == [(k.perspective_title, f"kpi-{k.id}")
                                                                   for k in kpis]
    first = rows[0][1]
    assert first.find_all("th")[0].text().startswith(kpis[0].name) and kpis[0].direction.label in first.text()
