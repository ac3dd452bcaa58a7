"""Call services: create from a rules file, edit while draft, open, close by hand and at the deadline."""

from __future__ import annotations

import hashlib
import shutil
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.exc import IntegrityError

from programme import jobs
from programme.calls import services
from programme.calls.models import Call, CallStatus
from programme.calls.services import CallDraft
from programme.config import PROJECT_ROOT
from programme.core.access import AccessDenied, NotFound, Role, RuleViolation
from programme.core.audit import AuditEntry
from programme.core.db import utcnow
from programme.extensions import db
from tests.conftest import SETUP

RULES = PROJECT_ROOT / "rules"
ZONE = "Africa/Johannesburg"
T0 = datetime(2027, 1, 10, 8, 0, tzinfo=UTC)
OPENS = datetime(2027, 2, 1, 7, 0, tzinfo=UTC)
CLOSES = datetime(2027, 3, 1, 15, 0, tzinfo=UTC)

WEIGHTS = {
    "cooperation": Decimal("0.5"), "first_activities": Decimal("0.5"), "composition": Decimal("0.4"),
    "private_leadership": Decimal("0.4"), "market_failure": Decimal("0.4"), "self_funding": Decimal("0.4"),
    "own_indicators": Decimal("0.4"),
}


@pytest.fixture
def manager(make_user):
    return make_user("boss@example.org", Role.PROGRAMME_MANAGER)


def create(actor=SETUP, *, folder: Path = RULES, name: str = "cluster-contest.toml", now: datetime = T0) -> Call:
    return services.create_call(name, rules_folder=folder, timezone=ZONE, actor=actor, now=now)


def draft_of(call: Call, **changes) -> CallDraft:
    values = {"name": call.name, "description": call.description, "budget": call.budget,
              "per_initiative_cap": call.per_initiative_cap, "opens_at": call.opens_at, "closes_at": call.closes_at}
    return CallDraft(**{**values, **changes})


@pytest.fixture
def draft_call(app) -> Call:
    call = create()
    services.update_draft_call(call, draft_of(call, opens_at=OPENS, closes_at=CLOSES), actor=SETUP)
    db.session.commit()
    return call


@pytest.fixture
def open_call(draft_call) -> Call:
    services.open_call(draft_call, actor=SETUP, now=T0)
    db.session.commit()
    return draft_call


def reload(call: Call) -> Call:
    """The call as stored: a fresh instance read from the database."""
    call_id = call.id
    db.session.commit()
    db.session.expunge(call)  # its criteria go with it
    return db.session.get(Call, call_id)


# Creating a call from a rules file -------------------------------------------------------------


def test_create_call_copies_the_rules_file_and_its_criteria(app, manager):
    call = create(manager)
    db.session.commit()
    source = (RULES / "cluster-contest.toml").read_text(encoding="utf-8")

    call = reload(call)
    assert call.status == CallStatus.DRAFT
    assert call.reference == "CALL-2027-001"
    assert call.rules_file == "cluster-contest.toml"
    assert call.rules_source == source
    assert call.rules_sha256 == hashlib.sha256(source.encode("utf-8")).hexdigest()
    assert call.created_by_id == manager.id
    assert (call.name, call.currency) == ("Cluster Development Contest", "EUR")
    assert call.budget == Decimal("1500000.00") and isinstance(call.budget, Decimal)
    assert call.per_initiative_cap == Decimal("250000.00")
    assert (call.opens_at, call.closes_at) == (None, None)
    assert [c.key for c in call.criteria] == list(WEIGHTS)
    assert [c.position for c in call.criteria] == [1, 2, 3, 4, 5, 6, 7]
    for criterion in call.criteria:
        assert isinstance(criterion.weight, Decimal) and isinstance(criterion.threshold, Decimal)
        assert criterion.weight == WEIGHTS[criterion.key]
        assert criterion.threshold == Decimal("3")
    assert sum(c.weight for c in call.criteria) == Decimal("3.0")


