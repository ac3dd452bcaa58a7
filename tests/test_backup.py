"""`programme backup` and `programme restore`: a programme with money and an uploaded file in it, committed for
real in a database of its own, backed up, restored into another empty database and folder, where `programme ledger
check` reports the same trial balance and the file is the same, byte for byte; and the restores that must be
refused (a damaged archive, a part that does not match its checksum, a database or a folder that is not empty, no
archive at all), which restore nothing. On SQLite, or PostgreSQL with TEST_DATABASE_URL."""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import func, inspect, make_url, select

from programme.config import ENVIRONMENT
from programme.core import backup
from programme.core.backup import BackupError, libpq_environment, postgres_tool, upload_files
from programme.core.db import Base
from programme.extensions import db
from tests.funding.conftest import Funded
from tests.funding.matching import contribute, matching_grant
from tests.loans.world import FIRST_DUE, NOW, loan_world
from tests.own_database import OwnDatabases, own_databases

D = Decimal
EVIDENCE = b"%PDF-1.4 the members' receipt for the co-financing\n" + bytes(range(256))


@dataclass
class Original:
    app: Flask
    url: str
    archive: Path
    ledger_check: str
    trial_balance: str
    rows: dict[str, int]
    evidence: str


def _rows() -> dict[str, int]:
    return {t.name: db.session.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}


def _invoke(app: Flask, *args: str) -> str:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _build_programme_with_money(app: Flask) -> None:
    """A revolving fund with a loan and a repayment, a start-up grant and a matching grant with co-financing
    (its evidence an uploaded file) verified: committed for real."""
    w = loan_world()
    startup = w.initiative.startup_grant
    assert startup is not None
    from programme.loans import services as loans

    loans.record_repayment(w.loan, amount=D("1234.56"), value_date=FIRST_DUE, bank_reference="R-BACKUP-1",
                           actor=w.admin, now=NOW, timezone="UTC")
    funded = Funded(w.initiative, startup, w.admin, w.admin2, w.manager, w.reviewer, w.applicant)
    grant = matching_grant(funded, "40000.00")
    contribute(funded, grant, "15000.00", upload_root=app.config["UPLOAD_FOLDER"], content=EVIDENCE)
    db.session.commit()


@pytest.fixture(scope="module")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OwnDatabases]:
    with own_databases(tmp_path_factory.mktemp("own")) as made:
        yield made


@pytest.fixture(scope="module")
def original(databases: OwnDatabases, tmp_path_factory: pytest.TempPathFactory) -> Original:
    url = databases.url("original")
    app = databases.app(url, "original")
    with app.app_context():
        _invoke(app, "init-db")
        _build_programme_with_money(app)
        checked = _invoke(app, "ledger", "check")
        assert "The ledger balances and every derived balance equals it." in checked
        balance = _invoke(app, "ledger", "trial-balance", "--accounts")
        folder = tmp_path_factory.mktemp("backups")
        written = _invoke(app, "backup", str(folder))
        (archive,) = folder.glob("programme-backup-*.tar.gz")
        assert written.startswith(f"Backup written to {archive}: the {make_url(url).get_backend_name()} database")
        assert "and 1 uploaded file(s)" in written
        (evidence,) = upload_files(Path(app.config["UPLOAD_FOLDER"]))
        rows = _rows()
    return Original(app, url, archive, checked, balance, rows, str(evidence))


def _script_env(url: str, instance: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ENVIRONMENT and not k.startswith("FLASK_")}
    env.update({"DATABASE_URL": url, "PROGRAMME_INSTANCE_PATH": str(instance), "SECRET_KEY": "test-secret",
                "PROGRAMME_UPLOAD_FOLDER": str(instance / "uploads")})
    return env


def _programme(args: list[str], url: str, instance: Path) -> subprocess.CompletedProcess[str]:
    script = shutil.which("programme") or str(Path(sys.executable).parent / "programme")
    return subprocess.run([script, *args], env=_script_env(url, instance), capture_output=True, text=True,
                          timeout=300, check=False)


def _tables(app: Flask) -> list[str]:
    with app.app_context():
        return inspect(db.engine).get_table_names()


def _assert_nothing_restored(app: Flask) -> None:
    assert _tables(app) == []
    assert upload_files(Path(app.config["UPLOAD_FOLDER"])) == []


# --- the backup restores ----------------------------------------------------------------------------------------


