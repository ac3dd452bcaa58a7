"""Upgrades: `programme init-db` on a database of an earlier release migrates it without loss. A database of its own
is built at the FIRST migration, filled with rows written in that revision's own schema (read from the database,
not from today's models), then upgraded to head by `programme init-db`; every row is still there with its values,
and the app reads them through its services and pages (the people log in, the call's public page answers). On
SQLite, or PostgreSQL with TEST_DATABASE_URL."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from alembic.script import ScriptDirectory
from flask import Flask
from sqlalchemy import MetaData, func, select

from programme.accounts.passwords import hash_password
from programme.config import PROJECT_ROOT
from programme.extensions import db
from programme.rulebook.loader import parse_call_rules
from tests.conftest import PASSWORD, SETUP
from tests.own_database import own_databases

RULES_FILE = PROJECT_ROOT / "rules" / "cluster-contest.toml"
CREATED = datetime(2026, 11, 2, 8, 30, 15, 123456, tzinfo=UTC)
OPENS = datetime(2026, 11, 3, 7, 0, tzinfo=UTC)
CLOSES = datetime(2099, 1, 31, 15, 0, tzinfo=UTC)
MANAGER = "old.manager@example.org"
LEAD = "old.lead@example.org"


def _migrations(app: Flask) -> ScriptDirectory:
    return ScriptDirectory(app.extensions["migrate"].directory)


def _first_revision(app: Flask) -> str:
    (first,) = _migrations(app).get_bases()
    return first


def _at_first_revision(app: Flask) -> str:
    from flask_migrate import upgrade

    first = _first_revision(app)
    upgrade(revision=first)
    return first


def _moment(value: datetime, dialect: str) -> datetime:
    """A time as that revision's columns took it: aware on PostgreSQL, naive UTC on SQLite."""
    return value.replace(tzinfo=None) if dialect == "sqlite" else value


def _old_rows(dialect: str) -> dict[str, list[dict[str, Any]]]:
    source = RULES_FILE.read_text(encoding="utf-8")
    rules = parse_call_rules(source, RULES_FILE.name)
    at = _moment(CREATED, dialect)
    return {
        "organisations": [
            {"id": 1, "name": "Knysna Timber Works", "kind": "firm", "size_class": "small", "sector": "Wood",
             "locality": "Knysna", "created_at": at},
            {"id": 2, "name": "George Chamber of Business", "kind": "chamber", "size_class": None, "sector": None,
             "locality": "George", "created_at": at},
        ],
        "users": [
            {"id": 1, "email": MANAGER, "name": "Old Manager", "password_hash": hash_password(PASSWORD),
             "active": True, "created_at": at, "last_login_at": None, "session_version": 1, "organisation_id": None},
            {"id": 2, "email": LEAD, "name": "Old Lead", "password_hash": hash_password(PASSWORD), "active": True,
             "created_at": at, "last_login_at": _moment(OPENS, dialect), "session_version": 3,
             "organisation_id": 1},
        ],
        "user_roles": [
            {"user_id": 1, "role": "programme_manager", "granted_at": at},
            {"user_id": 2, "role": "applicant", "granted_at": at},
        ],
        "applicant_groups": [
            {"id": 1, "name": "Garden Route Wood Network", "description": "Furniture makers of the Garden Route.",
             "created_at": at},
        ],
        "group_organisations": [
            {"group_id": 1, "organisation_id": 1, "added_at": at},
            {"group_id": 1, "organisation_id": 2, "added_at": at},
        ],
        "group_users": [{"group_id": 1, "user_id": 2, "role": "lead", "joined_at": at}],
        "group_invitations": [
            {"id": 1, "group_id": 1, "email": "invited@example.org", "token": "t" * 64, "invited_by_id": 2,
             "created_at": at, "accepted_at": None, "accepted_by_id": None, "revoked_at": None},
        ],
        "calls": [
            {"id": 1, "reference": "CALL-2026-001", "name": "An early contest", "description": "Written in 0001.",
             "status": "open", "currency": rules.call.currency, "budget": Decimal("1500000.00"),
             "per_initiative_cap": Decimal("250000.50"), "opens_at": _moment(OPENS, dialect),
             "closes_at": _moment(CLOSES, dialect), "rules_file": RULES_FILE.name, "rules_source": source,
             "rules_sha256": hashlib.sha256(source.encode()).hexdigest(), "created_by_id": 1, "created_at": at,
             "opened_at": _moment(OPENS, dialect), "closed_at": None, "closed_by": None},
        ],
        "criteria": [
            {"id": position, "call_id": 1, "position": position, "key": c.key, "title": c.title,
             "guidance": c.guidance, "weight": c.weight, "threshold": c.threshold}
            for position, c in enumerate(rules.scoring.criteria, start=1)
        ],
        "audit_entries": [
            {"id": 1, "at": at, "actor_id": 1, "actor_label": MANAGER, "action": "call.created",
             "object_type": "call", "object_id": 1, "details": '{"rules_file": "cluster-contest.toml"}'},
        ],
        "notifications": [
            {"id": 1, "created_at": at, "user_id": 2, "email": LEAD, "subject": "Welcome", "body": "An old note.",
             "link": "/calls/1", "read_at": None, "sent_at": at, "send_error": None},
        ],
    }


