"""Self-evaluation reports: the drafts opened for each reporting period that has begun, the group's values and
texts saved while the report is a draft, its submission (which freezes it), and the daily job that opens the
drafts, reminds the group before the due date and flags reports overdue.

Who may do what: the users of the initiative's group and programme managers write a draft and submit it; fund
administrators read; anybody else (reviewers, other groups) is told the report does not exist (NotFound).

Every operation takes the actor and the time explicitly, checks permission, changes state, writes the audit
log, flushes and never commits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import select

from programme.accounts.models import GroupUser, User, UserRole
from programme.core import audit
from programme.core.access import AccessDenied, Actor, NotFound, Role, RuleViolation
from programme.core.i18n import speaking_to
from programme.core.money import format_number
from programme.core.notifications import notify
from programme.core.texts import gettext as _
from programme.core.texts import lazy_gettext as _l
from programme.core.texts import lazy_pgettext
from programme.core.timezone import format_day
from programme.extensions import db
from programme.funding.models import Initiative, InitiativeStatus
from programme.funding.services import started_on
from programme.monitoring.domain import ReportPeriod, is_overdue, reminder_due, report_periods
from programme.monitoring.models import (
    ReportStatus,
    ReportValue,
    Scorecard,
    ScorecardKpi,
    SelfEvaluationReport,
)
from programme.monitoring.services.scorecards import kpi_number, may_edit

TEXT_MAX = 10_000
NOTE_MAX = 2_000
#: Initiatives that no longer report: their existing reports stay, nothing new is opened, reminded or flagged.
CLOSED = (InitiativeStatus.TERMINATED, InitiativeStatus.COMPLETED)

TEXTS = (("narrative", _l("the narrative")), ("learned", _l("what the group learned")),
         ("will_change", _l("what the group will change")))


def value_field(kpi_id: int) -> str:
    """The name of a KPI's value field on the report form (and in a RuleViolation about it)."""
    return f"value_{kpi_id}"


def note_field(kpi_id: int) -> str:
    return f"note_{kpi_id}"


# Access -----------------------------------------------------------------------------------------------------


def _viewable(initiative: Initiative, actor: Actor) -> None:
    if not initiative.can_view(actor):
        raise NotFound("no such initiative")


def may_write(report: SelfEvaluationReport, actor: Actor) -> bool:
    """The group's users and programme managers fill in and submit a draft report."""
    return not report.frozen and may_edit(report.initiative, actor)


def require_write(report: SelfEvaluationReport, actor: Actor) -> None:
    """NotFound if the actor may not see the report, AccessDenied if they may only read it, RuleViolation once
    it is submitted (frozen)."""
    _viewable(report.initiative, actor)
    if not may_edit(report.initiative, actor):
        raise AccessDenied(_("only the initiative's group and programme managers write its reports"))
    if report.frozen:
        raise RuleViolation(_("Report %(number)s of %(reference)s was submitted: it is frozen and can no longer be "
                              "changed.", number=report.number, reference=report.initiative.reference))


def reports_of(initiative: Initiative, *, actor: Actor) -> list[SelfEvaluationReport]:
    """The initiative's reports, in period order."""
    _viewable(initiative, actor)
    return list(db.session.scalars(
        select(SelfEvaluationReport).where(SelfEvaluationReport.initiative_id == initiative.id)
        .order_by(SelfEvaluationReport.number)
    ))


def get_report(report_id: int, *, actor: Actor) -> SelfEvaluationReport:
    """One report; NotFound for an unknown id and for one the actor may not see."""
    report = db.session.get(SelfEvaluationReport, report_id)
    if report is None or not report.can_view(actor):
        raise NotFound("no such report")
    return report


def _scorecard_of(initiative: Initiative) -> Scorecard | None:
    return db.session.scalar(select(Scorecard).where(Scorecard.initiative_id == initiative.id))


def _lock_report(report: SelfEvaluationReport) -> SelfEvaluationReport:
    """Lock the report's row and read it again (a concurrent submission is seen before anything changes)."""
    db.session.execute(
        select(SelfEvaluationReport.id).where(SelfEvaluationReport.id == report.id).with_for_update()
    )
    db.session.refresh(report)
    return report


# Periods ----------------------------------------------------------------------------------------------------


def periods_due(initiative: Initiative, *, today: date, timezone: str) -> list[ReportPeriod]:
    """The reporting periods of the initiative that have begun by ``today`` (its rules, from its start date)."""
    rules = initiative.call.rules.monitoring
    return report_periods(started_on(initiative, timezone), rules.report_frequency_months, rules.report_due_days,
                          today)


