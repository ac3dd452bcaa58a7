"""Production serving (issue 15): gunicorn's settings file and each worker's database pool, from the configuration."""

from __future__ import annotations

import importlib

import pytest

from programme import ConfigurationError, create_app


def _app(tmp_path, **config):
    return create_app({"SQLALCHEMY_DATABASE_URI": "postgresql://programme@db.example/programme",
                       "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path), **config})


def test_each_worker_pool_is_sized_by_the_configuration(tmp_path, monkeypatch):
    assert _app(tmp_path).config["SQLALCHEMY_ENGINE_OPTIONS"] == {
        "pool_size": 2, "max_overflow": 2, "pool_recycle": 1800}
    monkeypatch.setenv("PROGRAMME_DB_POOL_SIZE", "5")
    monkeypatch.setenv("PROGRAMME_DB_POOL_OVERFLOW", "0")
    options = _app(tmp_path).config["SQLALCHEMY_ENGINE_OPTIONS"]
    assert options["pool_size"] == 5 and options["max_overflow"] == 0
    # Options given outright win over the sizes.
    given = _app(tmp_path, SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 9})
    assert given.config["SQLALCHEMY_ENGINE_OPTIONS"]["pool_size"] == 9


def test_a_pool_size_that_is_not_a_number_stops_the_start_with_its_name(tmp_path, monkeypatch):
    monkeypatch.setenv("PROGRAMME_DB_POOL_SIZE", "many")
    with pytest.raises(ConfigurationError, match="DATABASE_POOL_SIZE"):
        _app(tmp_path)


def test_sqlite_needs_no_pool_settings(tmp_path):
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}", "SECRET_KEY": "x",
                      "INSTANCE_PATH": str(tmp_path)})
    assert "pool_size" not in app.config["SQLALCHEMY_ENGINE_OPTIONS"]


def test_gunicorn_settings_default_to_one_sync_worker_per_core(monkeypatch):
    import os

    import programme.gunicorn_conf as settings

    monkeypatch.delenv("PROGRAMME_WORKERS", raising=False)
    settings = importlib.reload(settings)
    assert settings.worker_class == "sync" and settings.workers == (os.cpu_count() or 2)
    assert settings.timeout == 60 and settings.max_requests > 0
    monkeypatch.setenv("PROGRAMME_WORKERS", "3")
    monkeypatch.setenv("PROGRAMME_BIND", "0.0.0.0:9000")
    settings = importlib.reload(settings)
    assert settings.workers == 3 and settings.bind == "0.0.0.0:9000"
