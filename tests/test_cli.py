"""The `programme` commands: through Flask's CLI runner, and the installed console script once end to end."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, select

import programme
from programme.accounts.models import User
from programme.calls.models import Call, CallStatus
from programme.config import ENVIRONMENT, PROJECT_ROOT
from programme.core.access import Role, SystemActor
from programme.core.db import Base, utcnow
from programme.demo import DEMO_USERS, PILOT_OTHERS, REVIEW_GROUPS
from programme.extensions import db
from programme.reviews.models import Review, ReviewStatus

RULES = PROJECT_ROOT / "rules"
MIGRATIONS = Path(programme.__file__).parent / "migrations"
PW = "pw-long-enough-1"


def _head_revision() -> str:
    return ScriptDirectory(str(MIGRATIONS)).get_current_head()


def _row_counts() -> dict[str, int]:
    db.session.expire_all()
    return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}


# --- init-db ------------------------------------------------------------------------------------


def test_init_db_prints_the_head_revision(runner):
    result = runner.invoke(args=["init-db"])
    assert result.exit_code == 0, result.output
    assert f"is at revision {_head_revision()} (head)" in result.output


# --- rules --------------------------------------------------------------------------------------


def test_rules_check_accepts_the_shipped_files(runner):
    result = runner.invoke(args=["rules", "check"])
    assert result.exit_code == 0, result.output
    shipped = len(list(RULES.rglob("*.toml")))
    assert f"{shipped} of {shipped} rules file(s) valid." in result.output
    assert "FAIL" not in result.output
    for name in ("cluster-contest.toml", "scottish-cluster.toml", "thai-food-cluster.toml", "programme.toml"):
        assert name in result.output
    assert "3 stages (concept, planning, implementation)" in result.output  # staged-network-contest.toml


def test_rules_check_reports_a_bad_file_with_its_key_and_exits_1(runner, tmp_path):
    text = (RULES / "cluster-contest.toml").read_text(encoding="utf-8")
    assert "min_members = 5\n" in text
    bad = tmp_path / "bad-call.toml"
    bad.write_text(text.replace("min_members = 5\n", 'min_members = "five"\n'), encoding="utf-8")

    result = runner.invoke(args=["rules", "check", str(bad)])

    assert result.exit_code == 1, result.output
    assert f"FAIL {bad}" in result.output
    assert f"{bad}: eligibility.min_members: expected" in result.output
    assert "0 of 1 rules file(s) valid." in result.output


def test_rules_check_with_good_and_bad_files_counts_both(runner, tmp_path):
    bad = tmp_path / "broken.toml"
    bad.write_text("[call\nname = 1\n", encoding="utf-8")
    result = runner.invoke(args=["rules", "check", str(RULES / "cluster-contest.toml"), str(bad)])
    assert result.exit_code == 1, result.output
    assert f"FAIL {bad}" in result.output
    assert "not valid TOML" in result.output
    assert "1 of 2 rules file(s) valid." in result.output


def test_rules_list_shows_the_call_and_both_scorecards(runner):
    result = runner.invoke(args=["rules", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"Rules folder: {RULES}"
    listed = [line.strip() for line in lines[1:]]
    assert "cluster-contest.toml  [call] Cluster Development Contest" in listed
    assert any(line.startswith("scorecards/scottish-cluster.toml  [scorecard] ") for line in listed)
    assert any(line.startswith("scorecards/thai-food-cluster.toml  [scorecard] ") for line in listed)
    assert any(line.startswith("programme.toml  [programme] ") for line in listed)
    assert len(listed) == len(list(RULES.rglob("*.toml")))


# --- create-user --------------------------------------------------------------------------------


def _user(email: str) -> User | None:
    db.session.expire_all()
    return db.session.scalar(select(User).where(User.email == email))


def test_create_user_with_two_roles_then_add_a_third(runner):
    args = ["create-user", "x@y.org", "--role", "reviewer", "--role", "fund_administrator", "--name", "X"]
    result = runner.invoke(args=args, input=f"{PW}\n{PW}\n")
    assert result.exit_code == 0, result.output
    assert "Created x@y.org with roles: reviewer, fund_administrator." in result.output
    assert PW not in result.output

    user = _user("x@y.org")
    assert user is not None
    assert user.name == "X"
    assert user.role_set == {Role.REVIEWER, Role.FUND_ADMINISTRATOR}

    from programme.accounts import services

    assert services.authenticate("x@y.org", PW) is not None
    db.session.rollback()

    again = runner.invoke(args=["create-user", "x@y.org", "--role", "programme_manager"], input=f"{PW}\n{PW}\n")
    assert again.exit_code == 0, again.output
    assert "x@y.org exists; roles now: fund_administrator, programme_manager, reviewer." in again.output
    user = _user("x@y.org")
    assert user.role_set == {Role.REVIEWER, Role.FUND_ADMINISTRATOR, Role.PROGRAMME_MANAGER}
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


def test_create_user_refuses_a_weak_password(runner):
    result = runner.invoke(args=["create-user", "weak@y.org", "--role", "reviewer"], input="short\nshort\n")
    assert result.exit_code != 0
    assert "Error: Use at least 12 characters." in result.output
    assert _user("weak@y.org") is None


def test_create_user_refuses_an_unknown_role(runner):
    result = runner.invoke(args=["create-user", "r@y.org", "--role", "emperor"], input=f"{PW}\n{PW}\n")
    assert result.exit_code == 2
    assert "Invalid value for '--role'" in result.output
    assert _user("r@y.org") is None


# --- demo ---------------------------------------------------------------------------------------


def test_demo_seeds_an_empty_database_once(runner):
    result = runner.invoke(args=["demo", "--no-serve"])
    assert result.exit_code == 0, result.output
    assert f"Database at revision {_head_revision()}." in result.output
    assert f"Seeded: {len(DEMO_USERS)} accounts" in result.output
    for demo in DEMO_USERS:
        assert demo.email in result.output

    db.session.expire_all()
    users = db.session.scalars(select(User)).all()
    # the demo accounts, and the leads of the four other groups that applied to the call in review
    assert len(users) == len(DEMO_USERS) + len(REVIEW_GROUPS) - 1
    assert {d.email for d in DEMO_USERS} <= {u.email for u in users}
    statuses = sorted(c.status for c in db.session.scalars(select(Call).where(Call.stage_index.is_(None))))
    assert statuses == sorted([CallStatus.OPEN, CallStatus.DRAFT, CallStatus.REVIEWING, CallStatus.DECIDED])
    # The staged call (issue 18): its concept notes decided, the demo group invited to the business plan stage, open
    # now, with its proposal started from its concept note.
    from programme.calls.staging import stages_of
    from programme.proposals.models import Proposal, ProposalStatus

    staged = db.session.scalar(select(Call).where(Call.stage_index == 0))
    concept, planning, implementation = stages_of(staged)
    assert (staged.status, concept.status, planning.status, implementation.status) == (
        CallStatus.OPEN, CallStatus.DECIDED, CallStatus.OPEN, CallStatus.DRAFT)
    invited = db.session.scalars(select(Proposal).where(Proposal.call_id == planning.id)).all()
    assert len(invited) == 2 and all(p.status == ProposalStatus.DRAFT and p.previous_proposal_id for p in invited)
    assert "Garden Route Wood Furniture Network" in {p.group.name for p in invited}
    in_review = db.session.scalar(select(Call).where(Call.status == CallStatus.REVIEWING))
    reviews = db.session.scalars(select(Review).where(Review.call_id == in_review.id)).all()
    assert len(reviews) == 3 * len(REVIEW_GROUPS)
    waiting = {r.reviewer.email for r in reviews if r.status != ReviewStatus.SUBMITTED}
    assert waiting == {"reviewer1@demo.example"}
    # The story's notifications are shown in the app and never mailed (nor printed) by the first run of the jobs.
    from programme.core.notifications import MailState, Notification

    states = set(db.session.scalars(select(Notification.mail_state)))
    assert states == {MailState.IN_APP_ONLY}
    open_call = db.session.scalar(select(Call).where(Call.status == CallStatus.OPEN, Call.stage_index.is_(None)))
    now = utcnow()
    assert open_call.opens_at < now < open_call.closes_at
    # the pilot call's initiative: grants paid, a revolving fund lending to three members, one loan in arrears,
    # and a ledger that agrees with every balance derived from it
    from programme.funding.models import Initiative
    from programme.ledger.balances import trial_balance
    from programme.ledger.checks import check_ledger, check_loans
    from programme.loans.models import Loan, PortfolioFigures

    initiatives = db.session.scalars(select(Initiative).order_by(Initiative.id)).all()
    assert len(initiatives) == 1 + len(PILOT_OTHERS)
    (initiative,) = [i for i in initiatives if i.group.name == "Garden Route Wood Furniture Network"]
    # monitoring: each initiative's scorecard and reports; the demo group's two submitted and a third drafted,
    # another group's second report flagged overdue; at the milestone two continued and one was terminated
    from programme.monitoring.models import MilestoneReview, ReportStatus, Scorecard, SelfEvaluationReport

    assert len(db.session.scalars(select(Scorecard)).all()) == len(initiatives)
    mine = db.session.scalars(select(SelfEvaluationReport).where(SelfEvaluationReport.initiative_id == initiative.id)
                              .order_by(SelfEvaluationReport.number)).all()
    assert [r.status for r in mine] == [ReportStatus.SUBMITTED, ReportStatus.SUBMITTED, ReportStatus.DRAFT]
    flagged = db.session.scalars(select(SelfEvaluationReport).where(SelfEvaluationReport.overdue_at.is_not(None))).all()
    assert len(flagged) == 1 and flagged[0].initiative_id != initiative.id
    decisions = sorted(r.decision.value for r in db.session.scalars(select(MilestoneReview)))
    assert decisions == ["continue", "continue_with_conditions", "terminate"]
    assert sorted(i.status.value for i in initiatives) == ["implementation", "implementation", "terminated"]
    loans = db.session.scalars(select(Loan).order_by(Loan.id)).all()
    assert len(loans) == 4 and [loan.days_late > 30 for loan in loans] == [False, True, False, True]
    # mutual guarantees (issue 18): the fourth loan, guaranteed by two members, in default; its guarantees called
    # with four eyes and one guarantor's obligation partly collected
    from programme.loans.guarantee_models import CallStatus as GuaranteeCallStatus
    from programme.loans.guarantee_models import GuaranteeCall

    (guarantee_call,) = db.session.scalars(select(GuaranteeCall)).all()
    assert guarantee_call.loan_id == loans[3].id and guarantee_call.status == GuaranteeCallStatus.CALLED
    assert guarantee_call.decided_by_id != guarantee_call.requested_by_id and len(guarantee_call.obligations) == 2
    collected = sorted(o.collected for o in guarantee_call.obligations)
    assert collected[0] == 0 and 0 < collected[1] < max(o.amount for o in guarantee_call.obligations)
    programme_row = db.session.scalar(select(PortfolioFigures).where(PortfolioFigures.fund_id.is_(None)))
    assert 0 < programme_row.par30 < 1
    # the facilitation fund (seed 003, section 8): one claim on the demo group's initiative, verified and paid
    from programme.funding.models import ClaimStatus, DisbursementStatus, FacilitationClaim

    (facilitation_claim,) = db.session.scalars(select(FacilitationClaim)).all()
    assert facilitation_claim.initiative_id == initiative.id and facilitation_claim.status == ClaimStatus.VERIFIED
    assert facilitation_claim.disbursement.status == DisbursementStatus.PAID and len(facilitation_claim.items) == 4
    # revolving-fund foresight (issue 18): the demo fund's projection from its loans and its approved loan request
    # not yet lent (the finishing line's 12,000.00), its risk score, and the same figures on the programme's page
    from decimal import Decimal

    from programme.core.timezone import programme_today
    from programme.loans.services import foresight

    demo_fund = loans[0].fund
    manager = db.session.scalar(select(User).where(User.email == "manager@demo.example"))
    shown = foresight.fund_foresight(demo_fund.id, actor=manager, scenario=None, as_of=programme_today("UTC"))
    assert shown.base.money("pipeline") == Decimal("12000.00") and shown.base.money("outstanding") > 0
    assert len(shown.base.months) == 60 and shown.base.total("principal") > 0 and shown.base.total("interest") > 0
    programme_view = foresight.programme_foresight(actor=manager, scenario=None, as_of=programme_today("UTC"),
                                                   version="demo")
    assert demo_fund.id in {f.fund.fund_id for f in programme_view.funds}
    assert check_ledger() == [] and check_loans() == [] and trial_balance().balanced

    before = _row_counts()
    again = runner.invoke(args=["demo", "--no-serve"])
    assert again.exit_code == 0, again.output
    assert "The database holds data already: nothing seeded, nothing wiped." in again.output
    assert "Seeded:" not in again.output
    assert _row_counts() == before


# --- run-jobs -----------------------------------------------------------------------------------


def test_run_jobs_prints_each_outcome_and_closes_a_call_past_its_deadline(runner):
    from programme.accounts import services as accounts
    from programme.calls import services as calls
    from programme.jobs import JOBS

    # The demo's mail is printed on the console, between the jobs' lines; tests/core/test_mail.py tests the sending.
    runner.app.config["MAIL_BACKEND"] = "off"
    manager = accounts.create_user(email="m@y.org", name="M", roles=[Role.PROGRAMME_MANAGER], password=PW,
                                   actor=SystemActor("test"))
    now = utcnow().replace(microsecond=0)
    opened = now - timedelta(days=10)
    call = calls.create_call("cluster-contest.toml", rules_folder=str(RULES), timezone="UTC", actor=manager,
                             now=opened)
    calls.update_draft_call(
        call,
        calls.CallDraft(name=call.name, description=call.description, budget=call.budget,
                        per_initiative_cap=call.per_initiative_cap,
                        opens_at=opened, closes_at=now - timedelta(hours=1)),
        actor=manager,
    )
    calls.open_call(call, actor=manager, now=opened)
    db.session.commit()
    reference = call.reference

    result = runner.invoke(args=["run-jobs"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[:4] == [
        f"close-calls-at-deadline: closed 1 call(s): {reference}",
        "remind-reviewers: reminded 0 review(s)",
        "flag-late-reviews: flagged 0 late review(s)",
        "send-outbox: sent 0 notification(s)",
    ]
    daily = r"loans-daily: loans daily \d{4}-\d{2}-\d{2}: no change \(0 instalment\(s\) overdue on 0 loan\(s\)\)"
    assert re.fullmatch(daily, lines[4]), lines[4]
    assert re.fullmatch(r"monitoring-daily: monitoring daily \d{4}-\d{2}-\d{2}: no change", lines[5]), lines[5]
    assert lines[6] == "ledger-checks: the ledger checks found nothing wrong"
    assert re.fullmatch(r"prune-data-changes: deleted \d+ old data change mark\(s\)", lines[7]), lines[7]
    assert len(lines) == 8
    assert [job.name for job in JOBS] == [
        "close-calls-at-deadline", "remind-reviewers", "flag-late-reviews", "send-outbox", "loans-daily",
        "monitoring-daily", "ledger-checks", "prune-data-changes"]
    db.session.expire_all()
    assert db.session.get(Call, call.id).status == CallStatus.CLOSED

    again = runner.invoke(args=["run-jobs"])
    assert again.exit_code == 0, again.output
    assert "close-calls-at-deadline: closed 0 call(s)" in again.output.splitlines()


# --- the installed console script ---------------------------------------------------------------

COMMANDS = ("init-db", "rules", "create-user", "demo", "scheduler", "run-jobs", "loans", "monitoring", "ledger")


def _clean_env(instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT and not k.startswith("FLASK_")}
    env["PROGRAMME_INSTANCE_PATH"] = str(instance)
    return env


def _script(name: str) -> str:
    found = shutil.which(name) or str(Path(sys.executable).parent / name)
    if not Path(found).exists():
        pytest.fail(f"the {name!r} console script is not installed (pip install -e '.[test]')")
    return found


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


@pytest.mark.same_on_every_database  # a process of its own on the demo's SQLite
def test_console_scripts_list_the_commands(tmp_path):
    env = _clean_env(tmp_path / "instance")
    for args in ([_script("programme"), "--help"], [_script("flask"), "--app", "programme", "--help"]):
        result = _run(args, env, tmp_path)
        assert result.returncode == 0, result.stderr
        commands = result.stdout.split("Commands:", 1)[1]
        for command in COMMANDS:
            assert f"  {command} " in commands, (args, command)


@pytest.mark.same_on_every_database  # a process of its own on the demo's SQLite
def test_console_script_demo_uses_sqlite_in_the_instance_folder(tmp_path):
    instance = tmp_path / "instance"
    env = _clean_env(instance)
    first = _run([_script("programme"), "demo", "--no-serve"], env, tmp_path)
    assert first.returncode == 0, first.stdout + first.stderr
    assert f"Seeded: {len(DEMO_USERS)} accounts" in first.stdout

    database = instance / "programme.sqlite"
    secret = instance / "secret_key"
    assert database.is_file() and database.stat().st_size > 0
    assert secret.is_file()
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    key = secret.read_text()
    assert len(key.strip()) == 64

    second = _run([_script("programme"), "demo", "--no-serve"], env, tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "The database holds data already" in second.stdout
    assert "Seeded:" not in second.stdout
    assert secret.read_text() == key
