"""The `programme` command group. The same commands work as `flask --app programme ...`."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, with_appcontext

from programme.core.access import Role, RuleViolation, SystemActor

CLI_ACTOR = SystemActor("command line")


def _upgrade_database() -> str:
    from alembic.runtime.migration import MigrationContext
    from flask_migrate import upgrade

    from programme.extensions import db

    upgrade()
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision() or "(empty)"


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create or upgrade the database schema (Alembic migrations to head)."""
    from programme.extensions import db

    revision = _upgrade_database()
    click.echo(f"Database {db.engine.url.render_as_string(hide_password=True)} is at revision {revision} (head).")


@click.group("rules")
def rules_group() -> None:
    """List and check the rules files of calls, scorecard templates and the programme's own targets."""


def _rules_paths(files: tuple[str, ...]) -> list[Path]:
    if files:
        return [Path(f) for f in files]
    folder = Path(current_app.config["RULES_FOLDER"])
    paths = sorted(folder.rglob("*.toml"))
    programme_file = current_app.config.get("PROGRAMME_RULES_FILE")  # the programme's targets, kept elsewhere
    if programme_file and Path(programme_file).is_file() and Path(programme_file).resolve() not in {
            p.resolve() for p in paths}:
        paths.append(Path(programme_file))
    return paths


@rules_group.command("check")
@click.argument("files", nargs=-1, type=click.Path(dir_okay=False))
@with_appcontext
def rules_check(files: tuple[str, ...]) -> None:
    """Validate rules files (default: every .toml under the rules folder). Exits 1 if any is wrong."""
    from programme.rulebook import CallRules, ProgrammeRules, RulesError, load_rules_file

    paths = _rules_paths(files)
    if not paths:
        raise click.ClickException(f"no rules files found in {current_app.config['RULES_FOLDER']}")
    templates = {
        p.stem.replace("-", "_") for p in Path(current_app.config["RULES_FOLDER"], "scorecards").glob("*.toml")
    }
    bad = 0
    for path in paths:
        try:
            rules = load_rules_file(path)
        except RulesError as exc:
            bad += 1
            click.secho(f"FAIL {path}", fg="red")
            for problem in exc.problems:
                click.echo(f"     {problem}")
            continue
        if isinstance(rules, CallRules):
            summary = (f"call '{rules.call.name}': {len(rules.scoring.criteria)} criteria, "
                       f"budget {rules.call.currency} {rules.call.budget:,}")
            if rules.stages:
                summary += f", {len(rules.stages)} stages ({', '.join(s.key for s in rules.stages)})"
            scorecard = rules.monitoring.scorecard
            if templates and scorecard not in templates:
                bad += 1
                click.secho(f"FAIL {path}", fg="red")
                click.echo(f"     {path}: monitoring.scorecard: expected one of {sorted(templates)} "
                           f"(got {scorecard!r})")
                continue
        elif isinstance(rules, ProgrammeRules):
            summary = f"programme '{rules.programme.name}': {len(rules.targets)} target(s)"
        else:
            kpis = sum(len(f.kpis) for p in rules.perspectives for f in p.factors)
            summary = f"scorecard '{rules.scorecard.name}': {len(rules.perspectives)} perspectives, {kpis} KPIs"
        click.secho(f"ok   {path}: {summary}", fg="green")
    click.echo(f"{len(paths) - bad} of {len(paths)} rules file(s) valid.")
    if bad:
        sys.exit(1)


@rules_group.command("list")
@with_appcontext
def rules_list() -> None:
    """List the rules files in the rules folder."""
    from programme.rulebook import CallRules, ProgrammeRules, RulesError, load_rules_file

    folder = Path(current_app.config["RULES_FOLDER"])
    click.echo(f"Rules folder: {folder}")
    for path in sorted(folder.rglob("*.toml")):
        try:
            rules = load_rules_file(path)
        except RulesError:
            click.echo(f"  {path.relative_to(folder)}  (invalid: run 'programme rules check')")
            continue
        if isinstance(rules, ProgrammeRules):
            click.echo(f"  {path.relative_to(folder)}  [programme] {rules.programme.name}: "
                       f"{len(rules.targets)} target(s)")
            continue
        kind = "call" if isinstance(rules, CallRules) else "scorecard"
        name = rules.call.name if isinstance(rules, CallRules) else rules.scorecard.name
        click.echo(f"  {path.relative_to(folder)}  [{kind}] {name}")


