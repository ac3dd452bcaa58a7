"""Benchmarking: shared KPIs, one KPI's ranking (latest submitted value, progress from baseline to target, rank
with ties, lower-is-better) checked against a straightforward recomputation from generated data; drafts
ignored; anonymity for a group and publication revealing names; access for every role; the pages."""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import select

from programme.accounts import services as accounts
from programme.accounts.models import User
from programme.calls.models import Call
from programme.core.access import AccessDenied, NotFound, Role
from programme.core.audit import AuditEntry
from programme.extensions import db
from programme.funding.models import Initiative
from programme.monitoring.models import (
    BenchmarkPublication,
    Direction,
    KpiOrigin,
    ReportStatus,
    ReportValue,
    Scorecard,
    ScorecardKpi,
    SelfEvaluationReport,
)
from programme.monitoring.services import benchmarking
from programme.proposals.models import Proposal
from tests.proposals.builders import make_call
from tests.reviews.world import user

D = Decimal
NOW = datetime(2030, 1, 15, 9, 0, tzinfo=UTC)


@dataclass
class Made:
    initiative: Initiative
    lead: User
    scorecard: Scorecard
    kpis: dict[str, ScorecardKpi] = field(default_factory=dict)


def make_initiative(call: Call, number: int, lead: User | None = None) -> Made:
    """An initiative made directly with the models (no review round), with an empty scorecard."""
    lead = lead or user(f"lead{number}@groups.example.org", Role.APPLICANT)
    group = accounts.create_group(name=f"Cluster group {number}", description="A group", actor=lead)
    proposal = Proposal(call_id=call.id, group_id=group.id, title=f"Cluster {number}")
    db.session.add(proposal)
    db.session.flush()
    initiative = Initiative(reference=f"INI-{number:03d}", name=f"Cluster initiative {number}", call_id=call.id,
                            proposal_id=proposal.id, group_id=group.id, currency=call.currency)
    db.session.add(initiative)
    db.session.flush()
    card = Scorecard(initiative_id=initiative.id, template_key="test", template_file="scorecards/test.toml",
                     template_source="", template_sha256="0" * 64)
    db.session.add(card)
    db.session.flush()
    return Made(initiative, lead, card)


def add_kpi(made: Made, key: str, baseline, target, direction: Direction = Direction.HIGHER,
            name: str | None = None, dropped: bool = False) -> ScorecardKpi:
    kpi = ScorecardKpi(scorecard_id=made.scorecard.id, position=len(made.kpis) + 1, perspective_key="market",
                       perspective_title="Market", factor_key="exports", factor_title="Exports", key=key,
                       name=name or key.replace("_", " ").capitalize(), unit="firms", direction=direction,
                       source="register", baseline=None if baseline is None else D(baseline),
                       target=None if target is None else D(target), origin=KpiOrigin.TEMPLATE,
                       dropped_at=NOW if dropped else None, drop_reason="no longer measured" if dropped else None)
    db.session.add(kpi)
    db.session.flush()
    made.kpis[key] = kpi
    return kpi