def test_the_copy_reports_the_same_trial_balance_and_holds_the_same_file(original, databases):
    url = databases.url("copy")
    instance = databases.instance("copy")
    restored = _programme(["restore", str(original.archive)], url, instance)
    assert restored.returncode == 0, restored.stdout + restored.stderr
    assert "and 1 uploaded file(s) into" in restored.stdout
    assert "(head): no upgrade was needed." in restored.stdout

    copy = databases.app(url, "copy")
    with copy.app_context():
        assert _invoke(copy, "ledger", "check") == original.ledger_check
        assert _invoke(copy, "ledger", "trial-balance", "--accounts") == original.trial_balance
        assert _rows() == original.rows
        uploads = Path(copy.config["UPLOAD_FOLDER"])
        assert uploads == instance / "uploads"
        assert [str(p) for p in upload_files(uploads)] == [original.evidence]
        restored_file = uploads / original.evidence
        assert restored_file.read_bytes() == (Path(original.app.config["UPLOAD_FOLDER"]) / original.evidence
                                              ).read_bytes() == EVIDENCE
        assert stat.S_IMODE(restored_file.stat().st_mode) == 0o600
        folder = restored_file.parent
        while folder != instance:
            assert stat.S_IMODE(folder.stat().st_mode) == 0o700, folder
            folder = folder.parent
        if make_url(url).get_backend_name() == "sqlite":
            assert stat.S_IMODE(Path(make_url(url).database).stat().st_mode) == 0o600

        # the copy lives on: its ids go on after the restored ones (PostgreSQL's sequences came back too)
        from programme.accounts.models import User
        from programme.loans.models import Loan, Repayment
        from programme.loans.services import record_repayment

        loan = db.session.scalars(select(Loan)).one()
        admin = db.session.scalar(select(User).where(User.email == "admin@funds.test"))
        later = record_repayment(loan, amount=D("100.00"), value_date=date(2027, 9, 15),
                                 bank_reference="R-AFTER-RESTORE", actor=admin, now=NOW, timezone="UTC")
        db.session.commit()
        assert later.id > max(r.id for r in db.session.scalars(select(Repayment)) if r.id != later.id)
        assert "The ledger balances and every derived balance equals it." in _invoke(copy, "ledger", "check")


def test_the_manifest_describes_every_part(original):
    with tarfile.open(original.archive) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("manifest.json").read())
    kind = make_url(original.url).get_backend_name()
    database = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}[kind]
    assert sorted(names) == sorted(["manifest.json", database, f"uploads/{original.evidence}"])
    assert manifest["format"] == "programme-backup" and manifest["format_version"] == 1
    with original.app.app_context():
        from alembic.runtime.migration import MigrationContext

        with db.engine.connect() as connection:
            assert manifest["database"]["revision"] == MigrationContext.configure(connection).get_current_revision()
    assert manifest["database"]["kind"] == kind and manifest["database"]["file"] == database
    assert manifest["uploads"]["count"] == 1 and manifest["uploads"]["bytes"] == len(EVIDENCE)
    (part,) = manifest["uploads"]["files"]
    import hashlib

    assert part == {"path": f"uploads/{original.evidence}", "size": len(EVIDENCE),
                    "sha256": hashlib.sha256(EVIDENCE).hexdigest()}
    assert manifest["created_at"].endswith("+00:00")
    assert stat.S_IMODE(original.archive.stat().st_mode) == 0o600


def test_a_backup_never_overwrites_a_file(original, tmp_path):
    existing = tmp_path / "kept.tar.gz"
    existing.write_bytes(b"someone's file")
    with original.app.app_context():
        result = original.app.test_cli_runner().invoke(args=["backup", str(existing)])
        missing = original.app.test_cli_runner().invoke(args=["backup", str(tmp_path / "no" / "such.tar.gz")])
    assert result.exit_code == 1
    assert f"Error: {existing} exists already: a backup never overwrites a file" in result.output
    assert existing.read_bytes() == b"someone's file"
    assert missing.exit_code == 1 and "does not exist" in missing.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["kept.tar.gz"]


# --- restores that are refused ----------------------------------------------------------------------------------


def _refused(databases: OwnDatabases, name: str, archive: Path) -> tuple[Flask, str]:
    url = databases.url(name)
    app = databases.app(url, name)
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["restore", str(archive)])
    assert result.exit_code == 1, result.output
    assert result.output.rstrip().endswith("Nothing was restored."), result.output
    return app, result.output