def missing_periods(initiative: Initiative, *, today: date, actor: Actor,
                    timezone: str) -> list[ReportPeriod]:
    """The periods that have begun and have no report yet (what ``open_reports`` would open); none when the
    initiative has no scorecard or no longer reports."""
    _viewable(initiative, actor)
    if initiative.status in CLOSED or _scorecard_of(initiative) is None:
        return []
    opened = set(db.session.scalars(
        select(SelfEvaluationReport.number).where(SelfEvaluationReport.initiative_id == initiative.id)
    ))
    return [p for p in periods_due(initiative, today=today, timezone=timezone) if p.number not in opened]


def open_reports(initiative: Initiative, *, today: date, actor: Actor, now: datetime,
                 timezone: str) -> list[SelfEvaluationReport]:
    """Open a draft report for each period that has begun by ``today`` and has none yet; only when the
    initiative has a scorecard and still runs. Idempotent: returns the reports opened (none the second time)."""
    _viewable(initiative, actor)
    if not may_edit(initiative, actor):
        raise AccessDenied(_("only the initiative's group and programme managers open its reports"))
    scorecard = _scorecard_of(initiative)
    if scorecard is None or initiative.status in CLOSED:
        return []
    # Serialise the openings of one initiative (the job and a user at once): lock its scorecard's row.
    db.session.execute(select(Scorecard.id).where(Scorecard.id == scorecard.id).with_for_update())
    opened = set(db.session.scalars(
        select(SelfEvaluationReport.number).where(SelfEvaluationReport.initiative_id == initiative.id)
    ))
    created: list[SelfEvaluationReport] = []
    for period in periods_due(initiative, today=today, timezone=timezone):
        if period.number in opened:
            continue
        report = SelfEvaluationReport(
            initiative_id=initiative.id, scorecard_id=scorecard.id, number=period.number,
            period_start=period.period_start, period_end=period.period_end, due_on=period.due_on,
            status=ReportStatus.DRAFT, opened_at=now,
        )
        db.session.add(report)
        created.append(report)
    if created:
        db.session.flush()
        for report in created:
            audit.record(db.session, actor, "report.opened", report, initiative=initiative.reference,
                         number=report.number, period=f"{report.period_start}..{report.period_end}",
                         due_on=str(report.due_on))
    return created


# The report's KPIs ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KpiLine:
    """A KPI on a report: its value and note in this report and its value in the previous one."""

    kpi: ScorecardKpi
    value: Decimal | None
    note: str
    previous: Decimal | None
    has_previous: bool


def live_kpis(report: SelfEvaluationReport) -> list[ScorecardKpi]:
    return list(db.session.scalars(
        select(ScorecardKpi).where(ScorecardKpi.scorecard_id == report.scorecard_id,
                                   ScorecardKpi.dropped_at.is_(None)).order_by(ScorecardKpi.position)
    ))


def _values(report_id: int) -> dict[int, ReportValue]:
    return {v.kpi_id: v for v in db.session.scalars(select(ReportValue).where(ReportValue.report_id == report_id))}


def previous_report(report: SelfEvaluationReport) -> SelfEvaluationReport | None:
    return db.session.scalar(
        select(SelfEvaluationReport).where(SelfEvaluationReport.initiative_id == report.initiative_id,
                                           SelfEvaluationReport.number < report.number)
        .order_by(SelfEvaluationReport.number.desc()).limit(1)
    )


def kpi_lines(report: SelfEvaluationReport) -> list[KpiLine]:
    """The report's KPIs in the scorecard's order: while a draft, the scorecard's live KPIs; once submitted,
    the KPIs it gave a value or a note for (whatever the scorecard became since)."""
    values = _values(report.id)
    if report.frozen:
        kpis = sorted((v.kpi for v in values.values()), key=lambda k: k.position)
    else:
        kpis = live_kpis(report)
    before = previous_report(report)
    earlier = _values(before.id) if before is not None else {}
    lines = []
    for kpi in kpis:
        mine, theirs = values.get(kpi.id), earlier.get(kpi.id)
        lines.append(KpiLine(kpi, mine.value if mine else None, mine.note if mine else "",
                             theirs.value if theirs else None, theirs is not None and theirs.value is not None))
    return lines


# Saving and submitting --------------------------------------------------------------------------------------


def _text(value: str | None, field: str, maximum: int) -> str:
    text = (value or "").strip()
    if len(text) > maximum:
        raise RuleViolation(_("Write at most %(count)s characters.", count=format_number(maximum, 0)), field=field)
    return text