@click.command("create-user")
@click.argument("email")
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice([r.value for r in Role]), help="Repeat for several roles.")
@click.option("--name", default=None, help="Full name (default: the part of the e-mail before @).")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Asked for when not given; never echoed.")
@with_appcontext
def create_user_command(email: str, roles: tuple[str, ...], name: str | None, password: str) -> None:
    """Create an account with one or more roles (an existing account gets the roles added)."""
    from programme.accounts import services
    from programme.extensions import db

    wanted = [Role(r) for r in roles]
    existing = services.find_user_by_email(email)
    try:
        if existing is not None:
            services.set_roles(existing, existing.role_set | set(wanted), actor=CLI_ACTOR)
            db.session.commit()
            click.echo(f"{existing.email} exists; roles now: {', '.join(sorted(r.value for r in existing.role_set))}.")
            return
        user = services.create_user(email=email, name=name or email.split("@")[0], roles=wanted,
                                    password=password, actor=CLI_ACTOR)
        db.session.commit()
    except RuleViolation as exc:
        db.session.rollback()
        raise click.ClickException(exc.message) from None
    click.echo(f"Created {user.email} with roles: {', '.join(r.value for r in wanted)}.")


def _start_background_scheduler(app: Flask) -> None:
    """The demo runs the jobs in its own process, holding the single-scheduler lock."""
    from programme.core.scheduler import SchedulerAlreadyRunning, build_scheduler, single_scheduler_lock

    lock = single_scheduler_lock(app)
    try:
        lock.__enter__()
    except SchedulerAlreadyRunning as exc:
        click.echo(f"Scheduler not started here: {exc}.")
        return
    # Held for the life of the process: a lock no one refers to is collected, and its release runs at once.
    app.extensions["programme_scheduler_lock"] = lock
    build_scheduler(app, blocking=False).start()
    click.echo("Scheduler started in this process (calls close at their deadline by themselves).")


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Migrate and seed, then stop.")
@with_appcontext
def demo_command(host: str, port: int, no_serve: bool) -> None:
    """Migrate the database, seed a demo programme if it is empty, then serve it."""
    from programme.demo import DEMO_USERS, seed_demo

    app = current_app._get_current_object()
    revision = _upgrade_database()
    click.echo(f"Database at revision {revision}.")
    seeded = seed_demo(app, echo=click.echo)
    if not seeded:
        click.echo("The database holds data already: nothing seeded, nothing wiped.")
    click.echo("\nDemo accounts (demo only: change or remove them before real use):")
    for user in DEMO_USERS:
        click.echo(f"  {user.role_label:<38} {user.email:<28} password: {user.password}")
    if no_serve:
        return
    _start_background_scheduler(app)
    click.echo(f"\nServing on http://{host}:{port}/  (Ctrl+C stops it)")
    from werkzeug.serving import run_simple

    run_simple(host, port, app, use_reloader=False, use_debugger=False, threaded=True)


@click.command("scheduler")
@click.option("--standby/--no-standby", default=True, show_default=True,
              help="When another scheduler holds the lock: wait and take over when it stops (the default), or exit.")
@with_appcontext
def scheduler_command(standby: bool) -> None:
    """Run the scheduled jobs: one such process per database holds the lock and runs them; run a second one (on
    another server) to stand by and take over within seconds if the first one dies. Ctrl+C or SIGTERM stops it."""
    import logging
    import signal
    import threading

    from programme.core.logs import log_format
    from programme.core.scheduler import SchedulerAlreadyRunning, run_scheduler
    from programme.jobs import JOBS

    app = current_app._get_current_object()
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    # Said on the terminal; with the production logs (JSON lines), said in the log instead.
    say = click.echo if log_format(app) is None else logging.getLogger("programme.scheduler").info
    say("Scheduler starting (jobs: " + ", ".join(j.name for j in JOBS) + "). Ctrl+C stops it.")
    try:
        run_scheduler(app, echo=say, stop=stop, standby=standby)
    except SchedulerAlreadyRunning as exc:
        raise click.ClickException(f"not started: {exc}") from None