def test_create_call_writes_an_audit_entry(app, manager):
    call = create(manager)
    db.session.commit()

    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "call.created"))
    assert (entry.actor_id, entry.object_type, entry.object_id) == (manager.id, "Call", call.id)
    assert entry.details_dict == {"rules_file": "cluster-contest.toml", "sha256": call.rules_sha256}


def test_create_call_numbers_references_within_the_year(app):
    first, second = create(), create()
    third = create(now=datetime(2028, 1, 1, tzinfo=UTC))
    assert [first.reference, second.reference, third.reference] == ["CALL-2027-001", "CALL-2027-002",
                                                                    "CALL-2028-001"]


def test_create_call_by_a_non_manager_is_denied(app, make_user):
    reviewer = make_user("rev@example.org", Role.REVIEWER)
    with pytest.raises(AccessDenied):
        create(reviewer)
    assert db.session.scalar(select(db.func.count()).select_from(Call)) == 0


def test_later_changes_to_the_rules_file_do_not_change_the_call(app, tmp_path):
    folder = tmp_path / "rules"
    shutil.copytree(RULES, folder)
    call = create(folder=folder)
    db.session.commit()
    path = folder / "cluster-contest.toml"
    original = path.read_text(encoding="utf-8")
    edited = (original.replace("budget = 1_500_000.00", "budget = 2_000_000.00")
              .replace("weight = 0.50", "weight = 0.55", 1)
              .replace("min_members = 5", "min_members = 7"))
    assert edited.count("2_000_000.00") == 1 and "weight = 0.55" in edited and "min_members = 7" in edited
    path.write_text(edited, encoding="utf-8")

    call = reload(call)
    assert call.rules_source == original
    assert call.rules.call.budget == Decimal("1500000.00")
    assert call.rules.eligibility.min_members == 5
    assert call.rules.scoring.criteria[0].weight == Decimal("0.50")
    assert call.budget == Decimal("1500000.00")
    assert call.criteria[0].weight == Decimal("0.5")
    # The edit itself is good: a call created now takes the new values.
    newer = create(folder=folder)
    assert newer.rules.eligibility.min_members == 7
    assert newer.budget == Decimal("2000000.00")
    assert newer.criteria[0].weight == Decimal("0.55")


@pytest.mark.parametrize(
    "file_name",
    ["../pyproject.toml", "scorecards/scottish-cluster.toml", "../rules/cluster-contest.toml/../../pyproject.toml",
     "/etc/passwd", str(PROJECT_ROOT / "pyproject.toml"), "missing.toml", "scorecards", "."],
)
def test_create_call_refuses_a_name_outside_the_rules_folder_or_not_a_rules_file(app, file_name):
    with pytest.raises(RuleViolation) as caught:
        create(name=file_name)
    assert caught.value.field == "rules_file"
    assert db.session.scalar(select(db.func.count()).select_from(Call)) == 0


def test_create_call_refuses_a_scorecard_template_copied_to_the_top_of_the_folder(app, tmp_path):
    folder = tmp_path / "rules"
    shutil.copytree(RULES, folder)
    shutil.copy(folder / "scorecards" / "scottish-cluster.toml", folder / "scorecard.toml")

    with pytest.raises(RuleViolation) as caught:
        create(folder=folder, name="scorecard.toml")
    assert caught.value.field == "rules_file"


def test_create_call_refuses_an_invalid_rules_file_naming_the_key(app, tmp_path):
    folder = tmp_path / "rules"
    shutil.copytree(RULES, folder)
    source = (folder / "cluster-contest.toml").read_text(encoding="utf-8")
    (folder / "broken.toml").write_text(
        source.replace("reviewers_per_proposal = 3", "reviewers_per_proposal = 0"), encoding="utf-8"
    )

    with pytest.raises(RuleViolation) as caught:
        create(folder=folder, name="broken.toml")

    assert caught.value.field == "rules_file"
    assert "broken.toml" in caught.value.message
    assert "scoring.reviewers_per_proposal" in caught.value.message
    assert db.session.scalar(select(db.func.count()).select_from(Call)) == 0