def save_report(report: SelfEvaluationReport, *, values: dict[int, tuple[Decimal | None, str]], narrative: str,
                learned: str, will_change: str, actor: Actor, now: datetime) -> SelfEvaluationReport:
    """Save a draft: the values and notes of the given KPIs (live KPIs of the report's scorecard only; a number
    with at most four places, or none) and the three texts. Everything is checked before anything changes."""
    require_write(report, actor)
    _lock_report(report)
    require_write(report, actor)
    live = {k.id: k for k in live_kpis(report)}
    checked: dict[int, tuple[Decimal | None, str]] = {}
    for kpi_id, pair in values.items():
        field = value_field(kpi_id)
        kpi = live.get(kpi_id)
        if kpi is None:
            known = db.session.get(ScorecardKpi, kpi_id)
            if known is not None and known.scorecard_id == report.scorecard_id:
                raise RuleViolation(_("“%(name)s” was dropped from the scorecard: it takes no value.", name=known.name),
                                    field=field)
            raise RuleViolation(_("This KPI is not on the report's scorecard."), field=field)
        value, note = pair
        checked[kpi_id] = (kpi_number(value, field), _text(note, note_field(kpi_id), NOTE_MAX))
    texts = {name: _text(given, name, TEXT_MAX)
             for name, given in (("narrative", narrative), ("learned", learned), ("will_change", will_change))}
    existing = _values(report.id)
    changed: list[str] = []
    for kpi_id, (value, note) in checked.items():
        row = existing.get(kpi_id)
        if row is None:
            if value is None and not note:
                continue
            db.session.add(ReportValue(report_id=report.id, kpi_id=kpi_id, value=value, note=note))
            changed.append(live[kpi_id].key)
        elif row.value != value or row.note != note:
            row.value, row.note = value, note
            changed.append(live[kpi_id].key)
    texts_changed = [name for name, text in texts.items() if getattr(report, name) != text]
    for name in texts_changed:
        setattr(report, name, texts[name])
    report.updated_at, report.updated_by_id = now, actor.id
    db.session.flush()
    audit.record(db.session, actor, "report.saved", report, initiative=report.initiative.reference,
                 number=report.number, kpis=changed, texts=texts_changed)
    return report


def missing_for_submission(report: SelfEvaluationReport) -> list[tuple[str, str]]:
    """(field, what) for each thing a submission still lacks: the three texts, then a value or a note for each
    live KPI."""
    missing = [(name, str(label)) for name, label in TEXTS if not (getattr(report, name) or "").strip()]
    values = _values(report.id)
    for kpi in live_kpis(report):
        row = values.get(kpi.id)
        if row is None or (row.value is None and not (row.note or "").strip()):
            missing.append((value_field(kpi.id), _("a value or a note for “%(name)s”", name=kpi.name)))
    return missing


def _group_users(initiative: Initiative) -> list[User]:
    return list(db.session.scalars(
        select(User).join(GroupUser, GroupUser.user_id == User.id)
        .where(GroupUser.group_id == initiative.group_id, User.active.is_(True)).order_by(User.id)
    ))


def _managers() -> list[User]:
    return list(db.session.scalars(
        select(User).join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == Role.PROGRAMME_MANAGER, User.active.is_(True)).order_by(User.id)
    ))


def _link(report: SelfEvaluationReport) -> str:
    return f"/reports/{report.id}"


def submit_report(report: SelfEvaluationReport, *, actor: Actor, now: datetime) -> SelfEvaluationReport:
    """Submit a draft that is complete (the three texts, and a value or a note for every live KPI): it is frozen
    from then on. The programme managers are told."""
    require_write(report, actor)
    _lock_report(report)
    require_write(report, actor)
    missing = missing_for_submission(report)
    if missing:
        raise RuleViolation(_("The report cannot be submitted yet: give %(missing)s.",
                              missing="; ".join(what for _field, what in missing)), field=missing[0][0])
    report.status = ReportStatus.SUBMITTED
    report.submitted_at, report.submitted_by_id = now, actor.id
    report.updated_at, report.updated_by_id = now, actor.id
    db.session.flush()
    initiative = report.initiative
    for manager in _managers():
        with speaking_to(manager):
            subject = _("Self-evaluation report %(number)s of %(reference)s submitted", number=report.number,
                        reference=initiative.reference)
            body = _("%(name)s submitted its self-evaluation report for %(start)s to %(end)s (due %(due)s).",
                     name=initiative.name, start=format_day(report.period_start), end=format_day(report.period_end),
                     due=format_day(report.due_on))
        notify(db.session, email=manager.email, user_id=manager.id, subject=subject, body=body, link=_link(report))
    audit.record(db.session, actor, "report.submitted", report, initiative=initiative.reference,
                 number=report.number, late=is_overdue(report.due_on, now.date()))
    return report


