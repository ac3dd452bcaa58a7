"""Backups that restore: one archive (.tar.gz) with the database, the uploaded files and a manifest.

The archive holds

- ``database.sqlite`` (SQLite, copied with the online backup API, so consistent while the app runs) or
  ``database.pgdump`` (PostgreSQL, ``pg_dump --format=custom`` of one snapshot);
- ``uploads/<path>``: every file under the upload folder, at its path there;
- ``manifest.json``: the format version, when it was made, the database's kind and migration revision, and the
  size and SHA-256 of every other part.

The database is copied first and the files after it: a stored file is written before the row that names it is
committed, and is never changed, so every file the copied database names is in the archive (a file uploaded during
the backup may be there too, named by no row: harmless).

A restore reads the whole archive into a private staging folder and checks every part against the manifest before
it touches anything; it restores only into an empty database and an empty upload folder.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from typing import IO, Any

from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import URL

from programme.core.security import make_private

FORMAT = "programme-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
DATABASE_PARTS = {"sqlite": "database.sqlite", "postgresql": "database.pgdump"}
UPLOADS = "uploads"
_CHUNK = 1024 * 1024
#: libpq's environment variables for the query arguments of a database URL that pg_dump and pg_restore need too.
_LIBPQ_QUERY = {"host": "PGHOST", "sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT",
                "sslkey": "PGSSLKEY", "connect_timeout": "PGCONNECT_TIMEOUT"}


class BackupError(Exception):
    """A backup or a restore that cannot be done; the message says why and what to do."""


@dataclass(frozen=True)
class Part:
    """One file of the archive: its name there, its size in bytes and its SHA-256 (hex)."""

    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    created_at: str
    database_kind: str
    revision: str | None
    database: Part
    uploads: tuple[Part, ...]
    format_version: int = FORMAT_VERSION

    @property
    def upload_bytes(self) -> int:
        return sum(part.size for part in self.uploads)

    @property
    def parts(self) -> tuple[Part, ...]:
        return (self.database, *self.uploads)

    def to_json(self) -> str:
        return json.dumps({
            "format": FORMAT,
            "format_version": self.format_version,
            "created_at": self.created_at,
            "database": {"kind": self.database_kind, "revision": self.revision, "file": self.database.name,
                         "size": self.database.size, "sha256": self.database.sha256},
            "uploads": {"count": len(self.uploads), "bytes": self.upload_bytes,
                        "files": [{"path": p.name, "size": p.size, "sha256": p.sha256} for p in self.uploads]},
        }, indent=2) + "\n"

    @classmethod
    def from_json(cls, data: bytes) -> Manifest:
        try:
            raw = json.loads(data)
            if raw.get("format") != FORMAT:
                raise BackupError("its manifest is not a programme backup's")
            if raw.get("format_version") != FORMAT_VERSION:
                raise BackupError(f"its format version is {raw.get('format_version')!r}; this release reads "
                                  f"version {FORMAT_VERSION}")
            database = raw["database"]
            if database["kind"] not in DATABASE_PARTS or database["file"] != DATABASE_PARTS[database["kind"]]:
                raise BackupError(f"its database kind {database['kind']!r} is not one this release restores")
            uploads = tuple(Part(str(f["path"]), int(f["size"]), str(f["sha256"])) for f in raw["uploads"]["files"])
            return cls(created_at=str(raw["created_at"]), database_kind=database["kind"],
                       revision=database["revision"], uploads=uploads,
                       database=Part(database["file"], int(database["size"]), str(database["sha256"])))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BackupError(f"its manifest cannot be read ({exc.__class__.__name__}: {exc})") from None


# --- where things are -------------------------------------------------------------------------------------------


def database_kind(url: URL) -> str:
    """"sqlite" or "postgresql"; BackupError for any other database."""
    kind = url.get_backend_name()
    if kind not in DATABASE_PARTS:
        raise BackupError(f"backups are made of SQLite and PostgreSQL databases, not {kind}")
    return kind


def sqlite_path(url: URL) -> Path:
    if not url.database or url.database == ":memory:" or url.database.startswith("file:"):
        raise BackupError(f"the SQLite database {url.database or '(in memory)'!r} is not a file this can copy")
    return Path(url.database)


def upload_files(folder: Path) -> list[PurePosixPath]:
    """The files under the upload folder (relative, in order); symbolic links are not followed nor kept."""
    if not folder.is_dir():
        return []
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not (Path(root) / d).is_symlink())
        for name in files:
            path = Path(root) / name
            if path.is_file() and not path.is_symlink():
                found.append(PurePosixPath(path.relative_to(folder).as_posix()))
    return sorted(found)


def database_tables(engine: Engine) -> list[str]:
    return sorted(inspect(engine).get_table_names())


# --- PostgreSQL's own tools -------------------------------------------------------------------------------------


def postgres_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} is not installed on this machine: install the PostgreSQL client tools of the "
                          f"server's major version (Debian and Ubuntu: apt-get install postgresql-client)")
    return found


def libpq_environment(url: URL) -> dict[str, str]:
    """The environment for pg_dump and pg_restore: the connection in libpq's variables, the password in
    PGPASSWORD, so that it never appears on a command line (where any user of the machine could read it). What
    the URL gives wins; what it leaves out comes from the process's own PG* variables, as for the app's own
    connections (libpq reads them for both)."""
    from_url = {"PGHOST": url.host, "PGPORT": url.port, "PGUSER": url.username, "PGPASSWORD": url.password,
                "PGDATABASE": url.database}
    from_url.update({variable: url.query[key] for key, variable in _LIBPQ_QUERY.items() if key in url.query})
    return {**os.environ, **{k: str(v) for k, v in from_url.items() if v not in (None, "")}}


def _run_tool(args: list[str], url: URL, what: str) -> None:
    result = subprocess.run(args, env=libpq_environment(url), capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise BackupError(f"{what} failed (exit {result.returncode}): {result.stderr.strip() or result.stdout}")


# --- backing up -------------------------------------------------------------------------------------------------


def _current_revision(connection: Any) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(connection).get_current_revision()


def _copy_sqlite(url: URL, target: Path) -> str | None:
    """Copy the live SQLite database with its online backup API; answer the copy's migration revision."""
    source_path = sqlite_path(url)
    if not source_path.is_file():
        raise BackupError(f"the SQLite database {source_path} does not exist")
    source = sqlite3.connect(source_path, timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy)
        copy.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no write-ahead log beside it
        try:
            row = copy.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.OperationalError:
            row = None
    finally:
        copy.close()
        source.close()
    return row[0] if row else None