def test_call_rules_files_lists_the_call_rules_and_the_faults(app, tmp_path):
    folder = tmp_path / "rules"
    shutil.copytree(RULES, folder)
    (folder / "broken.toml").write_text("[call]\nname = 'x'\n", encoding="utf-8")

    entries = {e.name: e for e in services.call_rules_files(folder, actor=SETUP)}

    assert set(entries) == {"broken.toml", "cluster-contest.toml", "staged-network-contest.toml"}
    assert entries["cluster-contest.toml"].rules is not None and entries["cluster-contest.toml"].error is None
    assert entries["broken.toml"].rules is None and "call.currency" in entries["broken.toml"].error


# Editing a draft ---------------------------------------------------------------------------------


def test_update_draft_call_stores_the_changes_and_audits_them(app, draft_call):
    services.update_draft_call(draft_call, draft_of(draft_call, name=" New name ", budget=Decimal("900000.50"),
                                                    per_initiative_cap=Decimal("50000")), actor=SETUP)
    call = reload(draft_call)

    assert call.name == "New name"
    assert call.budget == Decimal("900000.50")
    assert call.per_initiative_cap == Decimal("50000.00")
    assert (call.opens_at, call.closes_at) == (OPENS, CLOSES)
    entry = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "call.updated")
                               .order_by(AuditEntry.id.desc())).first()
    assert entry.details_dict["after"]["budget"] == "900000.50"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"per_initiative_cap": Decimal("1500000.01")}, "per_initiative_cap"),
        ({"budget": Decimal("200000.00")}, "per_initiative_cap"),  # the cap of 250,000 is now above it
        ({"budget": Decimal("1000000.005")}, "budget"),
        ({"per_initiative_cap": Decimal("60000.001")}, "per_initiative_cap"),
        ({"budget": Decimal("0")}, "budget"),
        ({"per_initiative_cap": Decimal("-5")}, "per_initiative_cap"),
        ({"per_initiative_cap": Decimal("49999.99")}, "per_initiative_cap"),
        ({"closes_at": OPENS - timedelta(seconds=1)}, "closes_at"),
        ({"closes_at": OPENS}, "closes_at"),
    ],
    ids=["cap-above-budget", "budget-below-cap", "budget-3-decimals", "cap-3-decimals", "zero-budget",
         "negative-cap", "cap-below-startup-maximum", "closes-before-opens", "closes-when-opens"],
)
def test_update_draft_call_refuses_bad_values_and_changes_nothing(app, draft_call, changes, field):
    with pytest.raises(RuleViolation) as caught:
        services.update_draft_call(draft_call, draft_of(draft_call, **changes), actor=SETUP)
    assert caught.value.field == field

    db.session.rollback()
    call = reload(draft_call)
    assert (call.budget, call.per_initiative_cap) == (Decimal("1500000.00"), Decimal("250000.00"))
    assert (call.opens_at, call.closes_at) == (OPENS, CLOSES)


def test_the_cap_may_equal_the_startup_maximum(app, draft_call):
    services.update_draft_call(draft_call, draft_of(draft_call, per_initiative_cap=Decimal("50000.00")),
                               actor=SETUP)
    assert reload(draft_call).per_initiative_cap == Decimal("50000.00")


def test_the_cap_below_the_startup_maximum_names_the_maximum(app, draft_call):
    with pytest.raises(RuleViolation) as caught:
        services.update_draft_call(draft_call, draft_of(draft_call, per_initiative_cap=Decimal("40000")),
                                   actor=SETUP)
    assert "EUR 50,000.00" in caught.value.message


