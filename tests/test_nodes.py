"""Several nodes (issue 17): the production layout run for real on loopback ports — two app servers (gunicorn, two
workers each) and two `programme scheduler` processes on one fresh PostgreSQL database, throttling counters in Redis
(127.0.0.1:6379) — driven through both servers at once:

- the same repayments (same bank references) posted many times to both servers at once are each recorded once;
- wrong passwords for one account, spread over both servers, meet the one shared limit (429) at the configured
  count: the throttling is shared, not per server;
- exactly one scheduler holds the lock and runs the jobs (every job row is its), the other stands by;
- the leader killed (SIGKILL), the other takes over within a minute, and no daily job runs twice for one day.

It prints the timeline (pytest -s shows it) and writes it to NODES_TIMELINE_FILE, or to
/work/notes/failover-timeline.txt when that folder exists. PostgreSQL only (TEST_DATABASE_URL); marked `nodes`.
"""

from __future__ import annotations

import http.client
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import urllib.parse
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from programme import create_app
from programme.config import PROJECT_ROOT, normalise_database_url
from programme.core.schedule_log import JobRun, SchedulerHeartbeat
from programme.extensions import db
from programme.loans.models import Repayment
from tests.conftest import PASSWORD, _drop_postgres_database, _fresh_postgres_database
from tests.core.test_scheduler_runs import noon_zone, wait_until

pytestmark = [
    pytest.mark.nodes,
    pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
                       reason="needs PostgreSQL (TEST_DATABASE_URL): several nodes share one database server"),
]

