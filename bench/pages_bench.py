"""Page benchmark (issue 15): every main page of the application under load, as a share of this stack's ceiling.

The data, at ``--scale`` 1:

  - the monitoring benchmark's programme five years on (``bench/monitoring_bench.py``): 200 initiatives from three
    decided calls, each with its scorecard, ten half-yearly reports, grants, co-financing, milestone reviews and a
    revolving fund with ``--loans-per-fund`` loans (100 by default: 20,000 loans of 60 monthly instalments), the
    ledger balanced, the loans' daily job run once;
  - a call in review from the review benchmark (``bench/reviews_bench.py``): 5,000 submitted proposals, 300
    reviewers, the automatic assignment (15,000 reviews), nine proposals in ten scored (their reviews submitted,
    some consensus scores), the rest still to review; the call closed 25 days ago, the review's deadline in 5 days;
  - an applicant, lead of the group of the call's first proposal;
  - for the ceiling, a table of 100,000 rows (``bench/ceiling_app.py``).

Then it serves the application with gunicorn (``programme.wsgi:app``, ``--workers`` 2, PROGRAMME_MODE=production
with its throttling counters in Redis, a temporary instance folder) and the ceiling (a bare Flask page running one
indexed query and rendering a 50-row table with Jinja) with the same server and workers, each on a free loopback
port. It logs each role in once through the login form (programme manager, fund administrator, a reviewer with
assignments in the call, the applicant; and anonymous), and for each page:

  1. GETs it once with the role's session: it must answer 200 (and, logged in, still be logged in), otherwise the
     page is reported as failing and skipped;
  2. measures the ceiling: ``wrk -t2 -c<connections> -d<duration> --latency`` on the ceiling's page;
  3. warms the page up (``--warmup`` seconds of the same load) and measures it, with the role's session cookie;
     after each run it waits for the requests still queued at the server (wrk stops with its connections busy,
     and the server serves them all the same) before the next one;
  4. counts the answers that were not 2xx or 3xx (and timeouts), and GETs the page again: a page that answered
     any error, or was not 200 to its role after the load, is reported as failing, with ratio 0, never as fast.
     A page of which not one request completed in the duration has ratio 0 too (it is that slow).

It prints a table, one line per page (requests/s, the ceiling's requests/s measured right before it, their ratio,
median and 99th-percentile latency), the worst ratio, then ``name=value`` lines.

    python bench/pages_bench.py --scale 0.05                 # SQLite in a temporary folder
    python bench/pages_bench.py --scale 1 --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Needs ``wrk`` (Debian: ``apt-get install wrk``), gunicorn (``pip install -e ".[production]"``) and, in production
mode, Redis on ``--redis-url`` (``--mode demo`` needs none). With a PostgreSQL URL a fresh database is created
beside the one named, and dropped at the end. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import importlib.util
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path

import benchdb as bd
import ceiling_app
import monitoring_bench as mb
import reviews_bench as rb
from benchdb import progress
from sqlalchemy import func, select, update

from programme.accounts.models import GroupUser, User
from programme.accounts.passwords import password_parameters
from programme.core.access import Role
from programme.extensions import db
from programme.loans.models import Loan
from programme.proposals.models import Proposal
from programme.reviews import services as reviews
from programme.reviews.models import Review, ReviewStatus

APPLICANT = "applicant@bench.example"
SCORED_SHARE = 0.9  # proposals whose reviews are all submitted; the others are still to review
WORKER_GRACE = 10  # gunicorn ends a worker busy this many seconds past --page-timeout


# ---------------------------------------------------------------------------------------------
# The data


def rules_folder(folder: Path) -> Path:
    """The shipped rules and scorecard templates, with the review benchmark's eight-criterion call beside them (the
    folder's own when it has them already: a reused run's)."""
    if (folder / "rules").is_dir():
        return folder / "rules"
    target = rb.rules_folder(folder)
    shutil.copytree(bd.ROOT / "rules", target, dirs_exist_ok=True)
    return target


def generate_review(app, scale: float, rng: random.Random) -> dict:
    """The call in review: the review benchmark's proposals and reviewers, dated so that the call closed 25 days
    ago and the review ends in 5 days; assigned automatically, nine proposals in ten scored."""
    plan = rb.Plan(scale)
    now = datetime.now(UTC).replace(microsecond=0)
    plan.closes = now - timedelta(days=25)
    plan.opens = plan.closes - timedelta(days=88)
    plan.start = plan.closes + timedelta(days=2)
    plan.deadline = now + timedelta(days=5)
    plan.assign_at = plan.start + timedelta(hours=2)
    manager = db.session.scalar(select(User).where(User.email == bd.MANAGER))
    progress("the call in review:")
    call, _ = rb.generate_call_in_review(app, plan, rng, manager)
    progress("  automatic assignment")
    reviews.auto_assign(call, actor=manager, now=plan.assign_at, seed=1)
    db.session.commit()
    bd.analyze()
    ids = list(db.session.scalars(select(Proposal.id).where(Proposal.call_id == call.id).order_by(Proposal.id)))
    scored = ids[: round(len(ids) * SCORED_SHARE)]
    progress(f"  scores of {len(scored)} proposals")
    state: dict = {}
    submitted = rb.generate_scores(call, plan, rng, scored, state)
    flagged, consensus = rb.generate_consensus(call, rng, manager)
    assigned = db.session.scalar(select(func.count()).select_from(Review).where(Review.call_id == call.id))
    return {"call_id": call.id, "proposals": len(ids), "reviewers": plan.reviewers, "reviews": assigned,
            "submitted": submitted, "consensus": consensus, "flagged": flagged, "first_proposal": ids[0]}


def add_applicant(proposal_id: int) -> None:
    """An applicant, lead of the group of this proposal."""
    user = bd.add_user(APPLICANT, "Bench Applicant", Role.APPLICANT)
    db.session.flush()
    group_id = db.session.scalar(select(Proposal.group_id).where(Proposal.id == proposal_id))
    db.session.add(GroupUser(group_id=group_id, user_id=user.id, role="lead", joined_at=datetime.now(UTC)))
    db.session.commit()


def prove_addresses() -> None:
    """The generators write accounts in bulk without a proven address (a newer column): prove them all, as if each
    person had followed the link, so that they can open the pages."""
    if "email_verified_at" in User.__table__.c:
        db.session.execute(update(User.__table__).where(User.__table__.c.email_verified_at.is_(None))
                           .values(email_verified_at=datetime.now(UTC)))
        db.session.commit()


def targets(generated: dict, review: dict) -> dict:
    """The ids the pages are opened with: an initiative in implementation, its fund and a loan of it; the call in
    review; a reviewer with a review still to do, and that review."""
    world = generated["world"]
    initiative = next((i for i in world["initiatives"] if i["status"] == "implementation"), world["initiatives"][0])
    loan_ids = list(db.session.scalars(select(Loan.id).where(Loan.fund_id == initiative["fund_id"])
                                       .order_by(Loan.id)))
    pending = db.session.execute(
        select(Review.id, Review.reviewer_id).where(Review.call_id == review["call_id"],
                                                    Review.status != ReviewStatus.SUBMITTED.value)
        .order_by(Review.id).limit(1)).first()
    if pending is None:  # every review submitted: any review
        pending = db.session.execute(select(Review.id, Review.reviewer_id).where(
            Review.call_id == review["call_id"]).order_by(Review.id).limit(1)).first()
    reviewer = db.session.scalar(select(User.email).where(User.id == pending.reviewer_id))
    return {"initiative": initiative["id"], "fund": initiative["fund_id"],
            "loan": loan_ids[len(loan_ids) // 2] if loan_ids else None, "call": review["call_id"],
            "review": pending.id, "reviewer": reviewer, "proposal": review["first_proposal"],
            "kpi": generated["monitoring"]["shared_key"]}


def pages(t: dict) -> list[tuple[str, str, str]]:
    """(label, role, path) of every page measured, in order."""
    call = t["call"]
    return [
        ("home, anonymous", "anonymous", "/"),
        ("home, programme manager", "manager", "/"),
        ("home, fund administrator", "admin", "/"),
        ("home, reviewer", "reviewer", "/"),
        ("home, applicant", "applicant", "/"),
        ("calls", "anonymous", "/calls"),
        ("a call", "anonymous", f"/calls/{call}"),
        ("programme figures (public)", "anonymous", "/programme-figures"),
        ("dashboard", "manager", "/dashboard"),
        ("initiatives", "manager", "/initiatives"),
        ("an initiative", "manager", f"/initiatives/{t['initiative']}"),
        ("funds", "admin", "/funds"),
        ("a fund", "admin", f"/funds/{t['fund']}"),
        ("loans", "admin", "/loans"),
        ("a loan", "admin", f"/loans/{t['loan']}"),
        ("ledger", "admin", "/ledger"),
        ("benchmarking", "manager", "/benchmarking"),
        ("a KPI's benchmarking", "manager", f"/benchmarking/{t['kpi']}"),
        ("overdue reports", "manager", "/reports?state=overdue"),
        ("submissions", "manager", f"/manage/calls/{call}/submissions"),
        ("review scores", "manager", f"/calls/{call}/review/scores"),
        ("review ranking", "manager", f"/calls/{call}/review/ranking"),
        ("reviewing", "reviewer", "/reviewing"),
        ("reviewer's call", "reviewer", f"/reviewing/calls/{call}"),
        ("a review", "reviewer", f"/reviews/{t['review']}"),
        ("applicant's proposal", "applicant", f"/proposals/{t['proposal']}"),
    ]


# ---------------------------------------------------------------------------------------------
# The servers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A gunicorn serving ``target`` on a free loopback port, in its own process group (stopped at the end)."""

    def __init__(self, name: str, target: str, env: dict, args: argparse.Namespace, log: Path,
                 pythonpath: Path | None = None) -> None:
        self.name, self.port, self.log = name, free_port(), log
        # The README's production settings (programme/gunicorn_conf.py); the command line's win over them.
        command = [sys.executable, "-m", "gunicorn", "--config", "python:programme.gunicorn_conf",
                   "--workers", str(args.workers),
                   "--worker-class", args.worker_class, "--bind", f"127.0.0.1:{self.port}",
                   "--timeout", str(args.page_timeout + WORKER_GRACE), "--chdir", str(bd.ROOT),
                   "--error-logfile", str(log)]
        if args.worker_class == "gthread":
            command += ["--threads", str(args.threads)]
        if pythonpath:
            command += ["--pythonpath", str(pythonpath)]
        command.append(target)
        self.command = command
        with open(log, "ab") as out:
            self.process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)

    def wait_ready(self, path: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if get(self.port, path)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.3)
        self.stop()
        tail = self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""
        raise SystemExit(f"{self.name} did not start on port {self.port}: {' '.join(self.command)}\n{tail}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


# ---------------------------------------------------------------------------------------------
# HTTP: one request, the login, the session cookie


def request(port: int, method: str, path: str, cookies: dict | None = None, form: dict | None = None,
            timeout: float = 120):
    """(status, headers, body text); the cookies the answer sets are merged into ``cookies``."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {}
    if cookies:
        headers["Cookie"] = cookie_header(cookies)
    body = None
    if form is not None:
        body = urllib.parse.urlencode(form)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text_ = response.read().decode("utf-8", errors="replace")
        if cookies is not None:
            for header in response.headers.get_all("Set-Cookie") or []:
                name, _, value = header.split(";", 1)[0].partition("=")
                if value:
                    cookies[name.strip()] = value.strip()
                else:
                    cookies.pop(name.strip(), None)
        return response.status, response.headers, text_
    finally:
        connection.close()


def get(port: int, path: str, cookies: dict | None = None, timeout: float = 120):
    return request(port, "GET", path, cookies, timeout=timeout)


def cookie_header(cookies: dict) -> str:
    return "; ".join(f"{name}={value}" for name, value in cookies.items())


def login(port: int, email: str, timed: list[float] | None = None) -> dict:
    """The session cookies of ``email``, logged in through the real login form (its CSRF token from the page);
    the seconds the POST took are added to ``timed``."""
    cookies: dict = {}
    status, _, page = get(port, "/login", cookies)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or re.search(
        r'name="csrf-token" content="([^"]+)"', page)
    if status != 200 or not match:
        raise SystemExit(f"the login page answered {status} without a CSRF token")
    started = time.perf_counter()
    status, headers, _ = request(port, "POST", "/login", cookies,
                                 {"email": email, "password": bd.PASSWORD, "csrf_token": match.group(1), "next": ""})
    if timed is not None:
        timed.append(time.perf_counter() - started)
    if status != 302 or "/login" in (headers.get("Location") or ""):
        raise SystemExit(f"{email} could not log in: {status} {headers.get('Location')}")
    return cookies


# ---------------------------------------------------------------------------------------------
# Load: wrk


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _ms(value: str, unit: str) -> float:
    return float(value) * UNITS[unit]


def wrk(port: int, path: str, cookies: dict | None, seconds: int, args: argparse.Namespace) -> dict:
    command = ["wrk", "-t", str(args.threads_wrk), "-c", str(args.connections), "-d", f"{seconds}s",
               "--latency", "--timeout", f"{args.page_timeout}s"]
    if cookies:
        command += ["-H", f"Cookie: {cookie_header(cookies)}"]
    command.append(f"http://127.0.0.1:{port}{path}")
    done = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    out = done.stdout
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip() or out}")
    figures = {"rps": 0.0, "requests": 0, "non2xx": 0, "timeouts": 0, "socket_errors": 0, "p50": None, "p99": None,
               "raw": out}
    if m := re.search(r"Requests/sec:\s+([\d.]+)", out):
        figures["rps"] = float(m.group(1))
    if m := re.search(r"(\d+) requests in", out):
        figures["requests"] = int(m.group(1))
    if m := re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out):
        figures["non2xx"] = int(m.group(1))
    if m := re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out):
        connect, read, write, timeout = (int(g) for g in m.groups())
        figures["socket_errors"], figures["timeouts"] = connect + read + write, timeout
    for name, percent in (("p50", "50"), ("p99", "99")):
        if m := re.search(rf"^\s+{percent}%\s+([\d.]+)(us|ms|s|m|h)\s*$", out, re.MULTILINE):
            figures[name] = _ms(*m.groups())
    if not figures["requests"]:
        figures["p50"] = figures["p99"] = None
    return figures


def settle(port: int, single_ms: float, args: argparse.Namespace) -> None:
    """When wrk stops, the requests it had in flight are still queued at the server and are served all the same:
    wait until they are, so that they do not eat into the next measurement. The server takes its connections in
    order, so once a request sent now is answered, the queue is empty but for the requests the other workers are
    still on: one request's time more."""
    with contextlib.suppress(OSError):
        get(port, "/healthz", timeout=args.connections * args.page_timeout + 30)
    time.sleep(single_ms / 1000 * 1.2 + 0.1)


# ---------------------------------------------------------------------------------------------
# Measuring


def check(port: int, path: str, cookies: dict | None, logged_in: bool, timeout: float) -> tuple[str | None, float]:
    """(None if the page answers 200 to the logged-in person when one is, otherwise what went wrong; the request's
    milliseconds). Takes the session cookie the answer sets (its activity clock moved on, as a browser would)."""
    started = time.perf_counter()
    try:
        status, headers, body = get(port, path, cookies, timeout=timeout)
    except OSError as error:  # a timeout, or the worker killed by gunicorn's own timeout
        return f"no answer within {timeout:g} s ({type(error).__name__})", (time.perf_counter() - started) * 1000
    ms = (time.perf_counter() - started) * 1000
    if status != 200:
        where = f" to {headers.get('Location')}" if headers.get("Location") else ""
        first = re.search(r"<h1[^>]*>(.*?)</h1>", body, re.DOTALL)
        return f"status {status}{where}" + (f" ({' '.join(first.group(1).split())[:120]})" if first else ""), ms
    if logged_in and 'action="/logout"' not in body:
        return "status 200 but not logged in any more", ms
    return None, ms


def measure(app_port: int, ceiling_port: int, listed: list[tuple[str, str, str]], sessions: dict,
            args: argparse.Namespace) -> list[dict]:
    results = []
    for label, role, path in listed:
        cookies = sessions[role]
        row = {"label": label, "role": role, "path": path}
        results.append(row)
        problem, row["single_ms"] = check(app_port, path, cookies, role != "anonymous", args.page_timeout)
        if problem:
            row["failed"] = problem
            progress(f"  {label} ({path}) as {role}: FAILS, {problem}; skipped")
            if problem.startswith("no answer"):  # gunicorn ends the worker still on it: wait for its successor
                time.sleep(WORKER_GRACE + 5)
            continue
        ceiling = wrk(ceiling_port, "/", None, args.duration, args)
        if args.warmup > 0:
            wrk(app_port, path, cookies, args.warmup, args)
            settle(app_port, row["single_ms"], args)
        page = wrk(app_port, path, cookies, args.duration, args)
        settle(app_port, row["single_ms"], args)
        row.update(ceiling=ceiling, page=page)
        errors = []
        if page["non2xx"]:
            errors.append(f"{page['non2xx']} of {page['requests']} answers not 2xx/3xx")
        if page["timeouts"]:
            errors.append(f"{page['timeouts']} timeouts")
        if page["requests"] == 0:
            row["slow"] = f"not one request completed in {args.duration} s"
        if page["socket_errors"]:
            row["note"] = f"{page['socket_errors']} socket errors"
        after, _ = check(app_port, path, cookies, role != "anonymous", args.page_timeout)
        if after:
            errors.append(f"after the load: {after}")
        if ceiling["non2xx"] or ceiling["timeouts"]:
            errors.append(f"the ceiling answered {ceiling['non2xx']} errors, {ceiling['timeouts']} timeouts")
        if errors:
            row["failed"] = "; ".join(errors)
        row["ratio"] = 0.0 if errors or not ceiling["rps"] else page["rps"] / ceiling["rps"]
        progress(f"  {label} ({path}): one request alone {row['single_ms']:.0f} ms; under load "
                 f"{page['rps']:.1f} req/s, ceiling {ceiling['rps']:.1f}, ratio "
                 f"{row['ratio']:.3f}" + "".join(f"; {row[k]}" for k in ("slow", "note") if k in row)
                 + (f"; FAILS: {row['failed']}" if errors else ""))
    return results


def _num(value: float | None, missing: str = "n/a") -> str:
    return missing if value is None else f"{value:.1f}"


def _ratio(value: float) -> str:
    return f"{value:.3f}" if value < 0.1 else f"{value:.2f}"


def _row_ratio(row: dict, duration: int) -> str:
    """The ratio; for a page of which not one request completed, the bound: under one request in the duration."""
    if "slow" in row and "failed" not in row and row["ceiling"]["rps"]:
        return f"< {_ratio(1 / duration / row['ceiling']['rps'])}"
    return _ratio(row.get("ratio", 0.0))


# ---------------------------------------------------------------------------------------------

KEPT = "kept.json"  # what a run with --keep-database leaves beside its data, for --reuse


def generator_config(url: str, folder: Path, rules: Path) -> dict:
    """The configuration of the application that generates the data in ``folder`` (or migrates a reused run's)."""
    return bd.bench_config(url, folder, rules, INSTANCE_PATH=str(folder / "generator"))


def generate(args: argparse.Namespace, url: str, folder: Path, rules: Path, rng: random.Random,
             as_of) -> tuple[dict, str, float]:
    """Generate the data into the fresh database at ``url``; return the pages' ids, a one-line summary of the data
    and the seconds it took."""
    begun = time.perf_counter()
    app = bd.migrated_app(generator_config(url, folder, rules))
    with app.app_context():
        plan = mb.Plan(args.scale, args.loans_per_fund)
        generated = mb.generate(app, plan, rng, as_of)
        review = generate_review(app, args.scale, rng)
        add_applicant(review["first_proposal"])
        prove_addresses()
        t = targets(generated, review)
    bd.close_app(app)
    progress(f"the ceiling's table: {ceiling_app.ROWS} rows")
    ceiling_app.create_table(url)
    with app.app_context():
        bd.analyze()
    bd.close_app(app)
    generated_s = time.perf_counter() - begun
    progress(f"data generated in {generated_s:.0f} s")
    world = generated["world"]
    summary = (f"scale {args.scale}, day {as_of}: {plan.initiatives} initiatives, {plan.loans} loans "
               f"({generated['loans']['instalments']} instalments), {generated['monitoring']['reports']} reports, "
               f"{len(world['calls'])} decided calls; a call in review with {review['proposals']} proposals, "
               f"{review['reviewers']} reviewers, {review['reviews']} reviews ({review['submitted']} submitted)")
    if args.keep_database:
        (folder / KEPT).write_text(json.dumps({"url": url, "targets": t, "summary": summary,
                                               "generated_s": generated_s}, indent=1))
    return t, summary, generated_s


def main() -> None:
    parser = bd.bench_parser(__doc__, "1 = 200 initiatives with 20,000 loans, and a call of 5,000 proposals in review",
                             notes=False)
    parser.add_argument("--duration", type=int, default=5, help="seconds of load on each page (and its ceiling)")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of load on each page before it is measured")
    parser.add_argument("--connections", type=int, default=8, help="wrk's open connections")
    parser.add_argument("--page-timeout", type=int, default=60,
                        help="seconds a request may take: a page slower than that alone is reported as failing")
    parser.add_argument("--threads-wrk", type=int, default=2, help="wrk's threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (both servers)")
    parser.add_argument("--worker-class", default="sync", choices=["sync", "gthread"], help="gunicorn worker class")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker with gthread")
    parser.add_argument("--pages", default=None,
                        help="only the pages whose label or path contains one of these comma-separated words")
    parser.add_argument("--mode", default="production", choices=["production", "demo"],
                        help="PROGRAMME_MODE of the served application (production keeps its counters in Redis)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/15",
                        help="RATELIMIT_STORAGE_URI in production mode (each run uses its own key prefix)")
    parser.add_argument("--loans-per-fund", type=int, default=100, help="loans per revolving fund (60 instalments)")
    parser.add_argument("--logins", type=int, default=12, help="logins timed, one after the other (at most 15)")
    parser.add_argument("--no-kept-pages", action="store_true",
                        help="serve with PAGE_KEEP_SECONDS=0: every request works its page out (core.pages off)")
    parser.add_argument("--keep-database", action="store_true",
                        help="keep the generated database and its folder, to measure again with --reuse")
    parser.add_argument("--reuse", default=None, metavar="FOLDER",
                        help="measure the data a run with --keep-database generated in FOLDER again, without "
                             "generating it (for measuring a change; the data is kept)")
    args = parser.parse_args()

    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: the page benchmark needs it (Debian: apt-get install wrk)")
    if importlib.util.find_spec("gunicorn") is None:
        raise SystemExit('gunicorn is not installed: pip install -e ".[production]"')
    if not 1 <= args.logins <= 15:
        raise SystemExit("--logins must be between 1 and 15 (the throttling allows 20 logins a minute per address)")
    if args.connections < args.threads_wrk:
        raise SystemExit("--connections must be at least --threads-wrk")

    as_of = datetime.now(UTC).date()
    reused = Path(args.reuse).resolve() if args.reuse else None
    if reused:
        kept = json.loads((reused / KEPT).read_text())
        folder, url = reused, kept["url"]
        args.keep_database = True
    else:
        folder = Path(tempfile.mkdtemp(prefix="pages-bench-"))
        url = bd.fresh_database(args.database_url, folder, "bench_pages")
    backend = bd.backend_of(url)
    rng = random.Random(args.seed)
    servers: list[Server] = []
    begun = time.perf_counter()
    try:
        rules = rules_folder(folder)
        if reused:
            t, summary, generated_s = kept["targets"], kept["summary"], kept["generated_s"]
            progress(f"reusing the data generated in {folder}: {summary}; migrating it to the code's head")
            app = bd.migrated_app(generator_config(url, folder, rules))
            with app.app_context():
                bd.analyze()
            bd.close_app(app)
        else:
            t, summary, generated_s = generate(args, url, folder, rules, rng, as_of)

        instance = folder / "instance"
        shutil.rmtree(instance, ignore_errors=True)
        instance.mkdir(mode=0o700)

        # Each run counts its logins apart from any other run's (the counters in Redis live a day).
        (instance / "config.py").write_text(f'RATELIMIT_KEY_PREFIX = "pages-bench-{secrets.token_hex(4)}"\n')
        env = {**os.environ, "DATABASE_URL": url, "PROGRAMME_MODE": args.mode, "PROGRAMME_INSTANCE_PATH": str(instance),
               "PROGRAMME_RULES_FOLDER": str(rules), "SECRET_KEY": secrets.token_hex(32),
               "CEILING_DATABASE_URL": url}
        if args.mode == "production":
            env["RATELIMIT_STORAGE_URI"] = args.redis_url
        if args.no_kept_pages:
            env["PROGRAMME_PAGE_KEEP_SECONDS"] = "0"
        progress(f"serving with gunicorn: {args.workers} {args.worker_class} workers"
                 + (f" of {args.threads} threads" if args.worker_class == "gthread" else ""))
        application = Server("the application", "programme.wsgi:app", env, args, folder / "app.log")
        servers.append(application)
        ceiling = Server("the ceiling", "ceiling_app:create_ceiling_app()", env, args, folder / "ceiling.log",
                         pythonpath=bd.ROOT / "bench")
        servers.append(ceiling)
        application.wait_ready("/login")  # not /healthz: it asks for a scheduler's heartbeat, and none runs here
        ceiling.wait_ready("/")
        wrk(ceiling.port, "/", None, 1, args)  # its workers warm

        sessions: dict[str, dict] = {"anonymous": {}}
        for role, email in (("manager", bd.MANAGER), ("admin", bd.ADMIN), ("reviewer", t["reviewer"]),
                            ("applicant", APPLICANT)):
            sessions[role] = login(application.port, email)
        progress("logged in: " + ", ".join(f"{role} {email}" for role, email in (
            ("manager", bd.MANAGER), ("fund administrator", bd.ADMIN), ("reviewer", t["reviewer"]),
            ("applicant", APPLICANT))))
        # Logins, one after the other, each of another reviewer (one account may log in 5 times a minute, one
        # address 20 times: the roles above and these stay within both, as the throttling is on).
        login_s: list[float] = []
        for number in range(1, args.logins + 1):
            login(application.port, f"reviewer{number:04d}@bench.example", login_s)
        login_s.sort()
        listed = pages(t)
        if args.pages:
            words = [w.strip().lower() for w in args.pages.split(",") if w.strip()]
            listed = [p for p in listed if any(w in p[0].lower() or w in p[2].lower() for w in words)]
        progress(f"measuring {len(listed)} pages: {args.duration} s each after {args.warmup} s of warm-up, the "
                 f"ceiling {args.duration} s right before each; wrk -t{args.threads_wrk} -c{args.connections}")
        results = measure(application.port, ceiling.port, listed, sessions, args)
        load = os.getloadavg()
    finally:
        for server in servers:
            server.stop()
        if args.keep_database:
            progress(f"the database is kept: {url}; measure it again with --reuse {folder}")
        else:
            bd.drop_database(url)
            shutil.rmtree(folder, ignore_errors=True)

    total_s = time.perf_counter() - begun
    print(f"\npage benchmark on {backend}, {summary}; data generated in {generated_s:.0f} s"
          + (" (an earlier run's, reused)" if reused else "") + f", whole run {total_s:.0f} s")
    print(f"gunicorn {args.workers} {args.worker_class} workers"
          + (f" x {args.threads} threads" if args.worker_class == "gthread" else "")
          + f", PROGRAMME_MODE={args.mode}" + (", pages not kept (PAGE_KEEP_SECONDS=0)" if args.no_kept_pages else "")
          + f"; wrk -t{args.threads_wrk} -c{args.connections} -d{args.duration}s "
          f"(after {args.warmup} s of warm-up) on loopback; load average at the end {load[0]:.1f} {load[1]:.1f} "
          f"{load[2]:.1f} on {os.cpu_count()} CPUs\n")
    print("| page | role | URL | req/s | ceiling req/s | ratio | median ms | p99 ms |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for row in results:
        if "page" not in row:
            print(f"| {row['label']} | {row['role']} | `{row['path']}` | FAILS: {row['failed']} | | 0 | | |")
            continue
        page, ceil = row["page"], row["ceiling"]
        notes = [row[k] for k in ("slow", "note") if k in row]
        if "failed" in row:
            notes.append(f"FAILS: {row['failed']}")
        rps = f"{page['rps']:.1f}" + (f" ({'; '.join(notes)})" if notes else "")
        slower = f"> {args.duration * 1000}" if "slow" in row else "n/a"
        print(f"| {row['label']} | {row['role']} | `{row['path']}` | {rps} | {ceil['rps']:.1f} | "
              f"{_row_ratio(row, args.duration)} | {_num(page['p50'], slower)} | {_num(page['p99'], slower)} |")
    print(f"\nlogin (POST /login, Argon2id {password_parameters()}), {len(login_s)} one after the other: median "
          f"{login_s[len(login_s) // 2] * 1000:.0f} ms, slowest {login_s[-1] * 1000:.0f} ms")
    failed = [r for r in results if "failed" in r]
    worst = min(results, key=lambda r: r.get("ratio", 0.0)) if results else None
    print()
    if worst:
        print(f"worst page: {worst['label']} ({worst['path']}) at {_row_ratio(worst, args.duration)} of the ceiling"
              + (f" (FAILS: {worst['failed']})" if "failed" in worst else ""))
    ceilings = sorted(r["ceiling"]["rps"] for r in results if "ceiling" in r)
    figures = {
        "pages": len(results),
        "failed_pages": len(failed),
        "ceiling_median_rps": f"{ceilings[len(ceilings) // 2]:.1f}" if ceilings else "n/a",
        "ceiling_min_rps": f"{ceilings[0]:.1f}" if ceilings else "n/a",
        "ceiling_max_rps": f"{ceilings[-1]:.1f}" if ceilings else "n/a",
        "generated_s": f"{generated_s:.0f}",
        "login_median_ms": f"{login_s[len(login_s) // 2] * 1000:.0f}",
        "load_average": f"{load[0]:.1f}",
        "worst_page": worst["path"] if worst else "n/a",
        "worst_ratio": _ratio(worst.get("ratio", 0.0)) if worst else "n/a",  # 0 when it failed or was too slow
    }
    for name, value in figures.items():
        print(f"{name}={value}")


if __name__ == "__main__":
    main()
