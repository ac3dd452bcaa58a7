"""The application factory, its configuration, the schema, the scheduler lock, error pages, time and money."""

from __future__ import annotations

import logging
import stat
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import func, select, text
from sqlalchemy.exc import StatementError

import programme.models  # noqa: F401 - every model on Base.metadata
from programme import ConfigurationError, create_app
from programme.accounts.models import User
from programme.config import ENVIRONMENT, Defaults, normalise_database_url
from programme.core.access import Role, SystemActor
from programme.core.db import Base
from programme.core.money import MoneyError, format_money, is_exact_amount, round_money, to_decimal
from programme.core.scheduler import SchedulerAlreadyRunning, build_scheduler, single_scheduler_lock
from programme.extensions import db
from programme.jobs import JOBS


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No configuration from the environment of whoever runs the tests."""
    for variable in (*ENVIRONMENT, "PROGRAMME_INSTANCE_PATH"):
        monkeypatch.delenv(variable, raising=False)
    return monkeypatch


# --- configuration ------------------------------------------------------------------------------


def _instance_with_config(tmp_path: Path) -> Path:
    instance = tmp_path / "instance"
    instance.mkdir()
    (instance / "config.py").write_text(
        'PROGRAMME_NAME = "Instance Programme"\n'
        'PROGRAMME_TIMEZONE = "Europe/Berlin"\n'
        'MAIL_SENDER = "instance@example.org"\n'
    )
    return instance


def test_instance_config_overrides_the_defaults(clean_env, tmp_path):
    instance = _instance_with_config(tmp_path)
    app = create_app({"INSTANCE_PATH": str(instance), "SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["PROGRAMME_NAME"] == "Instance Programme"
    assert app.config["PROGRAMME_TIMEZONE"] == "Europe/Berlin"
    assert app.config["MAIL_SENDER"] == "instance@example.org"
    assert Defaults.PROGRAMME_NAME != "Instance Programme"
    # What the instance file leaves alone keeps its default.
    assert app.config["MAIL_PORT"] == Defaults.MAIL_PORT
    assert app.config["PROGRAMME_MODE"] == "demo"


def test_environment_overrides_instance_config_and_create_app_mapping_overrides_both(clean_env, tmp_path):
    instance = _instance_with_config(tmp_path)
    base = {"INSTANCE_PATH": str(instance), "SECRET_KEY": "k", "SQLALCHEMY_DATABASE_URI": "sqlite://"}
    clean_env.setenv("PROGRAMME_TIMEZONE", "Asia/Tokyo")
    clean_env.setenv("MAIL_SENDER", "")  # an empty variable is no setting at all

    app = create_app(base)
    assert app.config["PROGRAMME_TIMEZONE"] == "Asia/Tokyo"
    assert app.config["PROGRAMME_NAME"] == "Instance Programme"
    assert app.config["MAIL_SENDER"] == "instance@example.org"

    app = create_app({**base, "PROGRAMME_TIMEZONE": "UTC"})
    assert app.config["PROGRAMME_TIMEZONE"] == "UTC"


def test_database_url_from_the_environment_is_normalised(clean_env, tmp_path):
    clean_env.setenv("DATABASE_URL", "postgres://user:pw@db.example:5432/programme")
    app = create_app({"INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": "k"})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://user:pw@db.example:5432/programme"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u:p@h:5432/d", "postgresql+psycopg://u:p@h:5432/d"),
        ("postgresql://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite:////tmp/x.sqlite", "sqlite:////tmp/x.sqlite"),
    ],
)
def test_normalise_database_url(url, expected):
    assert normalise_database_url(url) == expected


def test_production_mode_refuses_to_start_without_a_secret_key(clean_env, tmp_path):
    instance = tmp_path / "instance"
    clean_env.setenv("PROGRAMME_MODE", "production")
    clean_env.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'prod.sqlite'}")
    with pytest.raises(ConfigurationError, match="SECRET_KEY must be set"):
        create_app({"INSTANCE_PATH": str(instance)})
    assert not (instance / "secret_key").exists()


def test_production_mode_refuses_to_start_without_a_database_url(clean_env, tmp_path):
    instance = tmp_path / "instance"
    clean_env.setenv("PROGRAMME_MODE", "production")
    clean_env.setenv("SECRET_KEY", "a-real-secret")
    with pytest.raises(ConfigurationError, match="DATABASE_URL must be set"):
        create_app({"INSTANCE_PATH": str(instance)})
    assert not (instance / "programme.sqlite").exists()


def test_production_mode_with_both_starts_with_secure_session_cookies(clean_env, tmp_path):
    clean_env.setenv("PROGRAMME_MODE", "production")
    clean_env.setenv("SECRET_KEY", "a-real-secret")
    clean_env.setenv("DATABASE_URL", "postgresql://u@db.example/programme")
    clean_env.setenv("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/0")
    app = create_app({"INSTANCE_PATH": str(tmp_path / "instance")})
    assert app.config["SECRET_KEY"] == "a-real-secret"
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert not (tmp_path / "instance" / "secret_key").exists()
    # An explicit setting wins, as any other.
    app = create_app({"INSTANCE_PATH": str(tmp_path / "instance"), "SESSION_COOKIE_SECURE": False})
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_demo_mode_defaults_to_sqlite_in_the_instance_folder(clean_env, tmp_path):
    instance = tmp_path / "instance"
    app = create_app({"INSTANCE_PATH": str(instance)})
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'programme.sqlite'}"
    assert app.config["UPLOAD_FOLDER"] == str(instance / "uploads")
    assert app.config["SESSION_COOKIE_SECURE"] is False


def test_demo_mode_keeps_a_random_secret_in_the_instance_folder(clean_env, tmp_path):
    instance = tmp_path / "instance"
    first = create_app({"INSTANCE_PATH": str(instance), "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    secret = instance / "secret_key"
    assert secret.is_file()
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    key = first.config["SECRET_KEY"]
    assert key == secret.read_text().strip()
    assert len(key) == 64 and int(key, 16) >= 0

    second = create_app({"INSTANCE_PATH": str(instance), "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert second.config["SECRET_KEY"] == key

    other = create_app({"INSTANCE_PATH": str(tmp_path / "other"), "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert other.config["SECRET_KEY"] != key


# --- schema -------------------------------------------------------------------------------------


def test_the_migrations_match_the_models(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
    assert {"users", "calls"} <= set(Base.metadata.tables)


# --- the scheduler ------------------------------------------------------------------------------


def test_only_one_scheduler_holds_the_lock(app, runner):
    with single_scheduler_lock(app):
        with pytest.raises(SchedulerAlreadyRunning), single_scheduler_lock(app):
            pytest.fail("a second scheduler got the lock")
        result = runner.invoke(args=["scheduler", "--no-standby"])
        assert result.exit_code == 1
        assert "Error: not started: another scheduler holds" in result.output
    # Released: the next one gets it.
    with single_scheduler_lock(app):
        pass


def test_the_demos_scheduler_keeps_its_lock_while_the_process_runs(app, monkeypatch):
    """The demo holds the lock for its whole life: a lock no one refers to would be collected and released at once."""
    import gc

    from programme import cli

    started = []
    monkeypatch.setattr("programme.core.scheduler.build_scheduler",
                        lambda app, blocking: type("Quiet", (), {"start": lambda self: started.append(1)})())
    cli._start_background_scheduler(app)
    try:
        gc.collect()
        assert started
        with pytest.raises(SchedulerAlreadyRunning), single_scheduler_lock(app):
            pytest.fail("the demo's lock was released")
    finally:
        app.extensions.pop("programme_scheduler_lock").__exit__(None, None, None)
    with single_scheduler_lock(app):
        pass


def test_build_scheduler_registers_every_job(app):
    scheduler = build_scheduler(app, blocking=False)
    assert isinstance(scheduler, BackgroundScheduler)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {job.name for job in JOBS}
    assert len(jobs) == len(JOBS) >= 2
    for job in JOBS:
        registered = jobs[job.name]
        assert registered.args == (app, job)
        assert registered.max_instances == 1
        assert registered.coalesce is True
    close = jobs["close-calls-at-deadline"].trigger
    assert close.interval == timedelta(seconds=app.config["SCHEDULER_CLOSE_CALLS_SECONDS"])
    assert not scheduler.running
    assert isinstance(build_scheduler(app, blocking=True), BlockingScheduler)


# --- error pages and health ---------------------------------------------------------------------


def test_unknown_url_gives_the_404_page(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "not found" in page.lower()
    assert "Error 404" in page
    assert "Traceback" not in page


def test_a_private_or_missing_call_gives_the_404_page(client):
    response = client.get("/calls/999999")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "<h1>Not found</h1>" in page
    assert "Traceback" not in page


@pytest.mark.commits  # checks through a second connection that nothing was committed
@pytest.mark.own_app  # adds a route
def test_an_unexpected_error_gives_the_500_page_and_saves_nothing(app, caplog):
    from programme.accounts import services

    def boom():
        services.create_user(email="boom@example.org", name="Boom", roles=[Role.APPLICANT],
                             password="boom-password-1", actor=SystemActor("test"))
        db.session.flush()
        raise RuntimeError("secret internal detail")

    app.add_url_rule("/_test/boom", "test_boom", boom)
    client = app.test_client()
    with caplog.at_level(logging.ERROR):
        response = client.get("/_test/boom")

    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Something went wrong" in page
    assert "Nothing was saved by this request." in page
    assert "Traceback" not in page
    assert "secret internal detail" not in page
    assert any(
        "unexpected error on GET /_test/boom" in r.getMessage() and r.exc_info and r.exc_info[0] is RuntimeError
        for r in caplog.records
    )
    assert db.session.scalar(select(func.count()).select_from(User)) == 0
    db.session.commit()
    with db.engine.connect() as connection:
        assert connection.scalar(select(func.count()).select_from(User)) == 0


def test_healthz_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


# --- UTCDateTime --------------------------------------------------------------------------------


def test_utc_datetime_refuses_naive_times(make_user):
    user = make_user("naive@example.org")
    user.created_at = datetime(2026, 1, 1, 12, 0)
    with pytest.raises(StatementError, match="refusing a naive datetime"):
        db.session.flush()
    db.session.rollback()


def test_utc_datetime_stores_utc_and_returns_aware_utc(make_user):
    user = make_user("aware@example.org")
    local = datetime(2026, 3, 1, 17, 30, tzinfo=timezone(timedelta(hours=2)))
    user.created_at = local
    db.session.commit()
    user_id = user.id
    db.session.expire_all()

    loaded = db.session.get(User, user_id)
    assert loaded.created_at == local
    assert loaded.created_at.tzinfo is UTC or loaded.created_at.utcoffset() == timedelta(0)
    assert loaded.created_at.replace(tzinfo=None) == datetime(2026, 3, 1, 15, 30)
    assert loaded.created_at.tzname() == "UTC"
    # Comparisons in SQL work with aware values too.
    found = db.session.scalar(select(User.id).where(User.created_at == datetime(2026, 3, 1, 15, 30, tzinfo=UTC)))
    assert found == user_id
    if db.engine.dialect.name == "sqlite":
        raw = db.session.scalar(text("SELECT created_at FROM users WHERE id = :id"), {"id": user_id})
        assert str(raw).startswith("2026-03-01 15:30:00")


# --- money --------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [1.5, 0.0, True, False, None, [1], "abc", "NaN", "Infinity"])
def test_to_decimal_refuses_floats_booleans_and_garbage(value):
    with pytest.raises(MoneyError):
        to_decimal(value)


def test_to_decimal_accepts_int_str_and_decimal():
    assert to_decimal(5) == Decimal(5)
    assert to_decimal(" 1_000.50 ") == Decimal("1000.50")
    assert to_decimal(Decimal("2.5")) == Decimal("2.5")
    assert issubclass(MoneyError, ValueError)


@pytest.mark.parametrize(
    ("value", "currency", "half_up", "half_even"),
    [
        ("2.345", "EUR", "2.35", "2.34"),
        ("2.355", "EUR", "2.36", "2.36"),
        ("-2.345", "EUR", "-2.35", "-2.34"),
        ("2.5", "JPY", "3", "2"),
        ("3.5", "JPY", "4", "4"),
        ("1.2345", "KWD", "1.235", "1.234"),
    ],
)
def test_round_money_half_up_and_half_even(value, currency, half_up, half_even):
    up = round_money(Decimal(value), currency, "half_up")
    even = round_money(Decimal(value), currency, "half_even")
    assert up == Decimal(half_up) and str(up) == half_up
    assert even == Decimal(half_even) and str(even) == half_even
    assert round_money(Decimal(value), currency) == up  # half_up is the default


def test_format_money():
    assert format_money(Decimal("1234567.5"), "EUR") == "EUR 1,234,567.50"
    assert format_money(Decimal("1234567"), "JPY") == "JPY 1,234,567"
    assert format_money(Decimal("1234.5"), "KWD") == "KWD 1,234.500"
    assert format_money(Decimal("5"), "") == "5.00"
    assert format_money(None, "EUR") == "–"
    with pytest.raises(MoneyError):
        format_money(1.5, "EUR")  # type: ignore[arg-type]


def test_is_exact_amount_follows_the_currency_minor_unit():
    assert is_exact_amount(Decimal("100"), "JPY")
    assert is_exact_amount(Decimal("100.0"), "JPY")
    assert not is_exact_amount(Decimal("100.5"), "JPY")
    assert is_exact_amount(Decimal("1.234"), "KWD")
    assert not is_exact_amount(Decimal("1.2345"), "KWD")
    assert is_exact_amount(Decimal("1.23"), "EUR")
    assert not is_exact_amount(Decimal("1.234"), "EUR")
    assert is_exact_amount(Decimal("1.23"), "eur")
    with pytest.raises(MoneyError):
        is_exact_amount(1.5, "EUR")  # type: ignore[arg-type]


def test_a_rollback_undoes_work_done_inside_a_savepoint(app):
    """On SQLite a SAVEPOINT outside a transaction would commit on RELEASE; the engine opens one first."""
    from programme.core.audit import AuditEntry
    from programme.core.db import utcnow

    db.session.rollback()
    db.session.execute(db.select(AuditEntry.id).limit(1)).all()  # a read first: no transaction yet on SQLite
    with db.session.begin_nested():
        db.session.add(AuditEntry(at=utcnow(), actor_label="test", action="savepoint.test", object_type=""))
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count()).select_from(AuditEntry)) == 0