# The daily job ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportRun:
    day: date
    opened: int
    reminded: int
    flagged: int
    notifications: int

    def summary(self) -> str:
        if not (self.opened or self.reminded or self.flagged):
            return f"monitoring daily {self.day}: no change"
        return (f"monitoring daily {self.day}: opened {self.opened} report(s), reminded {self.reminded}, "
                f"flagged {self.flagged} overdue; {self.notifications} notification(s) queued")


def _running() -> list:
    return [Initiative.status.notin_([s.value for s in CLOSED])]


def run_report_schedule(*, today: date, actor: Actor, now: datetime, timezone: str) -> ReportRun:
    """The daily job for ``today`` (the programme's local date): open the drafts of the periods that have begun
    for every running initiative with a scorecard; remind the group once of each unsubmitted report from
    ``reminder_days`` before its due date; flag each unsubmitted report overdue once the day after its due date
    and tell the group and the programme managers. Run twice the same day, the second run changes nothing and
    sends nothing. Rows being handled by another run are skipped (``skip_locked``)."""
    opened = 0
    initiatives = db.session.scalars(
        select(Initiative).join(Scorecard, Scorecard.initiative_id == Initiative.id).where(*_running())
        .order_by(Initiative.id)
    ).all()
    for initiative in initiatives:
        opened += len(open_reports(initiative, today=today, actor=actor, now=now, timezone=timezone))

    notifications = 0
    group_users: dict[int, list[User]] = {}

    def users_of(initiative: Initiative) -> list[User]:
        if initiative.id not in group_users:
            group_users[initiative.id] = _group_users(initiative)
        return group_users[initiative.id]

    # Reminders: per call, since its rules say how many days before.
    reminded = 0
    call_ids = db.session.scalars(
        select(Initiative.call_id).join(SelfEvaluationReport, SelfEvaluationReport.initiative_id == Initiative.id)
        .where(*_running(), SelfEvaluationReport.status == ReportStatus.DRAFT,
               SelfEvaluationReport.reminded_at.is_(None)).distinct()
    ).all()
    for call_id in sorted(call_ids):
        call_initiatives = select(Initiative.id).where(Initiative.call_id == call_id, *_running())
        first = db.session.scalar(select(Initiative).where(Initiative.call_id == call_id).limit(1))
        days = first.call.rules.monitoring.reminder_days
        due = db.session.scalars(
            select(SelfEvaluationReport).where(
                SelfEvaluationReport.initiative_id.in_(call_initiatives),
                SelfEvaluationReport.status == ReportStatus.DRAFT, SelfEvaluationReport.reminded_at.is_(None),
                SelfEvaluationReport.due_on <= today + timedelta(days=days),
            ).order_by(SelfEvaluationReport.id).with_for_update(skip_locked=True, of=SelfEvaluationReport)
        ).all()
        for report in due:
            if not reminder_due(report.due_on, days, today):  # pragma: no cover (the query says the same)
                continue
            report.reminded_at = now
            initiative = report.initiative
            for person in users_of(initiative):
                with speaking_to(person):
                    subject = _("Self-evaluation report %(number)s of %(reference)s due %(due)s",
                                number=report.number, reference=initiative.reference, due=format_day(report.due_on))
                    body = _("The self-evaluation report of %(name)s for %(start)s to %(end)s is due on %(due)s and "
                             "is not submitted yet: give the KPI values, the narrative, what the group learned and "
                             "what it will change.", name=initiative.name, start=format_day(report.period_start),
                             end=format_day(report.period_end), due=format_day(report.due_on))
                notify(db.session, email=person.email, user_id=person.id, subject=subject, body=body,
                       link=_link(report))
                notifications += 1
            audit.record(db.session, actor, "report.reminded", report, initiative=initiative.reference,
                         number=report.number, due_on=str(report.due_on))
            reminded += 1

    # Overdue flags.
    late = db.session.scalars(
        select(SelfEvaluationReport).where(
            SelfEvaluationReport.initiative_id.in_(select(Initiative.id).where(*_running())),
            SelfEvaluationReport.status == ReportStatus.DRAFT, SelfEvaluationReport.overdue_at.is_(None),
            SelfEvaluationReport.due_on < today,
        ).order_by(SelfEvaluationReport.id).with_for_update(skip_locked=True, of=SelfEvaluationReport)
    ).all()
    managers = _managers() if late else []
    for report in late:
        report.overdue_at = now
        initiative = report.initiative
        group_ids = set()
        for person in users_of(initiative):
            group_ids.add(person.id)
            with speaking_to(person):
                subject = _("Self-evaluation report %(number)s of %(reference)s is overdue", number=report.number,
                            reference=initiative.reference)
                body = _("The self-evaluation report of %(name)s for %(start)s to %(end)s was due on %(due)s. Submit "
                         "it as soon as you can.", name=initiative.name, start=format_day(report.period_start),
                         end=format_day(report.period_end), due=format_day(report.due_on))
            notify(db.session, email=person.email, user_id=person.id, subject=subject, body=body,
                   link=_link(report))
            notifications += 1
        for manager in managers:
            if manager.id in group_ids:
                continue
            with speaking_to(manager):
                subject = _("Overdue: self-evaluation report %(number)s of %(reference)s", number=report.number,
                            reference=initiative.reference)
                body = _("%(name)s has not submitted its self-evaluation report for %(start)s to %(end)s, due on "
                         "%(due)s.", name=initiative.name, start=format_day(report.period_start),
                         end=format_day(report.period_end), due=format_day(report.due_on))
            notify(db.session, email=manager.email, user_id=manager.id, subject=subject, body=body,
                   link=_link(report))
            notifications += 1
        audit.record(db.session, actor, "report.overdue_flagged", report, initiative=initiative.reference,
                     number=report.number, due_on=str(report.due_on))
    db.session.flush()
    return ReportRun(today, opened, reminded, len(late), notifications)


