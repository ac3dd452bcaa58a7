"""Contest-based cluster funding programme manager."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import Flask

from programme.config import ENVIRONMENT, PROJECT_ROOT, Defaults, instance_path, normalise_database_url


class ConfigurationError(RuntimeError):
    """The application cannot start with this configuration."""


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """The application factory: defaults, then instance/config.py, then the environment, then `config`."""
    app = Flask(
        __name__,
        instance_path=(config or {}).get("INSTANCE_PATH") or instance_path(),
        instance_relative_config=True,
        template_folder=str(PROJECT_ROOT / "templates"),
    )
    app.config.from_object(Defaults)
    app.config.from_pyfile("config.py", silent=True)
    for variable, key in ENVIRONMENT.items():
        if os.environ.get(variable):
            app.config[key] = os.environ[variable]
    app.config.update(config or {})
    _finish_config(app)

    from programme import extensions
    from programme.accounts.services import load_session_user
    from programme.core.security import harden
    from programme.core.web import register_web

    harden(app)  # before any route is added: the bounded <int:> converter applies to every route

    extensions.db.init_app(app)
    extensions.migrate.init_app(app, extensions.db, directory=str(Path(__file__).parent / "migrations"),
                                render_as_batch=True, compare_type=True)
    extensions.csrf.init_app(app)
    extensions.limiter.init_app(app)
    login = extensions.login_manager
    login.init_app(app)
    login.login_view = "accounts.login"
    login.login_message = "Log in to see this page."
    login.login_message_category = "info"
    login.user_loader(load_session_user)
    register_web(app)
    from programme.core.i18n import set_up_languages

    set_up_languages(app)
    from programme.core.logs import set_up_logs

    set_up_logs(app)
    from programme.core.pages import keep_pages

    keep_pages(app)  # before the blueprints' own checks of each request

    from programme.accounts.views import bp as accounts_bp
    from programme.audit.views import bp as audit_bp
    from programme.calls.views import bp as calls_bp
    from programme.dashboard.figures_views import bp as figures_bp
    from programme.dashboard.views import bp as home_bp
    from programme.funding.views import bp as funding_bp
    from programme.ledger.views import bp as ledger_bp
    from programme.loans.views import bp as loans_bp
    from programme.monitoring.views.benchmarking import bp as benchmarking_bp
    from programme.monitoring.views.milestones import bp as milestones_bp
    from programme.monitoring.views.reports import bp as reports_bp
    from programme.monitoring.views.scorecards import bp as monitoring_bp
    from programme.proposals.views import bp as proposals_bp
    from programme.reviews.views import bp as reviews_bp

    for blueprint in (home_bp, accounts_bp, calls_bp, proposals_bp, reviews_bp, funding_bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(ledger_bp)
    app.register_blueprint(loans_bp)
    app.register_blueprint(audit_bp)
    for blueprint in (monitoring_bp, reports_bp, benchmarking_bp, milestones_bp, figures_bp):
        app.register_blueprint(blueprint)
    from programme.dashboard.validity_views import bp as validity_bp

    app.register_blueprint(validity_bp)
    from programme.api.views import bp as api_bp

    app.register_blueprint(api_bp)

    from programme.cli import register_commands

    register_commands(app)
    return app


def _finish_config(app: Flask) -> None:
    from programme.core.security import make_private

    instance = Path(app.instance_path)
    production = app.config["PROGRAMME_MODE"] == "production"
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        if production:
            raise ConfigurationError("DATABASE_URL must be set in production mode.")
        make_private(instance, folder=True)
        # Created 0600 before SQLite opens it (SQLite gives its journal files the same mode).
        make_private(instance / "programme.sqlite", folder=False)
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{instance / 'programme.sqlite'}"
    app.config["SQLALCHEMY_DATABASE_URI"] = normalise_database_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # The pool of each worker process, sized in the configuration (options given outright win).
        options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
        try:
            options.setdefault("pool_size", int(app.config["DATABASE_POOL_SIZE"]))
            options.setdefault("max_overflow", int(app.config["DATABASE_POOL_OVERFLOW"]))
            options.setdefault("pool_recycle", int(app.config["DATABASE_POOL_RECYCLE_SECONDS"]))
        except (TypeError, ValueError):
            raise ConfigurationError("DATABASE_POOL_SIZE, DATABASE_POOL_OVERFLOW and DATABASE_POOL_RECYCLE_SECONDS "
                                     "must be whole numbers.") from None
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    if not app.config.get("SECRET_KEY"):
        if production:
            raise ConfigurationError("SECRET_KEY must be set in production mode (environment or instance/config.py).")
        app.config["SECRET_KEY"] = _demo_secret(instance)
    if not app.config.get("UPLOAD_FOLDER"):
        make_private(instance, folder=True)
        make_private(instance / "uploads", folder=True)
        app.config["UPLOAD_FOLDER"] = str(instance / "uploads")
    if production and str(app.config.get("RATELIMIT_STORAGE_URI", "")).startswith("memory://"):
        raise ConfigurationError(
            "RATELIMIT_STORAGE_URI must name a shared store in production mode (redis://host:6379/0): in-memory "
            "counters are per worker, so throttling would count each worker apart and forget on restart.")
    if app.config.get("SESSION_COOKIE_SECURE") is None:
        # Flask's own default is False, so setdefault() would never apply: decide here.
        app.config["SESSION_COOKIE_SECURE"] = production
    from programme.core.mail import mail_settings

    try:
        mail_settings(app.config)  # a wrong MAIL_* setting stops the start, not the sender or a page later
    except ValueError as exc:
        raise ConfigurationError(f"{exc}.") from None
    if production:
        # No statement's parameters (a password's hash, a token) in a log line or an error's message.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {"hide_parameters": True,
                                                   **(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})}
    for key in ("SCHEDULER_HEARTBEAT_SECONDS", "SCHEDULER_STANDBY_SECONDS", "SCHEDULER_CLOSE_CALLS_SECONDS",
                "HEALTH_HEARTBEAT_MAX_AGE_SECONDS"):
        if app.config.get(key) is not None:  # the environment gives text
            try:
                value = float(app.config[key])
            except (TypeError, ValueError):
                value = 0
            if not value > 0:
                raise ConfigurationError(f"{key} must be a positive number of seconds.")
            app.config[key] = int(value) if value.is_integer() else value


def _demo_secret(instance: Path) -> str:
    """A random secret kept in the instance folder, so sessions survive a restart of the demo."""
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = instance / "secret_key"
    if not path.exists():
        # Created with mode 0600 from the start: never readable by others, not even for a moment.
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()