def test_editing_an_open_call_is_refused(app, open_call):
    with pytest.raises(RuleViolation):
        services.update_draft_call(open_call, draft_of(open_call, budget=Decimal("2000000")), actor=SETUP)
    assert reload(open_call).budget == Decimal("1500000.00")


def test_editing_a_call_by_a_non_manager_is_denied(app, make_user, draft_call):
    applicant = make_user("ann@example.org")
    with pytest.raises(AccessDenied):
        services.update_draft_call(draft_call, draft_of(draft_call, name="Mine now"), actor=applicant)


# Opening and closing -----------------------------------------------------------------------------


def test_open_call_publishes_it(app, draft_call):
    services.open_call(draft_call, actor=SETUP, now=T0)
    call = reload(draft_call)

    assert call.status == CallStatus.OPEN
    assert call.opened_at == T0
    assert call.is_public
    assert services.public_calls() == [call]
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "call.opened")).object_id == call.id


@pytest.mark.parametrize("missing", ["opens_at", "closes_at"])
def test_open_call_requires_both_dates(app, missing):
    call = create()
    dates = {"opens_at": OPENS, "closes_at": CLOSES, missing: None}
    services.update_draft_call(call, draft_of(call, **dates), actor=SETUP)
    db.session.commit()

    with pytest.raises(RuleViolation) as caught:
        services.open_call(call, actor=SETUP, now=T0)
    assert caught.value.field == "closes_at"
    assert reload(call).status == CallStatus.DRAFT


@pytest.mark.parametrize("now", [CLOSES, CLOSES + timedelta(days=1)], ids=["at-deadline", "after-deadline"])
def test_open_call_requires_a_future_deadline(app, draft_call, now):
    with pytest.raises(RuleViolation) as caught:
        services.open_call(draft_call, actor=SETUP, now=now)
    assert caught.value.field == "closes_at"
    assert reload(draft_call).status == CallStatus.DRAFT


def test_open_call_twice_is_refused(app, open_call):
    with pytest.raises(RuleViolation):
        services.open_call(open_call, actor=SETUP, now=T0)


def test_open_call_by_a_non_manager_is_denied(app, make_user, draft_call):
    reviewer = make_user("rev@example.org", Role.REVIEWER)
    with pytest.raises(AccessDenied):
        services.open_call(draft_call, actor=reviewer, now=T0)


def test_close_call_by_hand_closes_an_open_call(app, manager, open_call):
    moment = T0 + timedelta(days=30)
    services.close_call(open_call, actor=manager, now=moment)
    call = reload(open_call)

    assert call.status == CallStatus.CLOSED
    assert call.closed_at == moment
    assert call.closed_by == "boss@example.org"
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "call.closed"))
    assert entry.actor_id == manager.id
    assert entry.details_dict["early"] is True


def test_close_call_refuses_a_draft_call(app, manager, draft_call):
    with pytest.raises(RuleViolation):
        services.close_call(draft_call, actor=manager, now=T0)
    assert reload(draft_call).status == CallStatus.DRAFT


def test_close_call_refuses_a_closed_call(app, manager, open_call):
    services.close_call(open_call, actor=manager, now=T0)
    db.session.commit()
    first_close = open_call.closed_at

    with pytest.raises(RuleViolation):
        services.close_call(open_call, actor=manager, now=T0 + timedelta(hours=1))
    assert reload(open_call).closed_at == first_close


def _open(now: datetime, opens_at: datetime, closes_at: datetime) -> Call:
    call = create()
    services.update_draft_call(call, draft_of(call, opens_at=opens_at, closes_at=closes_at), actor=SETUP)
    services.open_call(call, actor=SETUP, now=now)
    db.session.commit()
    return call