def _dump_postgres(engine: Engine, target: Path) -> str | None:
    """pg_dump of one snapshot, the one in which the migration revision is read (so the two agree)."""
    tool = postgres_tool("pg_dump")
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot = connection.scalar(text("SELECT pg_export_snapshot()"))
            revision = _current_revision(connection)
            _run_tool([tool, "--format=custom", "--no-password", f"--snapshot={snapshot}", f"--file={target}"],
                      engine.url, "pg_dump")
    return revision


class _Hashing(io.RawIOBase):
    """A file read through once while its bytes are counted and hashed (what goes into the archive is what the
    manifest describes, even if the file were to change meanwhile)."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle, self.digest, self.size = handle, hashlib.sha256(), 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data


def _add(archive: tarfile.TarFile, name: str, path: Path) -> Part:
    with path.open("rb") as handle:
        info = tarfile.TarInfo(name)
        info.size, info.mode, info.mtime = os.fstat(handle.fileno()).st_size, 0o600, int(path.stat().st_mtime)
        reader = _Hashing(handle)
        archive.addfile(info, reader)  # type: ignore[arg-type]
        if reader.size != info.size:
            raise BackupError(f"{path} changed size while it was copied")
    return Part(name, reader.size, reader.digest.hexdigest())


def backup_target(dest: Path, now: datetime) -> Path:
    """The archive's path: DEST itself, or a new file named after the moment in DEST if it is a folder."""
    target = dest / f"programme-backup-{now:%Y%m%dT%H%M%SZ}.tar.gz" if dest.is_dir() else dest
    if target.exists():
        raise BackupError(f"{target} exists already: a backup never overwrites a file")
    if not target.parent.is_dir():
        raise BackupError(f"the folder {target.parent} does not exist")
    return target


