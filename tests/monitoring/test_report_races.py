"""The daily report job run twice at once, and a save meeting a submission, against PostgreSQL (each in its own
session, started together, committing after a pause): each report opened once, reminded once, flagged once."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from programme.accounts.models import User
from programme.core.access import RuleViolation
from programme.core.notifications import Notification
from programme.extensions import db
from programme.monitoring.models import ReportStatus, SelfEvaluationReport
from programme.monitoring.services import reports
from tests.funding.conftest import Funded, funded_initiative
from tests.monitoring.test_reports import JOB, NOW, REMIND_1, START, TZ, fill, live, moment, notes, opened, start
from tests.races import POSTGRES_RACES, at_once, committed

D = Decimal

pytestmark = POSTGRES_RACES


@pytest.fixture
def f(app) -> Funded:
    return committed(funded_initiative())


def job(day: date) -> Callable[[], reports.ReportRun]:
    def work() -> reports.ReportRun:
        return reports.run_report_schedule(today=day, actor=JOB, now=moment(day), timezone=TZ)
    return work


def count_reports() -> int:
    return db.session.scalar(select(func.count()).select_from(SelfEvaluationReport)) or 0


def test_two_jobs_at_once_open_remind_and_flag_each_report_once(app, f: Funded) -> None:
    start(f)
    base = notes()
    results = at_once(app, [job(REMIND_1), job(REMIND_1)])
    db.session.expire_all()
    assert count_reports() == 2
    assert sum(r.opened for r in results) == 2 and sum(r.reminded for r in results) == 1
    assert notes() - base == sum(r.notifications for r in results) == len(f.initiative.group.users)

    base = notes()
    late = date(2027, 12, 31)
    results = at_once(app, [job(late), job(late)])
    db.session.expire_all()
    assert sum(r.flagged for r in results) == 1 and sum(r.opened for r in results) == 0
    assert notes() - base == sum(r.notifications for r in results) > 0
    overdue = db.session.scalars(select(SelfEvaluationReport).where(SelfEvaluationReport.overdue_at.is_not(None)))
    assert [r.number for r in overdue] == [1]


def test_a_save_meeting_a_submission_never_changes_a_submitted_report(app, f: Funded) -> None:
    card = start(f)
    (report,) = opened(f, START)
    fill(report, card, f.applicant)
    report_id, applicant_id, manager_id = report.id, f.applicant.id, f.manager.id
    first = live(card)[0].id

    def submitting() -> str:
        done = reports.submit_report(db.session.get(SelfEvaluationReport, report_id),
                                     actor=db.session.get(User, applicant_id), now=NOW)
        return done.status.value

    def saving() -> str:
        done = reports.save_report(db.session.get(SelfEvaluationReport, report_id),
                                   values={first: (D("99"), "")}, narrative="Rewritten", learned="L",
                                   will_change="W", actor=db.session.get(User, manager_id), now=NOW)
        return done.narrative

    results = at_once(app, [submitting, saving], expected=(RuleViolation,))
    db.session.expire_all()
    report = db.session.get(SelfEvaluationReport, report_id)
    assert report.status == ReportStatus.SUBMITTED
    if isinstance(results[1], RuleViolation):
        assert "frozen" in results[1].message and report.narrative == "We met four times."
    else:  # the save came first and was submitted with it
        assert results[1] == "Rewritten" == report.narrative
    assert db.session.scalar(select(func.count()).select_from(Notification).where(
        Notification.subject.icontains("submitted"))) >= 1
