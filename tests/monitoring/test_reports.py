"""Self-evaluation reports: the drafts opened for each period that has begun, the daily job (reminders and overdue
flags, run twice: same result, nothing sent the second time), saving with bad values (nothing changes, the field
is named), submission (the missing items named; frozen after), access for each role, the pages through the test
client, the job and the command."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from programme.accounts.models import User, UserRole
from programme.config import PROJECT_ROOT
from programme.core.access import AccessDenied, NotFound, Role, RuleViolation, SystemActor
from programme.core.audit import AuditEntry
from programme.core.notifications import Notification
from programme.core.timezone import format_day
from programme.extensions import db
from programme.funding.models import Initiative, InitiativeStatus
from programme.monitoring.models import ReportStatus, ReportValue, Scorecard, ScorecardKpi, SelfEvaluationReport
from programme.monitoring.services import reports
from programme.monitoring.services import scorecards as services
from programme.reviews import services as review_services
from tests.funding.conftest import LATER, Funded, funded_initiative, loginable, page_text
from tests.proposals.builders import make_group
from tests.reviews.world import AFTER, DURING, assign, build, submit_review, user
from tests.worlds import Kept, keep, reload

D = Decimal
RULES = PROJECT_ROOT / "rules"
JOB = SystemActor("test job")
TZ = "UTC"
#: The fixture's initiative starts on 1 June 2027: period 1 is June to November 2027, due 30 December 2027
#: (reminded from 16 December); period 2 is December 2027 to May 2028, due 30 June 2028.
START = date(2027, 6, 1)
REMIND_1, DUE_1 = date(2027, 12, 16), date(2027, 12, 30)
NOW = datetime(2027, 12, 16, 1, 0, tzinfo=UTC)


def moment(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def funded_once(built_once) -> Kept:
    with built_once():
        return keep(funded_initiative())


@pytest.fixture
def f(app, funded_once: Kept) -> Funded:
    return reload(funded_once)


def start(f: Funded) -> Scorecard:
    card = services.start_scorecard(f.initiative, template_key="scottish_cluster", rules_folder=RULES,
                                    actor=f.applicant, now=LATER)
    db.session.commit()
    return card


def opened(f: Funded, day: date = START) -> list[SelfEvaluationReport]:
    made = reports.open_reports(f.initiative, today=day, actor=f.applicant, now=moment(day), timezone=TZ)
    db.session.commit()
    return made


def run(day: date) -> reports.ReportRun:
    result = reports.run_report_schedule(today=day, actor=JOB, now=moment(day), timezone=TZ)
    db.session.commit()
    return result


def notes() -> int:
    return db.session.scalar(select(func.count()).select_from(Notification)) or 0


def live(card: Scorecard) -> list[ScorecardKpi]:
    return [k for k in services.kpis_of(card) if k.live]


def fill(report: SelfEvaluationReport, card: Scorecard, who, **over) -> SelfEvaluationReport:
    values = {k.id: (D(i + 1), "") for i, k in enumerate(live(card))}
    texts = {"narrative": "We met four times.", "learned": "Firms share more than we thought.",
             "will_change": "Meet monthly.", **over}
    saved = reports.save_report(report, values=values, actor=who, now=NOW, **texts)
    db.session.commit()
    return saved


def fresh(report: SelfEvaluationReport) -> SelfEvaluationReport:
    db.session.expire_all()
    return db.session.get(SelfEvaluationReport, report.id)


# Opening the drafts --------------------------------------------------------------------------------------------


def test_no_scorecard_no_reports(f):
    assert opened(f, date(2028, 1, 1)) == []
    assert run(date(2028, 1, 1)) == reports.ReportRun(date(2028, 1, 1), 0, 0, 0, 0)
    assert reports.missing_periods(f.initiative, today=date(2028, 1, 1), actor=f.applicant, timezone="UTC") == []


def test_drafts_are_opened_for_the_periods_that_have_begun_once(f):
    card = start(f)
    assert opened(f, date(2027, 5, 31)) == []
    (first,) = opened(f, START)
    assert (first.number, first.period_start, first.period_end, first.due_on) == (1, START, date(2027, 11, 30),
                                                                                   DUE_1)
    assert first.status == ReportStatus.DRAFT and first.scorecard_id == card.id and not first.frozen
    assert opened(f, START) == [] and opened(f, date(2027, 11, 30)) == []
    assert [r.number for r in opened(f, date(2028, 6, 1))] == [2, 3]
    assert [r.number for r in reports.reports_of(f.initiative, actor=f.admin)] == [1, 2, 3]
    assert db.session.scalar(select(func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "report.opened")) == 3


@pytest.mark.parametrize("status", [InitiativeStatus.TERMINATED, InitiativeStatus.COMPLETED])
def test_a_closed_initiative_opens_no_report(f, status):
    start(f)
    f.initiative.status = status
    db.session.commit()
    assert opened(f, date(2028, 1, 1)) == []
    assert run(date(2028, 1, 1)).opened == 0


# The daily job -------------------------------------------------------------------------------------------------


def test_the_job_reminds_once_and_flags_overdue_once(f):
    start(f)
    group_users = len(f.initiative.group.users)
    managers = db.session.scalar(select(func.count()).select_from(UserRole).where(
        UserRole.role == Role.PROGRAMME_MANAGER))

    base = notes()  # the fixture's own (decisions published...)
    before = run(date(2027, 12, 15))
    assert (before.opened, before.reminded, before.flagged) == (2, 0, 0)  # periods 1 and 2 have begun
    assert before.notifications == 0 and notes() == base

    first = run(REMIND_1)
    assert (first.opened, first.reminded, first.flagged) == (0, 1, 0)
    assert first.notifications == group_users == notes() - base
    report = fresh(reports.reports_of(f.initiative, actor=f.manager)[0])
    assert report.reminded_at == moment(REMIND_1) and report.overdue_at is None
    note = db.session.scalars(select(Notification).order_by(Notification.id.desc())).first()
    assert note.link == f"/reports/{report.id}" and note.user_id == f.applicant.id

    again = run(REMIND_1)
    assert again == reports.ReportRun(REMIND_1, 0, 0, 0, 0) and "no change" in again.summary()
    assert notes() == base + group_users
    assert run(DUE_1) == reports.ReportRun(DUE_1, 0, 0, 0, 0)  # due today: not overdue yet

    late = run(date(2027, 12, 31))
    assert (late.opened, late.reminded, late.flagged) == (0, 0, 1)
    assert late.notifications == group_users + managers == notes() - base - group_users
    report = fresh(report)
    assert report.overdue_at == moment(date(2027, 12, 31))
    told = {n.user_id for n in db.session.scalars(select(Notification).where(Notification.subject.icontains(
        "overdue")))}
    assert {f.applicant.id, f.manager.id} <= told
    count = notes()
    assert run(date(2027, 12, 31)) == reports.ReportRun(date(2027, 12, 31), 0, 0, 0, 0)
    assert notes() == count
    assert [r.id for r in reports.reports_awaiting(actor=f.manager)] == [report.id]
    assert [r.id for r in reports.reports_awaiting(actor=f.admin)] == [report.id]
    assert reports.reports_awaiting(actor=f.applicant) == []


def test_the_next_day_flags_the_newly_overdue_only(f):
    card = start(f)
    run(date(2027, 12, 31))  # report 1 reminded and flagged, report 2 opened
    second = reports.reports_of(f.initiative, actor=f.manager)[1]
    assert second.number == 2 and second.due_on == date(2028, 6, 30)
    result = run(date(2028, 6, 16))
    assert (result.opened, result.reminded, result.flagged) == (1, 1, 0)  # report 3 opened, report 2 reminded
    assert run(date(2028, 6, 30)).flagged == 0
    # the group submits report 3 early; report 2 stays a draft
    third = reports.reports_of(f.initiative, actor=f.manager)[2]
    fill(third, card, f.applicant)
    reports.submit_report(third, actor=f.applicant, now=NOW)
    db.session.commit()
    result = run(date(2028, 7, 1))
    assert (result.opened, result.reminded, result.flagged) == (0, 0, 1)
    flagged = [r.number for r in reports.reports_of(f.initiative, actor=f.manager) if r.overdue_at]
    assert flagged == [1, 2]
    assert run(date(2028, 7, 1)).summary() == "monitoring daily 2028-07-01: no change"
    # a submitted report is never reminded nor flagged
    result = run(date(2029, 1, 1))
    assert result.flagged == 0 and fresh(third).overdue_at is None and fresh(third).reminded_at is None


def test_a_submitted_report_is_not_reminded_and_a_terminated_initiative_is_not_flagged(f):
    card = start(f)
    (first,) = opened(f, START)
    fill(first, card, f.applicant)
    reports.submit_report(first, actor=f.applicant, now=NOW)
    db.session.commit()
    result = run(date(2028, 1, 1))
    assert (result.reminded, result.flagged) == (0, 0) and result.opened == 1
    f.initiative.status = InitiativeStatus.TERMINATED
    db.session.commit()
    assert run(date(2028, 8, 1)) == reports.ReportRun(date(2028, 8, 1), 0, 0, 0, 0)
    assert reports.reports_awaiting(actor=f.manager) == []


# Saving --------------------------------------------------------------------------------------------------------


@dataclass
class Two:
    one: Initiative
    other: Initiative
    lead_one: User
    lead_other: User
    manager: User


@pytest.fixture
def two(app) -> Two:
    world = build(proposals=2, reviewers=3, requested=[D("30000.00"), D("30000.00")])
    for proposal in world.proposals:
        for review in assign(world, proposal, *world.reviewers):
            submit_review(review, "4")
    review_services.decide_as_ranked(world.call, actor=world.manager, now=DURING)
    one, other = sorted(review_services.publish_decisions(world.call, actor=world.manager, now=AFTER),
                        key=lambda i: i.id)
    lead_one = next(lead for lead in world.leads if one.group.role_of(lead) is not None)
    lead_other = next(lead for lead in world.leads if other.group.role_of(lead) is not None)
    db.session.commit()
    return Two(one, other, lead_one, lead_other, world.manager)


def test_bad_values_change_nothing_and_name_the_field(two):
    card = services.start_scorecard(two.one, template_key=None, rules_folder=RULES, actor=two.lead_one, now=LATER)
    theirs = services.start_scorecard(two.other, template_key=None, rules_folder=RULES, actor=two.lead_other,
                                      now=LATER)
    db.session.commit()
    (report,) = reports.open_reports(two.one, today=START, actor=two.lead_one, now=NOW, timezone=TZ)
    db.session.commit()
    kpis = live(card)
    first, second = kpis[0], kpis[1]
    good = {first.id: (D("12.5"), "first"), second.id: (None, "not measured yet")}
    reports.save_report(report, values=good, narrative=" Started. ", learned="", will_change="", actor=two.lead_one,
                        now=NOW)
    db.session.commit()
    dropped = services.drop_kpi(kpis[2], reason="Hard to measure.", actor=two.lead_one, now=NOW)
    db.session.commit()

    def stored():
        db.session.expire_all()
        return sorted((v.kpi_id, v.value, v.note) for v in db.session.scalars(select(ReportValue)))

    assert stored() == sorted([(first.id, D("12.5"), "first"), (second.id, None, "not measured yet")])
    bad = [
        ({first.id: ("abc", "")}, f"value_{first.id}", "not a number"),
        ({first.id: (D("1.23456"), "")}, f"value_{first.id}", "at most 4 decimal places"),
        ({first.id: (1.5, "")}, f"value_{first.id}", "not a binary float"),
        ({first.id: (D("Infinity"), "")}, f"value_{first.id}", "finite"),
        ({first.id: (D("1e14"), "")}, f"value_{first.id}", "below"),
        ({theirs.kpis[0].id: (D(1), "")}, f"value_{theirs.kpis[0].id}", "not on the report's scorecard"),
        ({dropped.id: (D(1), "")}, f"value_{dropped.id}", "was dropped"),
        ({first.id: (D(1), "x" * 2001)}, f"note_{first.id}", "at most 2,000"),
    ]
    for values, field, message in bad:
        report = fresh(report)
        with pytest.raises(RuleViolation, match=message) as refused:
            reports.save_report(report, values={second.id: (D(7), "now measured"), **values}, narrative="Changed",
                                learned="", will_change="", actor=two.lead_one, now=LATER)
        assert refused.value.field == field
        db.session.rollback()
        assert stored() == sorted([(first.id, D("12.5"), "first"), (second.id, None, "not measured yet")])
        assert fresh(report).narrative == "Started."
    with pytest.raises(RuleViolation, match="at most") as refused:
        reports.save_report(fresh(report), values={}, narrative="n" * 10_001, learned="", will_change="",
                            actor=two.lead_one, now=NOW)
    assert refused.value.field == "narrative"
    db.session.rollback()


def test_four_places_are_kept_exactly_and_the_previous_value_is_shown(f):
    card = start(f)
    first, second = opened(f, date(2027, 12, 1))
    k = live(card)[0]
    reports.save_report(first, values={k.id: (D("1234567890.1234"), "")}, narrative="", learned="",
                        will_change="", actor=f.applicant, now=NOW)
    reports.save_report(second, values={k.id: (D("-0.0001"), "fell")}, narrative="", learned="", will_change="",
                        actor=f.manager, now=NOW)
    db.session.commit()
    lines = {line.kpi.id: line for line in reports.kpi_lines(fresh(second))}
    assert lines[k.id].value == D("-0.0001") and lines[k.id].previous == D("1234567890.1234")
    assert lines[k.id].note == "fell" and lines[k.id].has_previous
    assert {line.kpi.id for line in reports.kpi_lines(fresh(second))} == {x.id for x in live(card)}
    assert fresh(second).updated_by_id == f.manager.id


# Submitting ----------------------------------------------------------------------------------------------------


def test_submission_names_what_is_missing(f):
    card = start(f)
    (report,) = opened(f)
    kpis = live(card)
    with pytest.raises(RuleViolation) as refused:
        reports.submit_report(report, actor=f.applicant, now=NOW)
    message = refused.value.message
    assert refused.value.field == "narrative"
    assert "the narrative" in message and "what the group learned" in message
    assert "what the group will change" in message and all(f"“{k.name}”" in message for k in kpis)
    db.session.rollback()
    values = {k.id: (D(1), "") for k in kpis[1:]}
    reports.save_report(fresh(report), values={kpis[0].id: (None, "   "), **values}, narrative="We met.",
                        learned="A lot.", will_change="   ", actor=f.applicant, now=NOW)
    db.session.commit()
    with pytest.raises(RuleViolation) as refused:
        reports.submit_report(fresh(report), actor=f.applicant, now=NOW)
    assert refused.value.field == "will_change"
    assert "the narrative" not in refused.value.message and f"“{kpis[0].name}”" in refused.value.message
    assert f"“{kpis[1].name}”" not in refused.value.message
    db.session.rollback()
    assert fresh(report).status == ReportStatus.DRAFT


def test_a_submitted_report_is_frozen_and_the_managers_are_told(f):
    card = start(f)
    (report,) = opened(f)
    kpis = live(card)
    values = {k.id: (D(1), "") for k in kpis[1:]}
    reports.save_report(report, values={kpis[0].id: (None, "No survey this period."), **values},
                        narrative="We met.", learned="A lot.", will_change="More fairs.", actor=f.applicant, now=NOW)
    db.session.commit()
    count = notes()
    reports.submit_report(fresh(report), actor=f.applicant, now=NOW)
    db.session.commit()
    report = fresh(report)
    assert report.frozen and report.submitted_at == NOW and report.submitted_by_id == f.applicant.id
    assert notes() > count
    assert f.manager.id in {n.user_id for n in db.session.scalars(select(Notification).where(
        Notification.subject.icontains("submitted")))}
    for who in (f.applicant, f.manager):
        with pytest.raises(RuleViolation, match="frozen"):
            reports.save_report(report, values={}, narrative="Rewritten", learned="", will_change="", actor=who,
                                now=LATER)
        with pytest.raises(RuleViolation, match="frozen"):
            reports.submit_report(report, actor=who, now=LATER)
        db.session.rollback()
    # a KPI dropped later stays on the submitted report
    services.drop_kpi(kpis[1], reason="Replaced.", actor=f.applicant, now=LATER)
    db.session.commit()
    assert len(reports.kpi_lines(fresh(report))) == len(kpis)
    assert fresh(report).narrative == "We met."


# Access --------------------------------------------------------------------------------------------------------


def test_access_for_each_role(f):
    card = start(f)
    (report,) = opened(f)
    other = user("other@group.test")
    make_group(other, name="Another Group")
    db.session.commit()
    values = {live(card)[0].id: (D(1), "")}
    for outsider in (other, f.reviewer):
        with pytest.raises(NotFound):
            reports.get_report(report.id, actor=outsider)
        with pytest.raises(NotFound):
            reports.reports_of(f.initiative, actor=outsider)
        with pytest.raises(NotFound):
            reports.save_report(report, values=values, narrative="x", learned="", will_change="", actor=outsider,
                                now=NOW)
        with pytest.raises(NotFound):
            reports.submit_report(report, actor=outsider, now=NOW)
        with pytest.raises(NotFound):
            reports.open_reports(f.initiative, today=START, actor=outsider, now=NOW, timezone="UTC")
    assert reports.get_report(report.id, actor=f.admin) == report
    with pytest.raises(AccessDenied):
        reports.save_report(report, values=values, narrative="x", learned="", will_change="", actor=f.admin,
                            now=NOW)
    with pytest.raises(AccessDenied):
        reports.submit_report(report, actor=f.admin, now=NOW)
    with pytest.raises(AccessDenied):
        reports.open_reports(f.initiative, today=START, actor=f.admin, now=NOW, timezone="UTC")
    db.session.rollback()
    assert reports.save_report(fresh(report), values=values, narrative="By the manager", learned="",
                               will_change="", actor=f.manager, now=NOW).narrative == "By the manager"


# The pages -----------------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def frozen_clock(clock):
    clock(NOW)


@pytest.fixture
def pf(f: Funded) -> Funded:
    """The funded initiative, its people given addresses the login form accepts."""
    return loginable(f)


text = page_text


def listing(f: Funded) -> str:
    return f"/initiatives/{f.initiative.id}/reports"


def form_data(card: Scorecard, **over) -> dict[str, str]:
    data = {f"value_{k.id}": str(i + 1) for i, k in enumerate(live(card))}
    data.update({f"note_{k.id}": "" for k in live(card)})
    data.update({"narrative": "We met four times.", "learned": "Sharing works.", "will_change": "Meet monthly."})
    data.update(over)
    return data


def test_the_list_hints_at_the_scorecard_then_opens_and_lists_the_reports(client, login, pf):
    login(pf.applicant.email)
    empty = client.get(listing(pf))
    assert empty.status_code == 200
    body = empty.get_data(as_text=True)
    assert "The scorecard has no KPIs yet" in text(empty)
    assert f'href="/initiatives/{pf.initiative.id}/scorecard"' in body and "Start the scorecard" in body
    start(pf)
    shown = client.get(listing(pf))
    assert "2 period(s) have begun without a report" in text(shown)  # NOW is 16 December 2027
    assert client.post(listing(pf)).status_code == 302
    assert client.post(listing(pf)).status_code == 302  # nothing more to open
    shown = text(client.get(listing(pf)))
    assert "Report 1" in shown and "Report 2" in shown and "30 Dec 2027" in shown and "overdue" not in shown
    assert "have begun without a report" not in shown
    assert len(reports.reports_of(pf.initiative, actor=pf.manager)) == 2
    run(date(2027, 12, 31))
    shown = text(client.get(listing(pf)))
    assert "overdue" in shown


def test_the_group_fills_in_and_submits_a_report_through_the_page(client, login, pf):
    card = start(pf)
    (report,) = opened(pf)
    page = f"/reports/{report.id}"
    login(pf.applicant.email)
    body = client.get(page).get_data(as_text=True)
    assert f'action="{page}"' in body and f'action="{page}/submit"' in body
    k = live(card)[0]
    assert k.name in body and k.unit in body and k.direction.label in body

    response = client.post(page, data=form_data(card, **{f"value_{k.id}": "12.3456"}))
    assert response.status_code == 302
    assert fresh(report).narrative == "We met four times."
    assert db.session.scalar(select(ReportValue.value).where(ReportValue.kpi_id == k.id)) == D("12.3456")
    shown = client.get(page).get_data(as_text=True)
    assert 'value="12.3456"' in shown and "The saved draft is complete" in shown

    response = client.post(f"{page}/submit")
    assert response.status_code == 302
    assert fresh(report).frozen
    frozen = client.get(page)
    body = frozen.get_data(as_text=True)
    assert "<form" not in body.split("<main", 1)[-1] or f'action="{page}"' not in body
    assert f'action="{page}/submit"' not in body and "12.3456" in body and "frozen" in text(frozen)
    assert client.post(page, data=form_data(card)).status_code == 409
    assert client.post(f"{page}/submit").status_code == 409
    listed = text(client.get(listing(pf)))
    assert "Submitted" in listed or "submitted" in listed


def test_a_bad_form_is_refused_on_its_field_and_keeps_what_was_typed(client, login, pf):
    card = start(pf)
    (report,) = opened(pf)
    page = f"/reports/{report.id}"
    login(pf.applicant.email)
    k = live(card)[0]
    for typed, message in (("abc", "Not a valid decimal value."), ("1.23456", "Use at most 4 decimal places.")):
        response = client.post(page, data=form_data(card, **{f"value_{k.id}": typed}))
        assert response.status_code == 422
        body = response.get_data(as_text=True)
        assert re.search(rf'has-error">\s*<label for="value_{k.id}">', body), typed
        assert message in body and "We met four times." in body
    assert fresh(report).narrative == "" and db.session.scalar(select(func.count()).select_from(ReportValue)) == 0
    # a posted field for a KPI that is not on the form (another scorecard's, a dropped one) is ignored
    response = client.post(page, data=form_data(card, value_999999="5"))
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(ReportValue).where(ReportValue.kpi_id == 999999)) == 0

    # submission refused: the missing items named on the page
    response = client.post(page, data=form_data(card, will_change="", **{f"value_{k.id}": ""}))
    assert response.status_code == 302
    response = client.post(f"{page}/submit")
    assert response.status_code == 422
    body = text(response)
    assert "cannot be submitted yet" in body and "what the group will change" in body and f"“{k.name}”" in body
    assert re.search(r'has-error">\s*<label for="will_change">', response.get_data(as_text=True))
    assert not fresh(report).frozen


def test_pages_for_each_role(client, login, pf):
    card = start(pf)
    (report,) = opened(pf)
    page = f"/reports/{report.id}"
    other = user("other@group.example.org")
    make_group(other, name="Another Group")
    db.session.commit()

    for url in (listing(pf), page):
        assert client.get(url).status_code == 302 and "/login" in client.get(url).headers["Location"]
    assert client.post(page, data=form_data(card)).status_code in (302, 400)

    for outsider in (other, pf.reviewer):
        login(outsider.email)
        assert client.get(listing(pf)).status_code == 404
        assert client.get(page).status_code == 404
        assert client.post(page, data=form_data(card)).status_code == 404
        assert client.post(f"{page}/submit").status_code == 404
        assert client.post(listing(pf)).status_code == 404
        client.post("/logout")

    login(pf.admin.email)
    assert client.get(listing(pf)).status_code == 200
    shown = client.get(page)
    assert shown.status_code == 200 and "shown read-only" in text(shown)
    assert f'action="{page}"' not in shown.get_data(as_text=True)
    assert client.post(page, data=form_data(card)).status_code == 403
    assert client.post(f"{page}/submit").status_code == 403
    assert client.post(listing(pf)).status_code == 403
    client.post("/logout")

    login(pf.manager.email)
    assert f'action="{page}"' in client.get(page).get_data(as_text=True)
    assert client.post(page, data=form_data(card)).status_code == 302
    assert client.post(f"{page}/submit").status_code == 302
    assert fresh(report).submitted_by_id == pf.manager.id
    client.post("/logout")

    login(pf.applicant.email)
    shown = client.get(page)
    assert shown.status_code == 200 and f'action="{page}/submit"' not in shown.get_data(as_text=True)


# The job and the command ---------------------------------------------------------------------------------------


def test_the_scheduled_job(app, f):
    from apscheduler.triggers.cron import CronTrigger

    from programme.jobs import JOBS, run_job

    (job,) = [job for job in JOBS if job.name == "monitoring-daily"]
    trigger = job.trigger(app)
    assert isinstance(trigger, CronTrigger)
    assert str(trigger.timezone) == app.config["PROGRAMME_TIMEZONE"]
    fields = {field.name: str(field) for field in trigger.fields}
    assert (fields["hour"], fields["minute"]) == ("2", "30")
    start(f)
    from programme.core.timezone import programme_today

    today = programme_today(app.config["PROGRAMME_TIMEZONE"])
    expected = len(reports.periods_due(f.initiative, today=today, timezone=app.config["PROGRAMME_TIMEZONE"]))
    assert run_job(app, job).startswith(f"monitoring daily {today}: ")
    assert db.session.scalar(select(func.count()).select_from(SelfEvaluationReport)) == expected
    assert run_job(app, job) == f"monitoring daily {today}: no change"


def test_the_command_runs_for_a_day_and_commits(app, f):
    start(f)
    runner = app.test_cli_runner()
    result = runner.invoke(args=["monitoring", "daily", "--as-of", "2027-12-16"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("monitoring daily 2027-12-16: opened 2 report(s), reminded 1, flagged 0 overdue")
    db.session.remove()
    assert db.session.scalar(select(func.count()).select_from(SelfEvaluationReport)) == 2
    again = runner.invoke(args=["monitoring", "daily", "--as-of", "2027-12-16"])
    assert again.exit_code == 0 and again.output.strip() == "monitoring daily 2027-12-16: no change"
    late = runner.invoke(args=["monitoring", "daily", "--as-of", "2027-12-31"])
    assert "flagged 1 overdue" in late.output
    bad = runner.invoke(args=["monitoring", "daily", "--as-of", "2027-02-30"])
    assert bad.exit_code != 0 and "--as-of" in bad.output


# Seen while writing the report form (programme/monitoring/forms/scorecards.py is not this file's to fix) --------------


def test_the_scorecard_edit_form_shows_a_baseline_with_its_four_places(client, login, pf):
    card = start(pf)
    k = live(card)[0]
    services.update_kpi(k, name=k.name, unit=k.unit, direction=k.direction, source=k.source,
                        baseline=D("12.3456"), target=k.target, actor=pf.applicant, now=LATER)
    db.session.commit()
    login(pf.applicant.email)
    body = client.get(f"/initiatives/{pf.initiative.id}/scorecard").get_data(as_text=True)
    assert 'value="12.3456"' in body


def test_the_home_page_lists_the_groups_reports_to_file_and_the_managers_overdue_ones(client, login, monkeypatch, pf):
    monkeypatch.setattr("programme.dashboard.views.programme_today", lambda zone: date(2027, 12, 31))
    start(pf)
    first, second = opened(pf, date(2027, 12, 16))
    run(date(2027, 12, 31))  # the first report is flagged overdue (due 30 December)
    other = user("other@group.example.org")
    make_group(other, name="Another Group")
    db.session.commit()

    login(pf.applicant.email)
    home = text(client.get("/"))
    assert f"Self-evaluation reports to file: {pf.initiative.reference}: report 1 overdue since 30 Dec 2027" in home
    assert f"{pf.initiative.reference}: report 2 due {format_day(second.due_on)}" in home
    client.post("/logout")

    login(other.email)  # another group's applicant sees none of them
    assert "Self-evaluation reports to file" not in text(client.get("/"))
    client.post("/logout")

    login(pf.manager.email)
    home = text(client.get("/"))
    assert f"Self-evaluation reports overdue: {pf.initiative.reference}: report 1 due 30 Dec 2027" in home
    assert "report 2" not in home
    # once submitted, the report leaves both lists
    fill(first, first.scorecard, pf.applicant)
    reports.submit_report(first, actor=pf.applicant, now=moment(date(2028, 1, 2)))
    db.session.commit()
    assert "Self-evaluation reports overdue: none" in text(client.get("/"))
    assert [r.number for r in reports.reports_to_file(actor=pf.applicant)] == [2]