@click.command("run-jobs")
@with_appcontext
def run_jobs_command() -> None:
    """Run every scheduled job once, now (for cron, or to check them)."""
    from programme.jobs import JOBS, run_job

    app = current_app._get_current_object()
    for job in JOBS:
        click.echo(f"{job.name}: {run_job(app, job)}")


@click.group("loans")
def loans_group() -> None:
    """Revolving-fund loans: the daily arrears job."""


@loans_group.command("daily")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The day to age arrears on, YYYY-MM-DD (default: today in the programme's time zone).")
@with_appcontext
def loans_daily_command(as_of) -> None:
    """Mark overdue instalments, age arrears, write the day's portfolio figures (PAR30), queue reminders."""
    from programme.core.timezone import now, programme_today
    from programme.core.web import programme_zone
    from programme.extensions import db
    from programme.loans.services.arrears import run_daily

    day = as_of.date() if as_of is not None else programme_today(programme_zone())
    try:
        result = run_daily(as_of=day, actor=CLI_ACTOR, now=now())
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    click.echo(result.summary())


@click.group("monitoring")
def monitoring_group() -> None:
    """Self-evaluation reports: the daily job."""


@monitoring_group.command("daily")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The day to run for, YYYY-MM-DD (default: today in the programme's time zone).")
@with_appcontext
def monitoring_daily_command(as_of) -> None:
    """Open the reports of the periods that have begun, remind groups before the due date, flag reports overdue."""
    from programme.core.timezone import now, programme_today
    from programme.core.web import programme_zone
    from programme.extensions import db
    from programme.monitoring.services.reports import run_report_schedule

    zone = programme_zone()
    day = as_of.date() if as_of is not None else programme_today(zone)
    try:
        result = run_report_schedule(today=day, actor=CLI_ACTOR, now=now(), timezone=zone)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    click.echo(result.summary())


def register_commands(app: Flask) -> None:
    for command in (init_db_command, rules_group, create_user_command, demo_command, scheduler_command,
                    run_jobs_command, loans_group, monitoring_group):
        app.cli.add_command(command)
    app.cli.add_command(ledger_group)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)


def _create_app() -> Flask:
    from programme import create_app

    return create_app()


main = FlaskGroup(create_app=_create_app, help="The cluster funding programme manager.")


# The ledger ------------------------------------------------------------------------------------------------


@click.group("ledger")
def ledger_group() -> None:
    """Check the ledger and print its trial balance."""


def _echo_totals(balance: object) -> bool:
    from programme.ledger.balances import currency_totals

    balanced = True
    totals = currency_totals(balance)  # type: ignore[arg-type]
    if not totals:
        click.echo("Nothing is posted yet: debits 0.00, credits 0.00.")
    for total in totals:
        verdict = "balanced" if total.balanced else f"NOT BALANCED (difference {total.debits - total.credits})"
        click.echo(f"Total {total.currency}: debits {total.debits:,}, credits {total.credits:,}: {verdict}.")
        balanced = balanced and total.balanced
    return balanced


@ledger_group.command("check")
@with_appcontext
def ledger_check() -> None:
    """Prove the ledger: the trial balance's totals, every problem in the entries and every derived balance
    (loans, credits, instalments, write-offs, funds' cash) that differs from the ledger. Exits 1 if any."""
    from programme.ledger.balances import trial_balance
    from programme.ledger.checks import ledger_problems

    balance = trial_balance()
    balanced = _echo_totals(balance)
    click.echo(f"{len(balance.rows)} account(s).")
    ledger_faults, loan_faults = ledger_problems()
    for title, problems in (("Ledger", ledger_faults), ("Derived balances", loan_faults)):
        if problems:
            click.secho(f"{title}: {len(problems)} problem(s)", fg="red")
            for problem in problems:
                click.echo(f"  {problem}")
        else:
            click.secho(f"{title}: ok", fg="green")
    if ledger_faults or loan_faults or not balanced:
        click.secho("The ledger check FAILED.", fg="red")
        sys.exit(1)
    click.secho("The ledger balances and every derived balance equals it.", fg="green")


@ledger_group.command("trial-balance")
@click.option("--as-of", "as_of", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Only entries with a value date on or before this day (YYYY-MM-DD).")
@click.option("--accounts", "per_account", is_flag=True, help="Also list every account.")
@with_appcontext
def ledger_trial_balance(as_of: object, per_account: bool) -> None:
    """Print the trial balance: per account kind (and per account with --accounts), and the totals."""
    from programme.ledger.balances import kind_totals, trial_balance

    day = as_of.date() if as_of is not None else None  # type: ignore[attr-defined]
    balance = trial_balance(day)
    click.echo(f"Trial balance as of {day.isoformat() if day else 'now (every entry)'}")
    click.echo(f"{'Kind':<24} {'Cur':<4} {'Accounts':>8} {'Debits':>20} {'Credits':>20} {'Balance':>20}")
    for total in kind_totals(balance):
        click.echo(f"{total.kind.label:<24} {total.currency:<4} {total.accounts:>8} {total.debits:>20,} "
                   f"{total.credits:>20,} {total.balance:>20,}")
    if per_account:
        click.echo("")
        for row in balance.rows:
            click.echo(f"{row.account.code:<40} {row.account.currency:<4} {row.debits:>20,} {row.credits:>20,} "
                       f"{row.balance:>20,}")
    _echo_totals(balance)


# Backups ---------------------------------------------------------------------------------------------------


@click.command("backup")
@click.argument("dest", type=click.Path(path_type=Path))
@with_appcontext
def backup_command(dest: Path) -> None:
    """Write a backup to DEST (a .tar.gz file, or a folder to write one into): the database (SQLite's online
    backup, or pg_dump) and the uploaded files, with a manifest of their SHA-256s. Safe while the app runs."""
    from programme.core.backup import BackupError, write_backup
    from programme.core.files import readable_size
    from programme.core.timezone import now
    from programme.extensions import db

    try:
        path, manifest = write_backup(db.engine, Path(current_app.config["UPLOAD_FOLDER"]), dest, now=now())
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Backup written to {path}: the {manifest.database_kind} database at revision "
               f"{manifest.revision or '(empty)'} ({readable_size(manifest.database.size)}) and "
               f"{len(manifest.uploads)} uploaded file(s) ({readable_size(manifest.upload_bytes)}).")


@click.command("restore")
@click.argument("archive", type=click.Path(path_type=Path))
@with_appcontext
def restore_command(archive: Path) -> None:
    """Restore a backup made by 'programme backup' into an EMPTY database and upload folder (stop the app and
    the scheduler first), after checking every part's SHA-256; then upgrade the schema to head."""
    from alembic.script import ScriptDirectory

    from programme.core.backup import BackupError, restore_backup
    from programme.extensions import db

    migrations = ScriptDirectory(current_app.extensions["migrate"].directory)
    known = {script.revision for script in migrations.walk_revisions()}
    try:
        manifest = restore_backup(db.engine, Path(current_app.config["UPLOAD_FOLDER"]), archive,
                                  known_revisions=known)
    except BackupError as exc:
        raise click.ClickException(f"{exc}. Nothing was restored.") from None
    click.echo(f"Restored the {manifest.database_kind} database of {manifest.created_at} at revision "
               f"{manifest.revision or '(empty)'} and {len(manifest.uploads)} uploaded file(s) into "
               f"{current_app.config['UPLOAD_FOLDER']}.")
    revision = _upgrade_database()
    if revision == manifest.revision:
        click.echo(f"The database is at revision {revision} (head): no upgrade was needed.")
    else:
        click.echo(f"Upgraded the database from revision {manifest.revision or '(empty)'} to {revision} (head).")