def reports_awaiting(*, actor: Actor, limit: int = 50) -> list[SelfEvaluationReport]:
    """For the managers' home page: the reports flagged overdue and still not submitted, of initiatives that
    still run, the longest overdue first (one query). Empty for anyone but programme managers and fund
    administrators."""
    has_role = getattr(actor, "has_role", None)
    if not (has_role and (has_role(Role.PROGRAMME_MANAGER) or has_role(Role.FUND_ADMINISTRATOR))):
        return []
    return list(db.session.scalars(
        select(SelfEvaluationReport).join(Initiative, Initiative.id == SelfEvaluationReport.initiative_id)
        .where(*_running(), SelfEvaluationReport.status == ReportStatus.DRAFT,
               SelfEvaluationReport.overdue_at.is_not(None))
        .order_by(SelfEvaluationReport.due_on, SelfEvaluationReport.id).limit(limit)
    ))


#: The states of the programme-wide list of reports (the dashboard's figures link to each).
REPORT_STATES = {"submitted": lazy_pgettext("report", "Submitted"), "open": _l("Being drafted, not yet due"),
                 "overdue": lazy_pgettext("report", "Overdue")}


def reports_in_state(state: str, *, today: date, actor: Actor, limit: int = 500) -> list[SelfEvaluationReport]:
    """Every initiative's reports in one state, for programme managers and fund administrators (the list behind
    the dashboard's figures): submitted (newest first), or drafts of running initiatives not yet due or overdue
    (the longest overdue first)."""
    has_role = getattr(actor, "has_role", None)
    if not (has_role and (has_role(Role.PROGRAMME_MANAGER) or has_role(Role.FUND_ADMINISTRATOR))):
        raise AccessDenied(_("only programme managers and fund administrators see every initiative's reports"))
    if state not in REPORT_STATES:
        raise NotFound(f"no list of {state} reports")
    report = SelfEvaluationReport
    query = select(report).join(Initiative, Initiative.id == report.initiative_id)
    if state == "submitted":
        query = query.where(report.status == ReportStatus.SUBMITTED).order_by(report.submitted_at.desc())
    else:
        late = report.due_on < today
        query = query.where(report.status == ReportStatus.DRAFT, *_running(),
                            late if state == "overdue" else ~late).order_by(report.due_on, report.id)
    return list(db.session.scalars(query.limit(limit)))


def reports_to_file(*, actor: Actor, limit: int = 20) -> list[SelfEvaluationReport]:
    """For a group user's home page: the drafts of the initiatives of the groups the user acts for that still
    run, the soonest due first (one query). Empty for anyone else."""
    user_id = getattr(actor, "id", None)
    if user_id is None or not getattr(actor, "is_authenticated", False):
        return []
    report = SelfEvaluationReport
    return list(db.session.scalars(
        select(report).join(Initiative, Initiative.id == report.initiative_id)
        .where(report.status == ReportStatus.DRAFT, *_running(),
               Initiative.group_id.in_(select(GroupUser.group_id).where(GroupUser.user_id == user_id)))
        .order_by(report.due_on, report.id).limit(limit)))