def _insert_in_the_old_schema(rows: dict[str, list[dict[str, Any]]]) -> MetaData:
    """Insert through the tables as the database has them (reflected), in their foreign keys' order; on
    PostgreSQL the id sequences are moved past the ids given, as they would be after real use."""
    old = MetaData()
    old.reflect(bind=db.engine)
    with db.engine.begin() as connection:
        for table in old.sorted_tables:
            if table.name in rows:
                connection.execute(table.insert(), rows[table.name])
                if connection.dialect.name == "postgresql" and "id" in table.c:
                    connection.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                        f"(SELECT max(id) FROM {table.name}))")
    return old


def _read_back(old: MetaData, rows: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """The given rows' columns as the upgraded database has them (columns added since are not asked for)."""
    found = {}
    with db.engine.connect() as connection:
        for name, given in rows.items():
            table = old.tables[name]
            columns = [table.c[key] for key in given[0]]
            keys = [c for c in table.primary_key.columns]
            found[name] = [dict(row._mapping) for row in connection.execute(select(*columns).order_by(*keys))]
    return found


def _normal(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None) if value.tzinfo is None else value.astimezone(UTC).replace(tzinfo=None)
    if isinstance(value, Decimal):
        return value.normalize()
    return value


@pytest.fixture
def databases(tmp_path):
    with own_databases(tmp_path) as made:
        yield made


def test_init_db_upgrades_a_database_of_the_first_release_without_loss(databases):
    url = databases.url("old")
    app = databases.app(url, "old")
    with app.app_context():
        first = _at_first_revision(app)
        dialect = db.engine.dialect.name
        rows = _old_rows(dialect)
        old = _insert_in_the_old_schema(rows)

        result = app.test_cli_runner().invoke(args=["init-db"])
        assert result.exit_code == 0, result.output
        head = _migrations(app).get_current_head()
        assert head != first
        assert f"is at revision {head} (head)." in result.output

        # every row of the first release, every value as it was written
        after = _read_back(old, rows)
        for name, given in rows.items():
            assert len(after[name]) == len(given), name
            for written, read in zip(given, after[name], strict=True):
                assert {k: _normal(v) for k, v in read.items()} == {k: _normal(v) for k, v in written.items()}, name

        # and the app reads them through its models and services
        from programme.accounts import services as accounts
        from programme.accounts.models import ApplicantGroup, User
        from programme.calls import services as calls
        from programme.calls.models import CallStatus
        from programme.core.access import Role

        db.session.expire_all()
        manager = accounts.find_user_by_email(MANAGER)
        lead = accounts.find_user_by_email(LEAD)
        assert manager.role_set == {Role.PROGRAMME_MANAGER} and lead.role_set == {Role.APPLICANT}
        assert lead.organisation.name == "Knysna Timber Works"
        assert lead.created_at == CREATED and lead.session_version == 3
        # 0010: the accounts that existed count as verified from when they were made
        assert lead.email_verified_at == CREATED and manager.email_verified_at == CREATED
        assert accounts.authenticate(LEAD, PASSWORD) is not None
        group = db.session.scalars(select(ApplicantGroup)).one()
        assert [o.name for o in sorted(group.organisations, key=lambda o: o.id)] == [
            "Knysna Timber Works", "George Chamber of Business"]
        call = calls.get_call(1, actor=manager)
        assert (call.reference, call.status, call.budget, call.per_initiative_cap) == (
            "CALL-2026-001", CallStatus.OPEN, Decimal("1500000.00"), Decimal("250000.50"))
        assert (call.opens_at, call.closes_at) == (OPENS, CLOSES)
        assert [c.key for c in sorted(call.criteria, key=lambda c: c.position)] == [
            c.key for c in call.rules.scoring.criteria]
        db.session.rollback()

        # new rows go after the old ones (on PostgreSQL: the sequences were kept)
        made = accounts.create_user(email="new.reviewer@example.org", name="New Reviewer", roles=[Role.REVIEWER],
                                    password=PASSWORD, actor=SETUP)
        db.session.commit()
        assert made.id == 3
        assert db.session.scalar(select(func.count()).select_from(User)) == 3

        # and through its pages
        anonymous = app.test_client()
        public = anonymous.get("/calls/1")
        assert public.status_code == 200
        assert "An early contest" in public.get_data(as_text=True)
        for email, page in ((MANAGER, "/manage/calls/1"), (LEAD, "/")):
            client = app.test_client()
            response = client.post("/login", data={"email": email, "password": PASSWORD})
            assert response.status_code == 302, response.get_data(as_text=True)[:2000]
            assert client.get(page).status_code == 200
        again = app.test_cli_runner().invoke(args=["init-db"])
        assert again.exit_code == 0 and f"is at revision {head} (head)." in again.output


def test_the_first_revision_is_the_one_the_chain_starts_from(databases):
    """The upgrade test starts from the first migration: one base, and every later revision on one line to head."""
    app = databases.app(databases.url("chain"), "chain")
    scripts = _migrations(app)
    assert scripts.get_bases() == [_first_revision(app)]
    assert len(scripts.get_heads()) == 1
    chain = [s.revision for s in scripts.walk_revisions()]
    assert chain[-1] == _first_revision(app) and chain[0] == scripts.get_current_head()


def test_a_backup_of_the_first_release_is_restored_and_upgraded_to_head(databases, tmp_path):
    old_app = databases.app(databases.url("before"), "before")
    with old_app.app_context():
        first = _at_first_revision(old_app)
        rows = _old_rows(db.engine.dialect.name)
        _insert_in_the_old_schema(rows)
        written = old_app.test_cli_runner().invoke(args=["backup", str(tmp_path / "old.tar.gz")])
        assert written.exit_code == 0, written.output
        assert f"database at revision {first} " in written.output
    new_app = databases.app(databases.url("after"), "after")
    with new_app.app_context():
        restored = new_app.test_cli_runner().invoke(args=["restore", str(tmp_path / "old.tar.gz")])
        assert restored.exit_code == 0, restored.output
        head = _migrations(new_app).get_current_head()
        assert f"Upgraded the database from revision {first} to {head} (head)." in restored.output
        from programme.accounts import services as accounts

        assert accounts.authenticate(LEAD, PASSWORD) is not None
        assert new_app.test_client().get("/calls/1").status_code == 200