def test_a_changed_byte_in_the_archive_is_refused_and_nothing_is_restored(original, databases, tmp_path):
    data = bytearray(original.archive.read_bytes())
    data[len(data) // 2] ^= 0x01
    damaged = tmp_path / "damaged.tar.gz"
    damaged.write_bytes(bytes(data))
    app, output = _refused(databases, "damaged", damaged)
    assert f"Error: {damaged} " in output
    assert "damaged" in output
    _assert_nothing_restored(app)


def _rewritten(archive: Path, target: Path, change: dict[str, bytes]) -> Path:
    """The archive with some parts' contents replaced and its manifest kept as it was."""
    with tarfile.open(archive) as source, tarfile.open(target, "w:gz") as out:
        for member in source:
            data = source.extractfile(member).read()
            data = change.get(member.name, data)
            member.size = len(data)
            out.addfile(member, io.BytesIO(data))
    return target


def test_a_part_that_does_not_match_its_checksum_is_refused(original, databases, tmp_path):
    name = f"uploads/{original.evidence}"
    changed = bytearray(EVIDENCE)
    changed[20] ^= 0x01
    archive = _rewritten(original.archive, tmp_path / "tampered.tar.gz", {name: bytes(changed)})
    app, output = _refused(databases, "tampered", archive)
    assert f"{name} does not match its SHA-256 and size in the manifest" in output
    _assert_nothing_restored(app)


def test_an_archive_with_a_part_its_manifest_does_not_list_is_refused(original, databases, tmp_path):
    archive = tmp_path / "extra.tar.gz"
    shutil.copy(original.archive, tmp_path / "plain.tar.gz")
    with gzip.open(tmp_path / "plain.tar.gz") as unzipped:
        raw = unzipped.read()
    with tarfile.open(fileobj=io.BytesIO(raw)) as source, tarfile.open(archive, "w:gz") as out:
        for member in source:
            out.addfile(member, source.extractfile(member))
        extra = tarfile.TarInfo("uploads/proposals/9/planted.pdf")
        extra.size = 4
        out.addfile(extra, io.BytesIO(b"%PDF"))
    app, output = _refused(databases, "extra", archive)
    assert "it holds uploads/proposals/9/planted.pdf, which its manifest does not list" in output
    _assert_nothing_restored(app)


@pytest.mark.parametrize("member", ["../escape.pdf", "/etc/cron.d/x", "notes.txt"])
def test_an_archive_with_a_path_no_backup_holds_is_refused(databases, tmp_path, member):
    archive = tmp_path / "odd.tar.gz"
    with tarfile.open(archive, "w:gz") as out:
        info = tarfile.TarInfo(member)
        info.size = 4
        out.addfile(info, io.BytesIO(b"%PDF"))
    app, output = _refused(databases, "odd", archive)
    assert "which no programme backup holds" in output
    _assert_nothing_restored(app)
    assert not (tmp_path / "escape.pdf").exists()


def test_a_database_that_is_not_empty_is_refused(original, databases):
    with original.app.app_context():
        before = _rows()
        result = original.app.test_cli_runner().invoke(args=["restore", str(original.archive)])
        assert result.exit_code == 1
        assert "is not empty (it has" in result.output and "table(s)" in result.output
        assert "a backup is restored only into an empty database" in result.output
        assert result.output.rstrip().endswith("Nothing was restored.")
        db.session.expire_all()
        assert _rows() == before


def test_an_upload_folder_that_is_not_empty_is_refused(original, databases):
    url = databases.url("busy")
    app = databases.app(url, "busy")
    uploads = Path(app.config["UPLOAD_FOLDER"])
    (uploads / "proposals" / "1").mkdir(parents=True)
    (uploads / "proposals" / "1" / "theirs.pdf").write_bytes(b"%PDF-1.4 someone else's")
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["restore", str(original.archive)])
    assert result.exit_code == 1
    assert f"the upload folder {uploads} is not empty (it holds 1 file(s))" in result.output
    assert _tables(app) == []
    assert upload_files(uploads) == [Path("proposals/1/theirs.pdf")]


def test_a_missing_archive_is_refused(databases, tmp_path):
    app, output = _refused(databases, "missing", tmp_path / "no-such-backup.tar.gz")
    assert f"Error: there is no backup at {tmp_path / 'no-such-backup.tar.gz'}. Nothing was restored." in output
    _assert_nothing_restored(app)


def test_a_file_that_is_not_a_backup_is_refused(databases, tmp_path):
    not_gzip = tmp_path / "notes.tar.gz"
    not_gzip.write_text("just some text")
    app, output = _refused(databases, "text", not_gzip)
    assert "cannot be read: it is damaged or not a .tar.gz backup" in output
    no_manifest = tmp_path / "empty.tar.gz"
    with tarfile.open(no_manifest, "w:gz"):
        pass
    app, output = _refused(databases, "nomanifest", no_manifest)
    assert "has no manifest.json: it is not a programme backup" in output
    _assert_nothing_restored(app)