def test_close_due_calls_closes_only_open_calls_past_their_deadline(app):
    due = _open(T0, OPENS, CLOSES)
    exactly_due = _open(T0, OPENS, CLOSES + timedelta(days=1))
    later = _open(T0, OPENS, CLOSES + timedelta(days=1, seconds=1))
    draft = create()
    services.update_draft_call(draft, draft_of(draft, opens_at=OPENS, closes_at=CLOSES), actor=SETUP)
    db.session.commit()
    moment = CLOSES + timedelta(days=1)

    closed = services.close_due_calls(actor=jobs.SCHEDULER, now=moment)
    db.session.commit()

    assert [c.id for c in closed] == [due.id, exactly_due.id]
    statuses = {c.id: c.status for c in db.session.scalars(select(Call))}
    assert statuses == {due.id: CallStatus.CLOSED, exactly_due.id: CallStatus.CLOSED,
                        later.id: CallStatus.OPEN, draft.id: CallStatus.DRAFT}
    assert due.closed_by == "system: scheduler"
    assert due.closed_at == moment
    entries = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "call.closed")).all()
    assert sorted(e.object_id for e in entries) == [due.id, exactly_due.id]
    assert {e.actor_label for e in entries} == {"system: scheduler"}
    assert all(e.actor_id is None and e.details_dict["early"] is False for e in entries)


def test_close_due_calls_a_second_time_closes_nothing(app):
    _open(T0, OPENS, CLOSES)
    moment = CLOSES + timedelta(minutes=1)
    assert len(services.close_due_calls(actor=jobs.SCHEDULER, now=moment)) == 1
    db.session.commit()

    assert services.close_due_calls(actor=jobs.SCHEDULER, now=moment + timedelta(minutes=1)) == []
    db.session.commit()
    assert db.session.scalar(select(db.func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "call.closed")) == 1


def _close_job() -> jobs.ScheduledJob:
    return next(job for job in jobs.JOBS if job.name == "close-calls-at-deadline")


def test_the_scheduled_job_closes_calls_past_their_deadline_once(app):
    real_now = utcnow()
    due = _open(real_now - timedelta(days=2), real_now - timedelta(days=3), real_now - timedelta(hours=1))
    running = _open(real_now - timedelta(days=2), real_now - timedelta(days=3), real_now + timedelta(days=5))
    due_id, due_reference, running_id = due.id, due.reference, running.id

    first = jobs.run_job(app, _close_job())
    second = jobs.run_job(app, _close_job())

    assert first == f"closed 1 call(s): {due_reference}"
    assert second == "closed 0 call(s)"
    db.session.expire_all()
    assert db.session.get(Call, due_id).status == CallStatus.CLOSED
    assert db.session.get(Call, due_id).closed_by == "system: scheduler"
    assert db.session.get(Call, running_id).status == CallStatus.OPEN
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "call.closed"))
    assert (entry.object_id, entry.actor_label) == (due_id, "system: scheduler")


def test_the_scheduled_job_with_nothing_due_reports_zero(app):
    assert jobs.run_job(app, _close_job()) == "closed 0 call(s)"


# Accepting submissions -------------------------------------------------------------------------


def test_is_accepting_boundaries(app, open_call):
    second = timedelta(seconds=1)
    assert open_call.is_accepting(OPENS)
    assert not open_call.is_accepting(OPENS - second)
    assert open_call.is_accepting(CLOSES - second)
    assert not open_call.is_accepting(CLOSES)
    assert not open_call.is_accepting(CLOSES + second)


def test_is_accepting_is_false_unless_the_call_is_open(app, draft_call):
    moment = OPENS + timedelta(days=1)
    assert not draft_call.is_accepting(moment)
    services.open_call(draft_call, actor=SETUP, now=T0)
    assert draft_call.is_accepting(moment)
    services.close_call(draft_call, actor=SETUP, now=moment)
    assert not draft_call.is_accepting(moment)


@pytest.mark.parametrize("dates", [{"opens_at": None}, {"closes_at": None}], ids=["no-opening", "no-deadline"])
def test_is_accepting_needs_both_dates(dates):
    call = Call(status=CallStatus.OPEN, **{"opens_at": OPENS, "closes_at": CLOSES, **dates})
    assert not call.is_accepting(OPENS + timedelta(days=1))


