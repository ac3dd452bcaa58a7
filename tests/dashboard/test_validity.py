"""The contest's validity: a decided call's scores against its initiatives' later progress, worked out by hand.

The world: six proposals scored by two reviewers who agree, all funded; the initiatives' KPIs have a baseline of 0
and a target of 10, and the latest report's value v gives a progress of v / 10. Initiative 3 is terminated (its
report said 0.7: it still ranks last); initiative 6 has no report (left out)."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from programme.core.access import Role
from programme.dashboard.validity import TERMINATED_OUTCOME, call_validity, initiative_progress
from programme.extensions import db
from programme.funding.models import Initiative, InitiativeStatus
from programme.monitoring.models import ReportStatus, ReportValue, SelfEvaluationReport
from programme.monitoring.services import scorecards as monitoring
from programme.reviews import services as reviews
from tests.proposals.builders import complete_proposal, make_call
from tests.reviews.world import AFTER, DURING, assign, build, submit_review, user

D = Decimal
NOW = datetime(2028, 3, 1, 9, 0, tzinfo=UTC)

#: Per proposal: cooperation, first activities, composition (the other criteria: 4, and 3 for own indicators).
SCORES = [("5", "3", "5"), ("4.5", "3.5", "4.5"), ("4", "4", "4"), ("3.5", "4.5", "3.5"), ("3.5", "5", "3"),
          ("3", "5", "3")]
#: Per initiative: the latest report's KPI value (progress = value / 10), None for no report.
LATEST = [D("9"), D("6"), D("7"), D("5"), D("2"), None]


def _world(*, reported: int = 5):
    """The decided call; only the first ``reported`` initiatives (of those with a value in LATEST) file reports."""
    world = build(proposals=6, reviewers=2, requested=[D("30000.00")] * 6)
    for proposal, (cooperation, first, composition) in zip(world.proposals, SCORES, strict=True):
        given = {c.key: D("4") for c in world.call.criteria}
        given.update(cooperation=D(cooperation), first_activities=D(first), composition=D(composition),
                     own_indicators=D("3"))
        for review in assign(world, proposal, *world.reviewers):
            submit_review(review, given)
    reviews.decide_as_ranked(world.call, actor=world.manager, now=DURING)
    made = {i.proposal_id: i for i in reviews.publish_decisions(world.call, actor=world.manager, now=AFTER)}
    initiatives = [made[p.id] for p in world.proposals]
    for index, (initiative, value) in enumerate(zip(initiatives, LATEST, strict=True)):
        if value is None or index >= reported:
            continue
        lead = world.leads[index]
        card = monitoring.start_scorecard(initiative, template_key=None,
                                          rules_folder=str(_rules_folder()), actor=lead, now=AFTER)
        kpi = monitoring.kpis_of(card)[0]
        kpi.baseline, kpi.target = D("0"), D("10")
        # An older report with another value: only the latest one counts.
        for number, (end, figure) in enumerate(((date(2027, 12, 31), D("1")), (date(2028, 1, 31), value)), start=1):
            report = SelfEvaluationReport(
                initiative_id=initiative.id, scorecard_id=card.id, number=number, period_start=date(2027, 7, 1),
                period_end=end, due_on=end, narrative="Done.", status=ReportStatus.SUBMITTED,
                submitted_at=datetime(2028, 2, 1, tzinfo=UTC))
            db.session.add(report)
            db.session.flush()
            db.session.add(ReportValue(report_id=report.id, kpi_id=kpi.id, value=figure))
    initiatives[2].status = InitiativeStatus.TERMINATED
    db.session.flush()
    return world, initiatives


def _rules_folder():
    from programme.config import PROJECT_ROOT

    return PROJECT_ROOT / "rules"


def _rho(validity, key: str):
    return next(c.correlation for c in validity.correlations if c.key == key)


# --- progress -----------------------------------------------------------------------------------


def test_progress_is_the_mean_share_of_the_way_held_between_zero_and_one():
    assert initiative_progress([(D("9"), D("0"), D("10"))]) == D("0.9")
    # lower is better (target below baseline): 10 -> 5, now 6: 0.8 of the way; mean with 0.9 is 0.85
    assert initiative_progress([(D("9"), D("0"), D("10")), (D("6"), D("10"), D("5"))]) == D("0.85")
    # past the target counts as 1, worse than the baseline as 0
    assert initiative_progress([(D("15"), D("0"), D("10")), (D("-3"), D("0"), D("10"))]) == D("0.5")
    # no value, no target, or target = baseline: not usable
    assert initiative_progress([(None, D("0"), D("10")), (D("3"), None, D("10")), (D("3"), D("3"), D("3"))]) is None
    assert initiative_progress([]) is None


# --- enough data --------------------------------------------------------------------------------


def test_rank_correlations_of_a_call_with_enough_initiatives(app):
    world, initiatives = _world()
    validity = call_validity(world.call, actor=world.manager)
    rows = {row.initiative_id: row for row in validity.rows}
    assert [rows[i.id].progress for i in initiatives] == [D("0.9"), D("0.6"), D("0.7"), D("0.5"), D("0.2"), None]
    assert rows[initiatives[2].id].outcome == TERMINATED_OUTCOME  # its report said 0.7: it still ranks last
    assert rows[initiatives[5].id].outcome is None and rows[initiatives[5].id].outcome_text == \
        "no report submitted yet"
    assert validity.n == 5 and validity.enough
    # cooperation 5, 4.5, 4, 3.5, 3.5 against outcomes .9, .6, terminated, .5, .2: x ranks 5, 4, 3, 1.5, 1.5,
    # y ranks 5, 4, 1, 3, 2; sxy = 6.5, sxx = 9.5, syy = 10: rho = 6.5 / sqrt(95) = 0.6669
    assert _rho(validity, "cooperation").rho == D("0.6669") and _rho(validity, "cooperation").n == 5
    # first activities 3, 3.5, 4, 4.5, 5 (no ties): d = -4, -2, 2, 1, 3, sum d^2 = 34: 1 - 6 * 34 / 120 = -0.7
    assert _rho(validity, "first_activities").rho == D("-0.7000")
    # totals 12, 11.8, 11.6, 11.4, 11.45 (ranks 5, 4, 3, 1, 2): d = 0, 0, 2, -2, 0: 1 - 48 / 120 = 0.6
    assert _rho(validity, "total").rho == D("0.6000")
    # the two-sided p-values, exact over the 5! orderings: 32, 28 and 42 of 120
    assert _rho(validity, "cooperation").p_value == pytest.approx(32 / 120)
    assert _rho(validity, "first_activities").p_value == pytest.approx(28 / 120)
    assert _rho(validity, "total").p_value == pytest.approx(42 / 120) and _rho(validity, "total").p_exact
    assert _rho(validity, "private_leadership").p_value is None
    # every initiative scored 4 on private leadership and 3 on its own indicators: no ranking to compare
    assert _rho(validity, "private_leadership").rho is None
    assert _rho(validity, "own_indicators").reason == "every score is the same"


def test_the_validity_page_shows_the_coefficients_with_their_sample(app, client, login):
    world, _ = _world()
    world.manager.email = "manager@review.example.org"
    db.session.commit()
    login(world.manager)
    response = client.get(f"/dashboard/validity/{world.call.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Sample too small" not in html
    row = html[html.index('class="correlation-cooperation"'):]
    row = row[:row.index("</tr>")]
    assert '<td class="num">5</td>' in row and '<td class="num rho">0.6669</td>' in row and "strong positive" in row
    # its p-value, exact over the 5! orderings (tests/dashboard/test_rank_correlation.py): 32 of 120
    assert '<td class="num p-value">p = 0.27</td>' in row
    total = html[html.index('class="correlation-total"'):]
    assert '<td class="num p-value">p = 0.35</td>' in total[:total.index("</tr>")]  # rho 0.6 over 5: 42 of 120
    assert "What the p-value means" in html and "With up to 8 initiatives it is exact" in html
    assert "undefined: every score is the same" in html
    assert "terminated: ranked last" in html and "left out: no report submitted yet" in html
    dashboard = client.get("/dashboard").get_data(as_text=True)
    assert f'href="/dashboard/validity/{world.call.id}"' in dashboard


def test_the_export_holds_the_coefficients_and_the_initiatives(app, client, login):
    world, initiatives = _world()
    world.manager.email = "manager@review.example.org"
    db.session.commit()
    login(world.manager)
    response = client.get(f"/dashboard/validity/{world.call.id}.xlsx")
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.data))
    rows = list(book["Rank correlations"].iter_rows(values_only=True))
    assert rows[0] == ("Score", "Sample (n)", "Spearman's rho", "p-value (two-sided)", "How the p-value is worked out",
                       "Note")
    cooperation = next(r for r in rows if r[0] == "Quality of co-operation among the members")
    assert cooperation[1] == 5 and D(str(cooperation[2])) == D("0.6669")
    assert D(str(cooperation[3])) == D("0.27") and cooperation[4] == "exact: every ordering of the outcomes counted"
    total = next(r for r in rows if r[0] == "Total score")
    assert D(str(total[3])) == D("0.35")
    same = next(r for r in rows if r[5] == "undefined: every score is the same")
    assert same[2] is None and same[3] is None and same[4] is None
    listed = list(book["Initiatives"].iter_rows(values_only=True))
    assert len(listed) == 1 + 6 and listed[1][0] == initiatives[0].reference


def test_the_p_value_reads_in_spanish_and_portuguese(app, client, login):
    world, _ = _world()
    world.manager.email = "manager@review.example.org"
    db.session.commit()
    login(world.manager)
    for language, meaning, heading in (("es", "Qué significa el valor p", "Valor p (bilateral)"),
                                       ("pt", "O que o valor-p significa", "Valor-p (bilateral)")):
        headers = {"Accept-Language": language}
        html = client.get(f"/dashboard/validity/{world.call.id}", headers=headers).get_data(as_text=True)
        row = html[html.index('class="correlation-cooperation"'):]
        assert '<td class="num p-value">p = 0,27</td>' in row[:row.index("</tr>")] and meaning in html
        book = load_workbook(io.BytesIO(client.get(f"/dashboard/validity/{world.call.id}.xlsx",
                                                   headers=headers).data))
        assert heading in next(book.worksheets[0].iter_rows(values_only=True))


# --- too small a sample -------------------------------------------------------------------------


def test_a_small_sample_shows_n_and_no_coefficient(app, client, login):
    world, _ = _world(reported=2)  # two reports and the terminated initiative: n = 3
    validity = call_validity(world.call, actor=world.manager)
    assert validity.n == 3 and not validity.enough
    assert _rho(validity, "cooperation").rho is not None  # worked out, but not shown as meaningful
    world.manager.email = "manager@review.example.org"
    db.session.commit()
    login(world.manager)
    html = client.get(f"/dashboard/validity/{world.call.id}").get_data(as_text=True)
    assert "Sample too small: n = 3." in html and "No conclusion can be drawn yet" in html
    assert 'class="num rho"' not in html
    assert "not shown: fewer than 5 initiatives, no conclusion can be drawn" in html
    assert 'class="num p-value"' not in html and "p = " not in html and "What the p-value means" not in html
    book = load_workbook(io.BytesIO(client.get(f"/dashboard/validity/{world.call.id}.xlsx").data))
    rows = list(book["Rank correlations"].iter_rows(values_only=True))[1:]
    assert rows and all(row[2] is None and row[3] is None and row[4] is None for row in rows)


def test_too_few_pairs_is_undefined_not_a_coefficient(app):
    world, _ = _world(reported=1)
    world_call = world.call
    validity = call_validity(world_call, actor=world.manager)
    assert validity.n == 2
    assert all(c.correlation.rho is None and c.correlation.reason == "fewer than 3 pairs"
               for c in validity.correlations)


# --- access -------------------------------------------------------------------------------------


def test_only_managers_and_auditors_read_the_validity(app, client, login):
    world, _ = _world(reported=0)
    auditor = user("auditor@review.example.org", Role.AUDITOR)
    admin = user("admin@review.example.org", Role.FUND_ADMINISTRATOR)
    for person in (world.reviewers[0], world.leads[0]):
        person.email = person.email.replace(".test", ".example.org")
    db.session.commit()
    url = f"/dashboard/validity/{world.call.id}"
    for person, status in ((auditor, 200), (admin, 403), (world.reviewers[0], 403), (world.leads[0], 403)):
        client.post("/logout")
        login(person)
        assert client.get(url).status_code == status, person.email
        assert client.get(url + ".xlsx").status_code == status, person.email
    client.post("/logout")
    login(admin)
    assert 'id="validity"' not in client.get("/dashboard").get_data(as_text=True)


def test_a_call_not_decided_has_no_validity_page(app, client, login):
    world = build(proposals=1, reviewers=1)
    world.manager.email = "manager@review.example.org"
    db.session.commit()
    login(world.manager)
    assert client.get(f"/dashboard/validity/{world.call.id}").status_code == 404
    assert client.get("/dashboard/validity/999999").status_code == 404


@pytest.mark.parametrize("reported", [0])
def test_terminated_initiatives_count_even_without_a_report(app, reported):
    world, initiatives = _world(reported=reported)
    validity = call_validity(world.call, actor=world.manager)
    assert [row.initiative_id for row in validity.sample] == [initiatives[2].id]


def test_a_stage_is_judged_by_the_initiatives_funded_later_from_its_proposals(app):
    """A staged call: the initiatives come from the next stage's proposals, each started from one this call
    scored; the call's own scores are set against them."""
    world, initiatives = _world()
    later = make_call()
    for index, initiative in enumerate(initiatives):
        follow = complete_proposal(later, world.groups[index], world.leads[index], title=f"Stage two {index}")
        follow.previous_proposal_id = initiative.proposal_id
        db.session.flush()
        initiative.proposal_id = follow.id
    db.session.flush()
    validity = call_validity(world.call, actor=world.manager)
    assert {row.initiative_id for row in validity.rows} == {i.id for i in initiatives}
    assert _rho(validity, "cooperation").rho == D("0.6669") and validity.n == 5


def test_a_network_funded_at_two_stages_counts_once_with_its_later_initiative(app):
    """A stage that pays opens an initiative, and the next stage's award another for the same network: the stage's
    score is set against the later initiative (how the network went on), and counted once."""
    world, initiatives = _world()
    later = make_call()
    earlier = []
    for index, initiative in enumerate(initiatives):
        follow = complete_proposal(later, world.groups[index], world.leads[index], title=f"Stage two {index}")
        follow.previous_proposal_id = initiative.proposal_id
        db.session.flush()
        # The paying stage's own initiative, on the proposal this call scored (no reports: its business plan).
        earlier.append(Initiative(reference=f"INI-STAGE-{index}", name=initiative.name, call_id=world.call.id,
                                  proposal_id=initiative.proposal_id, group_id=initiative.group_id,
                                  currency=initiative.currency, started_at=initiative.started_at))
        initiative.proposal_id = follow.id
    db.session.add_all(earlier)
    db.session.flush()
    validity = call_validity(world.call, actor=world.manager)
    assert {row.initiative_id for row in validity.rows} == {i.id for i in initiatives}
    assert _rho(validity, "cooperation").rho == D("0.6669") and validity.n == 5