def test_a_backup_of_a_revision_this_release_does_not_know_is_refused(original, databases, tmp_path):
    with tarfile.open(original.archive) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
    manifest["database"]["revision"] = "9999"
    archive = _rewritten(original.archive, tmp_path / "newer.tar.gz",
                         {"manifest.json": json.dumps(manifest).encode()})
    app, output = _refused(databases, "newer", archive)
    assert "is at migration revision 9999, which this release does not know" in output
    _assert_nothing_restored(app)


def test_a_backup_of_the_other_database_kind_is_refused(original, databases, tmp_path):
    kind = make_url(original.url).get_backend_name()
    other = "postgresql" if kind == "sqlite" else "sqlite"
    names = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}
    with tarfile.open(original.archive) as source:
        manifest = json.loads(source.extractfile("manifest.json").read())
        manifest["database"].update(kind=other, file=names[other])
        archive = tmp_path / "other.tar.gz"
        with tarfile.open(archive, "w:gz") as out:
            for member in source:
                data = source.extractfile(member).read()
                if member.name == "manifest.json":
                    data = json.dumps(manifest).encode()
                member.name = names[other] if member.name == names[kind] else member.name
                member.size = len(data)
                out.addfile(member, io.BytesIO(data))
    app, output = _refused(databases, "other", archive)
    assert f"holds a {other} database; the configured database is {kind}: restore it into a {other} database" in output
    _assert_nothing_restored(app)


# --- PostgreSQL's tools -----------------------------------------------------------------------------------------


def test_the_password_goes_to_pg_dump_in_its_environment(monkeypatch):
    monkeypatch.setenv("PGDATABASE", "someone_elses")
    monkeypatch.setenv("PGHOST", "elsewhere.example.org")
    monkeypatch.setenv("PGPASSFILE", "/etc/programme/pgpass")
    url = make_url("postgresql+psycopg://keeper:s3cret-pass@db.example.org:6543/programme?sslmode=require")
    env = libpq_environment(url)
    assert (env["PGHOST"], env["PGPORT"], env["PGUSER"], env["PGPASSWORD"], env["PGDATABASE"], env["PGSSLMODE"]) == (
        "db.example.org", "6543", "keeper", "s3cret-pass", "programme", "require")
    assert env["PGPASSFILE"] == "/etc/programme/pgpass"
    # what the URL leaves out comes from the process's PG* variables, as for the app's own connections
    socket = libpq_environment(make_url("postgresql+psycopg://keeper@/programme?host=/run/postgresql"))
    assert socket["PGHOST"] == "/run/postgresql" and socket["PGDATABASE"] == "programme"
    assert libpq_environment(make_url("postgresql+psycopg://keeper@/programme"))["PGHOST"] == "elsewhere.example.org"


def test_a_missing_postgres_tool_is_named(monkeypatch):
    monkeypatch.setattr(backup.shutil, "which", lambda name: None)
    with pytest.raises(BackupError, match=r"pg_dump is not installed on this machine: install the PostgreSQL "
                                          r"client tools"):
        postgres_tool("pg_dump")


def test_on_postgres_pg_dump_is_run_without_the_password_on_its_command_line(original, monkeypatch, tmp_path):
    if make_url(original.url).get_backend_name() != "postgresql":
        pytest.skip("PostgreSQL only")
    seen: list[tuple[list[str], dict[str, str]]] = []
    real = subprocess.run

    def spy(args, **kwargs):
        seen.append((list(args), dict(kwargs["env"])))
        return real(args, **kwargs)

    monkeypatch.setattr(backup.subprocess, "run", spy)
    monkeypatch.setattr(backup.shutil, "which", lambda name: None)
    with original.app.app_context():
        result = original.app.test_cli_runner().invoke(args=["backup", str(tmp_path)])
    assert result.exit_code == 1
    assert "pg_dump is not installed on this machine" in result.output
    assert seen == [] and list(tmp_path.iterdir()) == []
    monkeypatch.undo()
    monkeypatch.setattr(backup.subprocess, "run", spy)
    with original.app.app_context():
        _invoke(original.app, "backup", str(tmp_path))
    ((args, env),) = seen
    assert Path(args[0]).name == "pg_dump" and "--format=custom" in args
    assert not any(original.url in a or "postgresql" in a for a in args)
    assert env["PGDATABASE"] == make_url(original.url).database