REDIS = "redis://127.0.0.1:6379/13"
ACCOUNT_LIMIT = 5  # LOGIN_LIMIT_PER_ACCOUNT's per-minute count, the default
REFERENCES = ("PAY-NODES-1", "PAY-NODES-2", "PAY-NODES-3")
POSTS_PER_REFERENCE = 40  # 120 money posts, half to each server, eight at a time
TIMELINE_NOTE = Path("/work/notes/failover-timeline.txt")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Process:
    """A real process in its own process group, its output in a log file."""

    def __init__(self, name: str, command: list[str], env: dict, log: Path) -> None:
        self.name, self.log = name, log
        with open(log, "ab") as out:
            self.process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT,
                                            start_new_session=True)

    @property
    def pid(self) -> int:
        return self.process.pid

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def kill(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()


class Server(Process):
    """gunicorn with the README's production settings (programme/gunicorn_conf.py), on a free loopback port."""

    def __init__(self, name: str, env: dict, log: Path) -> None:
        self.port = free_port()
        super().__init__(name, [sys.executable, "-m", "gunicorn", "--config", "python:programme.gunicorn_conf",
                                "--workers", "2", "--bind", f"127.0.0.1:{self.port}", "--error-logfile", str(log),
                                "tests.nodes_app:app"], env, log)

    def wait_ready(self) -> None:
        def answers() -> bool:
            assert self.process.poll() is None, f"{self.name} stopped:\n{self.tail()}"
            try:
                return request(self.port, "GET", "/login")[0] == 200
            except OSError:
                return False
        wait_until(answers, 60, f"{self.name} answering")


def programme_command(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from programme.cli import main; sys.argv[0] = 'programme'; main()",
            *args]


def request(port: int, method: str, path: str, cookies: dict | None = None, form: dict | None = None):
    """(status, headers, body); the cookies the answer sets are merged into ``cookies``."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}
    body = None
    if form is not None:
        body = urllib.parse.urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        page = response.read().decode("utf-8", errors="replace")
        if cookies is not None:
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _, value = header.split(";", 1)[0].partition("=")
                if value:
                    cookies[name.strip()] = value.strip()
                else:
                    cookies.pop(name.strip(), None)
        return response.status, response.headers, page
    finally:
        connection.close()


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, "the page has no CSRF token"
    return match.group(1)


def log_in(port: int, email: str, password: str, cookies: dict | None = None) -> tuple[int, dict]:
    cookies = {} if cookies is None else cookies
    status, _, page = request(port, "GET", "/login", cookies)
    assert status == 200
    status, _, _ = request(port, "POST", "/login", cookies, {"email": email, "password": password,
                                                               "csrf_token": csrf_of(page), "next": ""})
    return status, cookies


class Timeline:
    """What happened when (wall clock, UTC), in order of time: what the test saw, and what the rows say."""

    def __init__(self) -> None:
        self.events: list[tuple[datetime, str]] = []

    def say(self, line: str, at: datetime | None = None) -> None:
        self.events.append((at or datetime.now(UTC), line))

    def text(self) -> str:
        ordered = sorted(self.events, key=lambda event: event[0])
        return "".join(f"{moment.strftime('%Y-%m-%d %H:%M:%S.%f')[:-3]} UTC  {line}\n" for moment, line in ordered)


def build_world(url: str, instance: Path) -> dict:
    """A revolving fund with a loan (tests/loans/world.py), its administrator and a manager able to log in."""
    from tests.loans.world import loan_world

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "world", "INSTANCE_PATH": str(instance),
                      "RATELIMIT_ENABLED": False, "RULES_FOLDER": str(PROJECT_ROOT / "rules")})
    with app.app_context():
        w = loan_world()
        w.admin.email, w.manager.email = "admin@nodes.example.org", "manager@nodes.example.org"
        db.session.commit()
        made = {"loan": w.loan.id, "admin": w.admin.email, "manager": w.manager.email}
        db.session.remove()
        db.engine.dispose()
    return made


def test_two_app_servers_and_two_schedulers_on_one_database(tmp_path: Path) -> None:
    from tests.loans.world import FIRST_DUE, NOW

    timeline = Timeline()
    url, fresh = _fresh_postgres_database(normalise_database_url(os.environ["TEST_DATABASE_URL"]))
    assert fresh, "the test needs a database of its own (the right to create databases)"
    prefix = f"nodes-{secrets.token_hex(6)}"
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o700)
    (instance / "config.py").write_text(f"RATELIMIT_KEY_PREFIX = {prefix!r}\n")
    env = {**os.environ, "PROGRAMME_MODE": "production", "DATABASE_URL": url, "SECRET_KEY": secrets.token_hex(32),
           "RATELIMIT_STORAGE_URI": REDIS, "PROGRAMME_INSTANCE_PATH": str(instance),
           "PROGRAMME_TIMEZONE": noon_zone(), "PROGRAMME_SCHEDULER_HEARTBEAT_SECONDS": "1",
           "PROGRAMME_SCHEDULER_STANDBY_SECONDS": "1", "PROGRAMME_SCHEDULER_CLOSE_CALLS_SECONDS": "2",
           "PROGRAMME_DB_POOL_SIZE": "2", "MAIL_BACKEND": "off", "PYTHONUNBUFFERED": "1",
           "NODES_CLOCK_OFFSET_SECONDS": str((NOW - datetime.now(UTC)).total_seconds())}
    env.pop("TEST_DATABASE_URL", None)
    processes: list[Process] = []
    engine = create_engine(url)
    try:
        migrated = subprocess.run(programme_command("init-db"), env=env, cwd=PROJECT_ROOT, capture_output=True,
                                  text=True, timeout=120)
        assert migrated.returncode == 0, migrated.stdout + migrated.stderr
        world = build_world(url, tmp_path / "world-instance")
        timeline.say(f"database {url.rsplit('/', 1)[-1]} migrated, the loan world built")

        schedulers = [Process(f"scheduler {n}", programme_command("scheduler"), env, tmp_path / f"scheduler-{n}.log")
                      for n in (1, 2)]
        processes += schedulers
        servers = [Server(f"app server {n}", env, tmp_path / f"server-{n}.log") for n in (1, 2)]
        processes += servers
        timeline.say(f"started schedulers (pids {schedulers[0].pid}, {schedulers[1].pid}) and app servers "
                     f"(ports {servers[0].port}, {servers[1].port})")
        for server in servers:
            server.wait_ready()
        timeline.say("both app servers answer")

        def beats() -> dict[str, SchedulerHeartbeat]:
            with engine.connect() as connection:
                return {row.node: row for row in connection.execute(select(SchedulerHeartbeat.__table__))}

        def job_runs() -> list:
            with engine.connect() as connection:
                return list(connection.execute(select(JobRun.__table__).order_by(JobRun.id)))

        def pid_of(node: str) -> int:
            return int(node.rsplit(":", 1)[1])

        # --- one leader, one standby -----------------------------------------------------------------------------
        wait_until(lambda: len(beats()) == 2 and sum(b.holds_lock for b in beats().values()) == 1, 60,
                   "both schedulers beating, one of them holding the lock")
        leader_node = next(node for node, beat in beats().items() if beat.holds_lock)
        standby_node = next(node for node in beats() if node != leader_node)
        leader = next(p for p in schedulers if p.pid == pid_of(leader_node))
        standby = next(p for p in schedulers if p.pid == pid_of(standby_node))
        timeline.say(f"{leader_node} holds the lock (the leader); {standby_node} stands by (heartbeats seen)")

        # --- money posted through both servers at once -----------------------------------------------------------
        status, admin = log_in(servers[0].port, world["admin"], PASSWORD)
        assert status == 302, "the administrator logs in through server 1"
        status, _, page = request(servers[1].port, "GET", f"/loans/{world['loan']}", admin)
        assert status == 200, "the session made on server 1 is good on server 2"
        token = csrf_of(page)

        def post(i: int) -> int:
            reference = REFERENCES[i % len(REFERENCES)]
            server = servers[(i // len(REFERENCES)) % 2]
            return request(server.port, "POST", f"/loans/{world['loan']}/repayments", dict(admin), {
                "amount": "250.00", "value_date": FIRST_DUE.isoformat(), "bank_reference": reference,
                "csrf_token": token})[0]

        with ThreadPoolExecutor(max_workers=8) as pool:
            statuses = Counter(pool.map(post, range(len(REFERENCES) * POSTS_PER_REFERENCE)))
        with engine.connect() as connection:
            recorded = Counter(connection.scalars(select(Repayment.bank_reference).where(
                Repayment.loan_id == world["loan"])))
        timeline.say(f"{sum(statuses.values())} repayment posts over both servers at once: answers "
                     f"{dict(sorted(statuses.items()))}; recorded {dict(recorded)}")
        assert set(statuses) <= {302, 409}, statuses  # done, or "already done at the same moment"
        assert recorded == dict.fromkeys(REFERENCES, 1)

        # --- one throttle for both servers -----------------------------------------------------------------------
        tries = []
        for attempt in range(ACCOUNT_LIMIT + 2):
            server = servers[attempt % 2]
            status, _ = log_in(server.port, world["manager"], f"wrong-password-{attempt}")
            tries.append(status)
        timeline.say(f"{len(tries)} wrong passwords for one account, alternating servers: {tries}")
        assert tries == [200] * ACCOUNT_LIMIT + [429, 429]

        # --- the leader alone runs the jobs ----------------------------------------------------------------------
        daily = {"loans-daily", "monitoring-daily", "ledger-checks", "prune-data-changes"}
        wait_until(lambda: daily <= {r.job for r in job_runs() if r.outcome == "done"}
                   and sum(r.job == "close-calls-at-deadline" for r in job_runs()) >= 2, 60,
                   "the leader catching up the daily jobs and closing calls twice")
        before = job_runs()
        assert {r.node for r in before} == {leader_node}, Counter(r.node for r in before)
        assert {b.node: b.holds_lock for b in beats().values()} == {leader_node: True, standby_node: False}
        for server in servers:
            assert request(server.port, "GET", "/healthz")[:1] == (200,)
        timeline.say(f"before the failover: {len(before)} job runs, all by {leader_node}: "
                     f"{dict(Counter(r.job for r in before))}")

        # --- the leader killed -----------------------------------------------------------------------------------
        killed_at = datetime.now(UTC)
        leader.kill()
        timeline.say(f"SIGKILL to the leader {leader_node}", killed_at)

        def taken_over() -> bool:
            beat = beats().get(standby_node)
            return beat is not None and beat.holds_lock

        wait_until(taken_over, 60, "the standby taking the lock within a minute")
        assert standby.process.poll() is None, standby.tail()
        seen_at = datetime.now(UTC)
        wait_until(lambda: any(r.node == standby_node for r in job_runs()), 60, "the new leader running a job")
        after = [r for r in job_runs() if r.id > before[-1].id]
        first_new = min((r.started_at for r in after if r.node == standby_node), default=seen_at)
        dead = beats()[leader_node]
        timeline.say(f"last heartbeat of the dead leader {leader_node}", dead.last_beat_at)
        timeline.say(f"{standby_node} holds the lock (seen by the test)", seen_at)
        timeline.say(f"first job run by {standby_node}", first_new)
        took = (seen_at - killed_at).total_seconds()
        timeline.say(f"takeover {took:.1f} s after the kill (standby retries every 1 s, heartbeat 1 s)")
        assert took < 60

        # A daily job is done once for the day: the new leader skips those the dead one did.
        wait_until(lambda: {r.job for r in job_runs() if r.node == standby_node and r.daily} >= daily, 60,
                   "the new leader catching up (skipping) the daily jobs")
        wait_until(lambda: sum(r.node == standby_node and r.job == "close-calls-at-deadline"
                               for r in job_runs()) >= 2, 60, "the new leader closing calls twice")
        runs = job_runs()
        done = Counter((r.job, r.day) for r in runs if r.daily and r.outcome == "done")
        assert done and max(done.values()) == 1, done
        assert {r.node for r in runs if r.daily and r.outcome == "done"} == {leader_node}
        assert {r.outcome for r in runs if r.daily and r.node == standby_node} == {"skipped"}
        assert {r.node for r in runs if r.id > before[-1].id} == {standby_node}
        for server in servers:
            wait_until(lambda server=server: request(server.port, "GET", "/healthz")[0] == 200, 60,
                       f"{server.name} healthy again")
        by_node: dict[str, Counter] = {}
        for r in runs:
            by_node.setdefault(r.node, Counter())[f"{r.job} {r.outcome}"] += 1
        for node, counts in by_node.items():
            timeline.say(f"job runs by {node}: {dict(sorted(counts.items()))}")
        timeline.say(f"daily jobs done once each: {sorted(f'{job} for {day}' for job, day in done)}")
        for r in runs:
            if r.daily:
                timeline.say(f"{r.job} for {r.day}: {r.outcome} by {r.node}"
                             + (f" ({r.message})" if r.outcome == "skipped" else ""), r.started_at)
        timeline.say("both app servers answer /healthz 200 under the new leader")
    finally:
        for process in processes:
            process.stop()
        engine.dispose()
        _drop_postgres_database(url, fresh)
        _forget_counters(prefix)
        report = timeline.text()
        print("\n--- failover timeline ---\n" + report)
        target = os.environ.get("NODES_TIMELINE_FILE") or (str(TIMELINE_NOTE) if TIMELINE_NOTE.parent.is_dir()
                                                            else "")
        if target:
            Path(target).write_text(report)


def _forget_counters(prefix: str) -> None:
    """The run's throttling counters in Redis (they would expire in a day)."""
    import redis

    client = redis.Redis.from_url(REDIS)
    try:
        keys = list(client.scan_iter(f"*{prefix}*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()