def add_report(made: Made, number: int, values: dict[str, object], *, submitted: bool = True,
               year: int = 2027) -> SelfEvaluationReport:
    start = date(year + (number - 1) // 2, 1 if number % 2 else 7, 1)
    end = date(start.year, 6, 30) if start.month == 1 else date(start.year, 12, 31)
    report = SelfEvaluationReport(
        initiative_id=made.initiative.id, scorecard_id=made.scorecard.id, number=number, period_start=start,
        period_end=end, due_on=end, status=ReportStatus.SUBMITTED if submitted else ReportStatus.DRAFT,
        narrative="What happened" if submitted else "", submitted_at=NOW if submitted else None)
    db.session.add(report)
    db.session.flush()
    for key, value in values.items():
        db.session.add(ReportValue(report_id=report.id, kpi_id=made.kpis[key].id,
                                   value=None if value is None else D(str(value))))
    db.session.flush()
    return report


@pytest.fixture
def call(app) -> Call:
    return make_call()


@pytest.fixture
def people(app):
    return {"manager": user("pm@programme.example.org", Role.PROGRAMME_MANAGER),
            "admin": user("admin@programme.example.org", Role.FUND_ADMINISTRATOR),
            "reviewer": user("rev@programme.example.org", Role.REVIEWER)}


# Pure ranking -----------------------------------------------------------------------------------------------


def test_progress_and_ranks_pure():
    assert benchmarking.progress(D(5), D(0), D(10)) == D("0.5")
    assert benchmarking.progress(D(6), D(10), D(2)) == D("0.5")  # lower is better: 10 → 2, now 6
    assert benchmarking.progress(D(12), D(10), D(2)) == D("-0.25")
    assert benchmarking.progress(D(5), D(3), D(3)) is None
    assert benchmarking.progress(None, D(3), D(4)) is None
    assert benchmarking.progress(D(5), None, D(4)) is None
    assert benchmarking.ranks([D("0.5"), None, D("0.9"), D("0.5"), D("0.1")]) == [2, None, 1, 2, 4]
    assert [benchmarking.letters(i) for i in (0, 1, 25, 26, 27)] == ["A", "B", "Z", "AA", "AB"]


# Generated data against a straightforward recomputation -----------------------------------------------------


def _expected(data: dict[int, dict]) -> dict[int, tuple]:
    """initiative number → (latest, period end, progress, rank), recomputed plainly."""
    latest: dict[int, tuple] = {}
    for number, d in data.items():
        submitted = [(end, value) for end, value, ok in d["reports"] if ok and value is not None]
        if submitted:
            end, value = max(submitted)
            latest[number] = (D(str(value)), end)
        else:
            latest[number] = (None, None)
    progresses = {}
    for number, d in data.items():
        value = latest[number][0]
        base, goal = d["baseline"], d["target"]
        if value is None or base is None or goal is None or D(goal) == D(base):
            progresses[number] = None
        else:
            progresses[number] = (value - D(base)) / (D(goal) - D(base))
    result = {}
    for number in data:
        p = progresses[number]
        rank = None if p is None else 1 + sum(1 for q in progresses.values() if q is not None and q > p)
        result[number] = (latest[number][0], latest[number][1], p, rank)
    return result


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ranking_matches_an_independent_computation(call, people, seed):
    rng = random.Random(seed)
    data: dict[int, dict] = {}
    by_reference: dict[str, int] = {}
    for number in range(1, 13):
        made = make_initiative(call, number)
        lower = rng.random() < 0.4
        base = D(rng.randint(0, 50))
        goal = base + (-1 if lower else 1) * D(rng.randint(0, 40)) if rng.random() > 0.1 else None
        add_kpi(made, "firms_exporting", base, goal, Direction.LOWER if lower else Direction.HIGHER)
        add_kpi(made, "other_kpi", 0, 1)
        reports = []
        for r in range(1, rng.randint(1, 6)):
            ok = rng.random() < 0.7
            value = None if rng.random() < 0.1 else D(rng.randint(-20, 120)) / 4
            # ties: some values repeat exactly
            if number % 4 == 0:
                value = D("10.25")
            report = add_report(made, r, {"firms_exporting": value, "other_kpi": 1}, submitted=ok)
            reports.append((report.period_end, value, ok))
        data[number] = {"baseline": base, "target": goal, "reports": reports}
        by_reference[made.initiative.reference] = number
    db.session.commit()
    expected = _expected(data)
    mark = benchmarking.benchmark("firms_exporting", actor=people["manager"])
    assert len(mark.rows) == 12 and mark.names_shown
    got = {by_reference[r.reference]: (r.latest, r.period_end, r.progress, r.rank) for r in mark.rows}
    assert got == expected
    ranks = [r.rank for r in mark.rows]
    known = [r for r in ranks if r is not None]
    assert known == sorted(known) and ranks[len(known):] == [None] * (len(ranks) - len(known))


def test_ties_share_a_rank_and_lower_is_better(call, people):
    a, b, c, d = (make_initiative(call, n) for n in range(1, 5))
    add_kpi(a, "waste", 100, 50, Direction.LOWER)  # 100 → 50, now 75: progress 0.5
    add_kpi(b, "waste", 10, 20)  # 10 → 20, now 15: progress 0.5 (tie)
    add_kpi(c, "waste", 40, 20, Direction.LOWER)  # 40 → 20, now 20: progress 1 (best)
    add_kpi(d, "waste", 40, 20, Direction.LOWER)  # got worse: 50 → progress -0.5
    add_report(a, 1, {"waste": 75})
    add_report(b, 1, {"waste": 15})
    add_report(c, 1, {"waste": 20})
    add_report(d, 1, {"waste": 50})
    db.session.commit()
    rows = benchmarking.benchmark("waste", actor=people["admin"]).rows
    assert [(r.reference, r.progress, r.rank) for r in rows] == [
        ("INI-003", D(1), 1), ("INI-001", D("0.5"), 2), ("INI-002", D("0.5"), 2), ("INI-004", D("-0.5"), 4)]


def test_draft_values_and_dropped_kpis_are_ignored(call, people):
    a, b, c = (make_initiative(call, n) for n in range(1, 4))
    for made in (a, b):
        add_kpi(made, "sales", 0, 100)
    add_kpi(c, "sales", 0, 100, dropped=True)
    add_report(a, 1, {"sales": 10})
    add_report(a, 2, {"sales": 90}, submitted=False)  # a later draft: not counted
    add_report(b, 1, {"sales": None}, submitted=False)
    add_report(c, 1, {"sales": 100})
    db.session.commit()
    rows = {r.reference: r for r in benchmarking.benchmark("sales", actor=people["manager"]).rows}
    assert set(rows) == {"INI-001", "INI-002"}
    assert rows["INI-001"].latest == D(10) and rows["INI-001"].period_end == date(2027, 6, 30)
    assert rows["INI-001"].progress == D("0.1") and rows["INI-001"].rank == 1
    assert rows["INI-002"].latest is None and rows["INI-002"].rank is None


def test_shared_kpis_counts_and_visibility(call, people):
    a, b, c = (make_initiative(call, n) for n in range(1, 4))
    for made in (a, b, c):
        add_kpi(made, "shared_all", 0, 10, name="Shared by all")
    add_kpi(a, "shared_ab", 0, 10, name="Shared by two")
    add_kpi(b, "shared_ab", 0, 5, name="Shared by two")
    add_kpi(c, "shared_ab", 0, 5, dropped=True)
    add_kpi(a, "only_a", 0, 1)
    db.session.commit()
    listed = {k.key: k.initiatives for k in benchmarking.shared_kpis(actor=people["manager"])}
    assert listed == {"shared_all": 3, "shared_ab": 2}
    assert {k.key for k in benchmarking.shared_kpis(actor=people["admin"])} == set(listed)
    assert {k.key for k in benchmarking.shared_kpis(actor=c.lead)} == {"shared_all"}
    assert {k.key for k in benchmarking.shared_kpis(actor=a.lead)} == {"shared_all", "shared_ab"}
    with pytest.raises(AccessDenied):
        benchmarking.shared_kpis(actor=people["reviewer"])
    with pytest.raises(NotFound):
        benchmarking.benchmark("shared_ab", actor=c.lead)  # its own KPI was dropped
    with pytest.raises(NotFound):
        benchmarking.benchmark("shared_all", actor=people["reviewer"])
    with pytest.raises(NotFound):
        benchmarking.benchmark("no_such_key", actor=people["manager"])
    outsider = user("outsider@groups.example.org", Role.APPLICANT)
    assert benchmarking.shared_kpis(actor=outsider) == []
    with pytest.raises(NotFound):
        benchmarking.benchmark("shared_all", actor=outsider)


def _three(call) -> list[Made]:
    made = [make_initiative(call, n) for n in range(1, 4)]
    for m, value in zip(made, (30, 80, 55), strict=True):
        add_kpi(m, "exports", 0, 100)
        add_report(m, 1, {"exports": value})
    db.session.commit()
    return made


def test_a_group_sees_itself_named_and_the_others_anonymous_until_published(call, people):
    a, b, c = _three(call)
    rows = benchmarking.benchmark("exports", actor=a.lead).rows
    assert [(r.label, r.rank, r.own) for r in rows] == [
        ("Initiative A", 1, False), ("Initiative B", 2, False), ("INI-001 · Cluster initiative 1", 3, True)]
    assert all(r.initiative_id is None and r.reference is None and r.name is None for r in rows if not r.own)
    benchmarking.publish("exports", actor=people["manager"], now=NOW)
    db.session.commit()
    rows = benchmarking.benchmark("exports", actor=a.lead).rows
    assert [r.reference for r in rows] == ["INI-002", "INI-003", "INI-001"]


def test_publish_and_withdraw_are_managers_only_idempotent_and_audited(call, people):
    a, *_ = _three(call)
    for who in (people["admin"], people["reviewer"], a.lead):
        with pytest.raises(AccessDenied):
            benchmarking.publish("exports", actor=who, now=NOW)
        with pytest.raises(AccessDenied):
            benchmarking.withdraw("exports", actor=who, now=NOW)
    with pytest.raises(NotFound):
        benchmarking.publish("nothing", actor=people["manager"], now=NOW)
    first = benchmarking.publish("exports", actor=people["manager"], now=NOW)
    again = benchmarking.publish("exports", actor=people["manager"], now=NOW)
    assert first.id == again.id
    assert benchmarking.withdraw("exports", actor=people["manager"], now=NOW) is True
    assert benchmarking.withdraw("exports", actor=people["manager"], now=NOW) is False
    db.session.commit()
    assert db.session.scalars(select(BenchmarkPublication)).all() == []
    actions = list(db.session.scalars(select(AuditEntry.action).where(AuditEntry.action.like("benchmark.%"))
                                      .order_by(AuditEntry.id)))
    assert actions == ["benchmark.published", "benchmark.withdrawn"]


# Pages --------------------------------------------------------------------------------------------------------


def test_the_pages_hide_other_names_from_a_group(call, people, client, login):
    a, b, c = _three(call)
    login(a.lead)
    index = client.get("/benchmarking")
    assert index.status_code == 200 and "/benchmarking/exports" in index.get_data(as_text=True)
    page = client.get("/benchmarking/exports")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Cluster initiative 1" in html and "INI-001" in html
    for hidden in ("INI-002", "INI-003", "Cluster initiative 2", "Cluster initiative 3"):
        assert hidden not in html
    assert "Initiative A" in html and "names are hidden unless the programme publishes them" in html
    assert "bar-own" in html and "<svg" in html
    assert "Publish the names" not in html
    assert client.get("/kpi-matrix.xlsx").status_code == 403
    assert client.post("/benchmarking/exports/publication").status_code == 403
    benchmarking.publish("exports", actor=people["manager"], now=NOW)
    db.session.commit()
    html = client.get("/benchmarking/exports").get_data(as_text=True)
    assert "INI-002" in html and "Cluster initiative 3" in html


def test_the_manager_publishes_and_withdraws_through_the_page(call, people, client, login):
    _three(call)
    login(people["manager"])
    html = client.get("/benchmarking/exports").get_data(as_text=True)
    assert "INI-002" in html and "Publish the names to the groups" in html
    response = client.post("/benchmarking/exports/publication")
    assert response.status_code == 302
    assert db.session.scalar(select(BenchmarkPublication.kpi_key)) == "exports"
    assert client.post("/benchmarking/exports/publication").status_code == 302  # again: no change
    html = client.get("/benchmarking/exports").get_data(as_text=True)
    assert "Withdraw the publication of names" in html
    assert client.post("/benchmarking/exports/publication/withdraw").status_code == 302
    assert db.session.scalar(select(BenchmarkPublication.kpi_key)) is None
    assert client.post("/benchmarking/nothing/publication").status_code == 404


@pytest.mark.parametrize("who, index, kpi", [("manager", 200, 200), ("admin", 200, 200), ("reviewer", 403, 404)])
def test_page_access_by_role(call, people, client, login, who, index, kpi):
    _three(call)
    login(people[who])
    assert client.get("/benchmarking").status_code == index
    assert client.get("/benchmarking/exports").status_code == kpi
    if who == "admin":
        assert client.post("/benchmarking/exports/publication").status_code == 403


def test_anonymous_visitors_are_sent_to_log_in(call, client):
    for path in ("/benchmarking", "/benchmarking/exports", "/kpi-matrix.xlsx"):
        response = client.get(path)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_another_groups_kpi_page_is_not_found(call, client, login):
    a, b, c = _three(call)
    outsider = user("someone@groups.example.org", Role.APPLICANT)
    db.session.commit()
    login(outsider)
    assert client.get("/benchmarking/exports").status_code == 404


def test_reading_is_a_fixed_number_of_queries_whatever_the_size(call, people):
    from sqlalchemy import event

    made = [make_initiative(call, n) for n in range(1, 21)]
    for m in made:
        for k in range(3):
            add_kpi(m, f"kpi_{k}", 0, 10)
        for r in range(1, 5):
            add_report(m, r, {f"kpi_{k}": r + k for k in range(3)})
    db.session.commit()
    benchmarking.benchmark("kpi_1", actor=made[0].lead)  # the actors loaded again after the commit
    benchmarking.shared_kpis(actor=people["manager"])
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        mark = benchmarking.benchmark("kpi_1", actor=made[0].lead)
        shared = benchmarking.shared_kpis(actor=people["manager"])
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(mark.rows) == 20 and len(shared) == 3
    assert len(statements) <= 5, statements  # group ids, rows, publication; shared KPIs, publications


def test_the_index_names_kpis_without_their_keys(call, people, client, login):
    """Issue 16: people read a KPI's name; its key stays in the addresses and the KPI matrix export."""
    for made in _three(call)[:2]:
        add_kpi(made, "business_leaders_in_steering", 0, 10, name="Business leaders in the steering committee")
    db.session.commit()
    login(people["manager"])
    html = client.get("/benchmarking").get_data(as_text=True)
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "Business leaders in the steering committee" in text
    assert "business_leaders_in_steering" not in text and "<th>Key</th>" not in html
    assert "/benchmarking/business_leaders_in_steering" in html  # the link, for the browser