def write_backup(engine: Engine, upload_folder: Path, dest: Path, *, now: datetime) -> tuple[Path, Manifest]:
    """Write one backup archive (a .tar.gz, private to its owner) of the database and the uploaded files."""
    kind = database_kind(engine.url)
    target = backup_target(dest, now)
    partial = target.with_name(target.name + ".partial")
    with tempfile.TemporaryDirectory(prefix=".programme-backup-", dir=target.parent) as staging:
        database_file = Path(staging) / DATABASE_PARTS[kind]
        revision = _copy_sqlite(engine.url, database_file) if kind == "sqlite" else _dump_postgres(
            engine, database_file)
        try:
            with os.fdopen(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as raw, \
                    tarfile.open(fileobj=raw, mode="w:gz") as archive:
                database = _add(archive, database_file.name, database_file)
                uploads = tuple(_add(archive, f"{UPLOADS}/{name}", upload_folder / name)
                                for name in upload_files(upload_folder))
                manifest = Manifest(created_at=now.isoformat(), database_kind=kind, revision=revision,
                                    database=database, uploads=uploads)
                data = manifest.to_json().encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mode, info.mtime = len(data), 0o600, int(now.timestamp())
                archive.addfile(info, io.BytesIO(data))
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    return target, manifest


# --- restoring --------------------------------------------------------------------------------------------------


def _member_name(member: tarfile.TarInfo) -> str:
    name = PurePosixPath(member.name)
    if (not member.isreg() or name.is_absolute() or ".." in name.parts or "\\" in member.name
            or not (member.name in (MANIFEST, *DATABASE_PARTS.values()) or name.parts[0] == UPLOADS)
            or (name.parts[0] == UPLOADS and len(name.parts) < 2)):
        raise BackupError(f"it holds {member.name!r}, which no programme backup holds")
    return name.as_posix()


def read_backup(archive: Path, staging: Path) -> Manifest:
    """Unpack the archive into `staging` and check every part against the manifest: its SHA-256 and size, and that
    nothing is missing or extra. BackupError if anything differs."""
    if not archive.is_file():
        raise BackupError(f"there is no backup at {archive}")
    found: dict[str, Part] = {}
    manifest_data = b""
    try:
        with gzip.open(archive, "rb") as unzipped:
            with tarfile.open(fileobj=unzipped, mode="r:") as tar:  # type: ignore[call-overload]
                for member in tar:
                    name = _member_name(member)
                    if name in found or (name == MANIFEST and manifest_data):
                        raise BackupError(f"it holds {name} twice")
                    source = tar.extractfile(member)
                    assert source is not None
                    if name == MANIFEST:
                        manifest_data = source.read(10 * _CHUNK)
                        continue
                    target = staging / name
                    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                    digest, size = hashlib.sha256(), 0
                    with os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
                        while chunk := source.read(_CHUNK):
                            digest.update(chunk)
                            size += len(chunk)
                            out.write(chunk)
                    found[name] = Part(name, size, digest.hexdigest())
            while unzipped.read(_CHUNK):  # to the end, so that gzip checks its own CRC of everything
                pass
    except BackupError as exc:
        raise BackupError(f"{archive} is not a programme backup that can be restored: {exc}") from None
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise BackupError(f"{archive} cannot be read: it is damaged or not a .tar.gz backup ({exc})") from None
    if not manifest_data:
        raise BackupError(f"{archive} has no {MANIFEST}: it is not a programme backup")
    try:
        manifest = Manifest.from_json(manifest_data)
    except BackupError as exc:
        raise BackupError(f"{archive} cannot be restored: {exc}") from None
    expected = {part.name: part for part in manifest.parts}
    for name in sorted(expected.keys() | found.keys()):
        if name not in found:
            raise BackupError(f"{archive} is damaged: {name} is in its manifest but not in the archive")
        if name not in expected:
            raise BackupError(f"{archive} is damaged: it holds {name}, which its manifest does not list")
        if found[name] != expected[name]:
            raise BackupError(f"{archive} is damaged: {name} does not match its SHA-256 and size in the manifest")
    return manifest


@contextmanager
def _staging(near: Path) -> Iterator[Path]:
    near.mkdir(mode=0o700, parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".programme-restore-", dir=near) as folder:
        yield Path(folder)


def _restore_sqlite(engine: Engine, copy: Path) -> None:
    target = sqlite_path(engine.url)
    engine.dispose()  # no connection of this process may hold the (empty) file it replaces
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    incoming = target.with_name(f".{target.name}.restoring")
    incoming.unlink(missing_ok=True)
    with copy.open("rb") as source, \
            os.fdopen(os.open(incoming, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
        shutil.copyfileobj(source, out, _CHUNK)
    for journal in ("-wal", "-shm", "-journal"):  # an empty database's: they must not be applied to the copy
        target.with_name(target.name + journal).unlink(missing_ok=True)
    os.replace(incoming, target)


def _restore_postgres(engine: Engine, dump: Path) -> None:
    tool = postgres_tool("pg_restore")
    engine.dispose()
    _run_tool([tool, "--no-owner", "--no-acl", "--exit-on-error", "--single-transaction", "--no-password",
               f"--dbname={engine.url.database}", str(dump)], engine.url, "pg_restore")


def _restore_uploads(staging: Path, manifest: Manifest, folder: Path) -> None:
    make_private(folder, folder=True)
    for part in manifest.uploads:
        relative = PurePosixPath(part.name).relative_to(UPLOADS)
        target = folder.joinpath(*relative.parts)
        parent = folder
        for step in relative.parts[:-1]:
            parent = parent / step
            make_private(parent, folder=True)
        with (staging / part.name).open("rb") as source, \
                os.fdopen(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as out:
            shutil.copyfileobj(source, out, _CHUNK)


def restore_backup(engine: Engine, upload_folder: Path, archive: Path, *, known_revisions: set[str]) -> Manifest:
    """Restore a backup into an empty database and an empty upload folder. Every part is checked against the
    manifest first; then the database kind, that this release knows the backup's migration revision, and that
    the database has no table and the folder no file. Only then is the database restored (SQLite: the copy put
    in the file's place; PostgreSQL: pg_restore in one transaction), then the files (private: 0600 in 0700
    folders). The caller upgrades the schema to head after it."""
    kind = database_kind(engine.url)
    if not archive.is_file():
        raise BackupError(f"there is no backup at {archive}")
    with _staging(upload_folder.parent) as staging:
        manifest = read_backup(archive, staging)
        if manifest.database_kind != kind:
            raise BackupError(f"{archive} holds a {manifest.database_kind} database; the configured database is "
                              f"{kind}: restore it into a {manifest.database_kind} database")
        if manifest.revision is not None and manifest.revision not in known_revisions:
            raise BackupError(f"{archive} is at migration revision {manifest.revision}, which this release does "
                              "not know: restore it with the release that made it, or a newer one")
        tables = database_tables(engine)
        if tables:
            shown = ", ".join(tables[:5]) + (f" and {len(tables) - 5} more" if len(tables) > 5 else "")
            raise BackupError(f"the database {engine.url.render_as_string(hide_password=True)} is not empty (it "
                              f"has {len(tables)} table(s): {shown}): a backup is restored only into an empty "
                              "database; create a new one, or drop this one's tables yourself")
        files = upload_files(upload_folder)
        if files:
            raise BackupError(f"the upload folder {upload_folder} is not empty (it holds {len(files)} file(s)): a "
                              "backup is restored only into an empty folder")
        if kind == "sqlite":
            _restore_sqlite(engine, staging / manifest.database.name)
        else:
            _restore_postgres(engine, staging / manifest.database.name)
        _restore_uploads(staging, manifest, upload_folder)
    return manifest