def test_phase_shows_upcoming_and_closing(app, open_call):
    assert open_call.phase(OPENS - timedelta(seconds=1)) == "upcoming"
    assert open_call.phase(OPENS) == "open"
    assert open_call.phase(CLOSES) == "closing"


# Visibility --------------------------------------------------------------------------------------


def test_a_draft_call_is_visible_only_to_managers(app, make_user, manager, draft_call):
    applicant = make_user("ann@example.org")
    with pytest.raises(NotFound):
        services.get_call(draft_call.id, actor=applicant)
    with pytest.raises(NotFound):
        services.get_call(draft_call.id, actor=None)
    assert services.get_call(draft_call.id, actor=manager) is draft_call
    assert services.public_calls() == []


def test_all_calls_is_for_managers_only(app, make_user, draft_call):
    with pytest.raises(AccessDenied):
        services.all_calls(actor=make_user("ann@example.org"))


# The database's own checks -----------------------------------------------------------------------


def _refused_update(call_id: int, assignment: str) -> None:
    with pytest.raises(IntegrityError):
        db.session.execute(text(f"UPDATE calls SET {assignment} WHERE id = :id"), {"id": call_id})
        db.session.flush()
    db.session.rollback()


def test_the_database_refuses_an_unknown_status(app, draft_call):
    _refused_update(draft_call.id, "status = 'bogus'")
    assert reload(draft_call).status == CallStatus.DRAFT


def test_the_database_refuses_a_cap_above_the_budget(app, draft_call):
    _refused_update(draft_call.id, "per_initiative_cap = budget + 1")
    assert reload(draft_call).per_initiative_cap == Decimal("250000.00")


def test_the_database_refuses_a_published_call_without_dates(app, open_call):
    _refused_update(open_call.id, "closes_at = NULL")
    assert reload(open_call).closes_at == CLOSES


def test_the_database_refuses_a_closed_call_without_closing_time(app, draft_call):
    _refused_update(draft_call.id, "status = 'closed', opened_at = opens_at")
    assert reload(draft_call).status == CallStatus.DRAFT


def test_the_database_refuses_a_criterion_without_weight(app, draft_call):
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE criteria SET weight = 0 WHERE call_id = :id"), {"id": draft_call.id})
    db.session.rollback()
    assert reload(draft_call).criteria[0].weight == Decimal("0.5")


def test_a_valid_raw_update_passes_the_checks(app, draft_call):
    """The refusals above come from the checks, not from the SQL: a valid value of each passes."""
    db.session.execute(text("UPDATE calls SET status = 'draft', per_initiative_cap = budget WHERE id = :id"),
                       {"id": draft_call.id})
    assert reload(draft_call).per_initiative_cap == Decimal("1500000.00")



def test_the_rules_are_found_by_their_digest_and_the_text_is_read_only_once(app, manager):
    """A call's rules text is deferred: a row that joins the call does not carry it, and a worker reads and parses
    it the first time it meets its digest. The digest follows the text whenever the text is set."""
    call = create(manager)
    db.session.commit()
    assert call.rules.call.currency == "EUR"  # parsed once: the digest is known from now on
    db.session.expunge_all()
    statements: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        loaded = db.session.get(Call, call.id)
        assert "rules_source" not in loaded.__dict__
        assert loaded.rules.call.currency == "EUR"
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    assert len(statements) == 1 and "rules_source" not in statements[0]

    changed = loaded.rules_source.replace('currency = "EUR"', 'currency = "USD"', 1)
    assert changed != loaded.rules_source
    loaded.rules_source = changed
    assert loaded.rules_sha256 == hashlib.sha256(changed.encode("utf-8")).hexdigest()
    assert loaded.rules.call.currency == "USD"
