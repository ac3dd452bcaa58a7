"""Benchmark of the loans (issue 5): the daily arrears job, the loan book page, the loan-book export.

Scale 1 = 200 initiatives, each with its revolving fund, and 20,000 loans of 60 monthly instalments
(1.2 million instalments) disbursed over the five years before the benchmark's day, with their repayments:
most borrowers pay every instalment on its due date, about 5 % are a month or two behind (some with a part
paid), about 3.5 % stopped paying 2 to 12 months ago, and 1.5 % repaid early (closed, future interest
cancelled). Loan terms: 5,000 to 50,000, 0 to 4 %, annuity or equal principal, schedules from
``loans.schedule.build_schedule`` (cached per principal, rate and method; due dates per first due date).

Everything is inserted in bulk (COPY on PostgreSQL, executemany on SQLite), not through the services, with
a balanced ledger: the call's budget, one capitalisation entry per fund (with its Capitalisation row), one
disbursement entry per loan and ONE aggregated repayment entry per loan (Dr fund cash, Cr loans receivable
and interest income). Repayment rows are not generated (the instalments' paid columns are). The reminders of
the days before are marked (``reminded_on``) as the job would have left them, so the first run queues one
day's reminders, not five years'. The loans are written in two halves: the export is traced after the
first half and again after the second (their peak memories should be about equal: flat memory).

Then it measures:

  a. the daily job (``loans.services.arrears.run_daily``) on the day: first run (everything aged from scratch), second
     run the same day (must change nothing), and the next day's run (a typical day); each with its commit;
  b. the loan book page ``/loans`` through the test client as a fund administrator: first request, then the
     median of ``--repeat`` requests;
  c. the loan-book export (``loans.export.write_loan_book``): time, and peak traced memory at half and full size.

    python bench/loans_bench.py --scale 0.05
    python bench/loans_bench.py --scale 1 --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    python bench/loans_bench.py --scale 1          # SQLite in a temporary folder

With a PostgreSQL URL a fresh database is created beside the one named, and dropped at the end.
Progress goes to stderr; the last lines printed are the figures, one per line.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from dateutil.relativedelta import relativedelta
from sqlalchemy import func, insert, make_url, select, text, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchdb import drop_database, fresh_database, progress  # noqa: E402

from programme import create_app  # noqa: E402
from programme.accounts.models import (  # noqa: E402
    ApplicantGroup,
    GroupOrganisation,
    GroupUser,
    Organisation,
    User,
    UserRole,
)
from programme.accounts.passwords import hash_password  # noqa: E402
from programme.calls import services as calls  # noqa: E402
from programme.calls.models import Call  # noqa: E402
from programme.core.access import Role, SystemActor  # noqa: E402
from programme.extensions import db  # noqa: E402
from programme.funding.models import Initiative  # noqa: E402
from programme.ledger.models import NORMAL_SIDE, Account, AccountKind, JournalEntry, JournalLine  # noqa: E402
from programme.loans.models import Capitalisation, Loan, LoanInstalment, RevolvingFund  # noqa: E402
from programme.loans.schedule import LoanTerms, build_schedule  # noqa: E402
from programme.proposals.models import Proposal  # noqa: E402

ACTOR = SystemActor("benchmark")
PASSWORD = "benchmark-password-1"
ADMIN = "admin@bench.example"
ZERO = Decimal("0.00")
#: The benchmark's day: loans were disbursed over the five years before it.
AS_OF = date(2032, 6, 30)
NOW = datetime(2032, 6, 30, 0, 5, tzinfo=UTC)
STARTED = datetime(2027, 1, 1, 8, 0, tzinfo=UTC)
TERM = 60
CHUNK = 1000  # loans per insert batch

SECTORS = ["furniture", "food processing", "dairy", "textiles", "tourism", "wine", "metal working", "ceramics"]
LOCALITIES = ["Knysna", "George", "Oudtshoorn", "Mossel Bay", "Plettenberg Bay", "Riversdale", "Swellendam"]
PURPOSES = ["A shared kiln", "Cold storage for the members' produce", "A delivery van", "Drying racks",
            "A joint showroom", "Packaging machinery", "Solar panels for the workshop", "Export certification"]


def bench_config(url: str, folder: Path) -> dict:
    return {
        "SQLALCHEMY_DATABASE_URI": url,
        "INSTANCE_PATH": str(folder / "instance"),
        "SECRET_KEY": "bench",
        "RATELIMIT_ENABLED": False,
        "RULES_FOLDER": str(ROOT / "rules"),
    }


class Plan:
    def __init__(self, scale: float) -> None:
        self.funds = max(4, round(200 * scale))
        self.loans = max(20, round(20_000 * scale))
        self.borrowers_per_fund = 8


# ---------------------------------------------------------------------------------------------
# Bulk writing


def _columns(table) -> list[str]:
    return [c.key for c in table.columns]


def bulk(table, rows: list[dict]) -> None:
    """Insert plain rows: COPY on PostgreSQL (in the session's transaction), executemany on SQLite."""
    if not rows:
        return
    if db.engine.dialect.name != "postgresql":
        db.session.execute(insert(table), rows)
        return
    names = list(rows[0])
    raw = db.session.connection().connection.driver_connection
    with raw.cursor() as cursor, cursor.copy(
        f"COPY {table.name} ({', '.join(names)}) FROM STDIN"
    ) as copy:
        for row in rows:
            copy.write_row([row[name] for name in names])


class Ids:
    """Explicit ids for the bulk rows (sequences are set after)."""

    def __init__(self) -> None:
        self.next: dict[str, int] = {}

    def take(self, table: str, count: int = 1) -> int:
        if table not in self.next:
            self.next[table] = (db.session.scalar(text(f"SELECT COALESCE(MAX(id), 0) FROM {table}")) or 0) + 1
        first = self.next[table]
        self.next[table] += count
        return first


def _fix_sequences(tables: list[str]) -> None:
    if db.engine.dialect.name != "postgresql":
        return
    for table in tables:
        db.session.execute(text(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), COALESCE((SELECT MAX(id) FROM {table}), 1))"))
    db.session.commit()


def _analyze() -> None:
    db.session.execute(text("ANALYZE"))
    db.session.commit()


# ---------------------------------------------------------------------------------------------
# Generation


class Ledger:
    """Accounts and balanced entries written in bulk."""

    def __init__(self, ids: Ids, currency: str) -> None:
        self.ids, self.currency = ids, currency
        self.accounts: dict[str, int] = {}
        self.new_accounts: list[dict] = []
        self.entries: list[dict] = []
        self.lines: list[dict] = []

    def account(self, kind: AccountKind, owner_type: str, owner_id: int | None) -> int:
        code = f"{kind.value}:{owner_type}" if owner_id is None else f"{kind.value}:{owner_type}:{owner_id}"
        if code not in self.accounts:
            account_id = self.ids.take("ledger_accounts")
            self.accounts[code] = account_id
            self.new_accounts.append({"id": account_id, "code": code, "kind": kind.value,
                                      "normal_side": NORMAL_SIDE[kind].value, "owner_type": owner_type,
                                      "owner_id": owner_id, "currency": self.currency, "created_at": STARTED})
        return self.accounts[code]

    def entry(self, key: str, value_date: date, description: str, lines: list[tuple[int, Decimal, Decimal]],
              source: tuple[str, int] | None = None) -> int:
        assert sum(d for _, d, _ in lines) == sum(c for _, _, c in lines), key
        entry_id = self.ids.take("journal_entries")
        self.entries.append({"id": entry_id, "posted_at": datetime.combine(value_date, datetime.min.time(), UTC),
                             "value_date": value_date, "description": description, "idempotency_key": key,
                             "reverses_id": None, "actor_id": None, "actor_label": ACTOR.actor_label,
                             "source_type": source[0] if source else None, "source_id": source[1] if source else None})
        for account_id, debit, credit in lines:
            if debit or credit:
                self.lines.append({"id": self.ids.take("journal_lines"), "entry_id": entry_id,
                                   "account_id": account_id, "debit": debit, "credit": credit})
        return entry_id

    def flush(self) -> None:
        bulk(Account.__table__, self.new_accounts)
        bulk(JournalEntry.__table__, self.entries)
        bulk(JournalLine.__table__, self.lines)
        self.new_accounts, self.entries, self.lines = [], [], []


def make_world(plan: Plan, rng: random.Random, app) -> dict:
    """The call, 200 groups with their organisations and a lead user each, their initiatives and funds."""
    from programme.accounts import services as accounts

    admin = accounts.create_user(email=ADMIN, name="Bench Administrator", roles=[Role.FUND_ADMINISTRATOR],
                                 password=PASSWORD, actor=ACTOR)
    manager = accounts.create_user(email="manager@bench.example", name="Bench Manager",
                                   roles=[Role.PROGRAMME_MANAGER], password=PASSWORD, actor=ACTOR)
    call = calls.create_call("cluster-contest.toml", rules_folder=app.config["RULES_FOLDER"],
                             timezone=app.config["PROGRAMME_TIMEZONE"], actor=manager, now=STARTED)
    db.session.commit()
    ids = Ids()
    password_hash = hash_password(PASSWORD)
    groups, orgs, links, users, roles, members, proposals, initiatives, funds = [], [], [], [], [], [], [], [], []
    borrowers: dict[int, list[int]] = {}
    first_group, first_org = ids.take("applicant_groups", plan.funds), ids.take("organisations",
                                                                               plan.funds * plan.borrowers_per_fund)
    first_user, first_proposal = ids.take("users", plan.funds), ids.take("proposals", plan.funds)
    first_initiative, first_fund = ids.take("initiatives", plan.funds), ids.take("revolving_funds", plan.funds)
    for i in range(plan.funds):
        group_id, user_id = first_group + i, first_user + i
        sector = SECTORS[i % len(SECTORS)]
        groups.append({"id": group_id, "name": f"{sector.title()} cluster {i + 1:03d}", "description": "",
                       "created_at": STARTED})
        org_ids = []
        for n in range(plan.borrowers_per_fund):
            org_id = first_org + i * plan.borrowers_per_fund + n
            org_ids.append(org_id)
            orgs.append({"id": org_id, "name": f"{sector.title()} firm {org_id}", "kind": "firm",
                         "size_class": rng.choice(["micro", "small", "medium"]), "sector": sector,
                         "locality": rng.choice(LOCALITIES), "created_at": STARTED})
            links.append({"group_id": group_id, "organisation_id": org_id, "added_at": STARTED})
        borrowers[first_fund + i] = org_ids
        users.append({"id": user_id, "email": f"lead{i + 1:03d}@bench.example", "name": f"Lead {i + 1}",
                      "password_hash": password_hash, "active": True, "created_at": STARTED, "session_version": 1,
                      "organisation_id": org_ids[0]})
        roles.append({"user_id": user_id, "role": Role.APPLICANT.value, "granted_at": STARTED})
        members.append({"group_id": group_id, "user_id": user_id, "role": "lead", "joined_at": STARTED})
        proposals.append({"id": first_proposal + i, "call_id": call.id, "group_id": group_id,
                          "reference": f"{call.reference}-{i + 1:04d}", "title": f"The {sector} cluster {i + 1}",
                          "status": "funded", "created_at": STARTED, "updated_at": STARTED, "sector": sector,
                          "territory": rng.choice(LOCALITIES), "stage": "potential", "main_problem": "",
                          "market_failure": "", "objectives": "", "sustainability_plan": "",
                          "requested_amount": Decimal("30000.00"), "latest_version": 1, "submitted_at": STARTED})
        initiatives.append({"id": first_initiative + i, "reference": f"INI-{i + 1:04d}",
                            "name": f"The {sector} cluster {i + 1}", "call_id": call.id,
                            "proposal_id": first_proposal + i, "group_id": group_id, "status": "implementation",
                            "currency": call.currency, "started_at": STARTED})
        funds.append({"id": first_fund + i, "initiative_id": first_initiative + i, "currency": call.currency,
                      "created_at": STARTED})
    bulk(ApplicantGroup.__table__, groups)
    bulk(Organisation.__table__, orgs)
    bulk(GroupOrganisation.__table__, links)
    bulk(User.__table__, users)
    bulk(UserRole.__table__, roles)
    bulk(GroupUser.__table__, members)
    bulk(Proposal.__table__, proposals)
    bulk(Initiative.__table__, initiatives)
    bulk(RevolvingFund.__table__, funds)
    db.session.commit()
    return {"ids": ids, "call": call, "admin_id": admin.id, "currency": call.currency, "borrowers": borrowers,
            "fund_ids": [f["id"] for f in funds]}


def plan_loans(plan: Plan, rng: random.Random, world: dict) -> list[dict]:
    """Each loan's terms and its borrower's behaviour (no instalments yet)."""
    fund_ids = world["fund_ids"]
    weights = [rng.uniform(0.3, 1.7) for _ in fund_ids]
    specs = []
    span = (AS_OF - (AS_OF - relativedelta(years=5))).days
    for n in range(plan.loans):
        fund_id = rng.choices(fund_ids, weights=weights)[0]
        disbursed = AS_OF - timedelta(days=rng.randint(1, span))
        behaviour = rng.random()
        specs.append({
            "n": n + 1, "fund_id": fund_id, "borrower_id": rng.choice(world["borrowers"][fund_id]),
            "principal": Decimal(rng.randrange(5_000, 50_001, 1_000)),
            "rate": rng.choice([Decimal("0"), Decimal("0.01"), Decimal("0.02"), Decimal("0.03"), Decimal("0.04")]),
            "method": "annuity" if rng.random() < 0.8 else "equal_principal",
            "disbursed_on": disbursed, "first_due": disbursed + relativedelta(months=1),
            # 90 % pay on time, 5 % a month or two behind, 3.5 % stopped paying, 1.5 % repaid early.
            "kind": ("on_time" if behaviour < 0.90 else "behind" if behaviour < 0.95 else
                     "stopped" if behaviour < 0.985 else "early"),
            "behind": rng.randint(1, 2), "stopped": rng.randint(2, 12), "partial": rng.random() < 0.5,
        })
    return specs


_AMOUNTS: dict[tuple, list[tuple[Decimal, Decimal]]] = {}
_DUES: dict[date, list[date]] = {}


def schedule_of(spec: dict, currency: str) -> list[tuple[date, Decimal, Decimal]]:
    key = (spec["principal"], spec["rate"], spec["method"])
    if key not in _AMOUNTS:
        lines = build_schedule(LoanTerms(principal=spec["principal"], annual_rate=spec["rate"], term_periods=TERM,
                                         first_due=date(2030, 1, 15), currency=currency, method=spec["method"]))
        _AMOUNTS[key] = [(line.principal, line.interest) for line in lines]
    first = spec["first_due"]
    if first not in _DUES:
        _DUES[first] = [first + relativedelta(months=k) for k in range(TERM)]
    return [(due, p, i) for due, (p, i) in zip(_DUES[first], _AMOUNTS[key], strict=True)]


def write_loans(specs: list[dict], world: dict, ledger: Ledger, rng: random.Random) -> dict:
    """The loans, their instalments with what was paid, and their ledger entries, in batches."""
    ids, currency = world["ids"], world["currency"]
    stats = {"instalments": 0, "closed": 0}
    for start in range(0, len(specs), CHUNK):
        loans, instalments = [], []
        for spec in specs[start:start + CHUNK]:
            loan_id = ids.take("loans")
            schedule = schedule_of(spec, currency)
            due = [k for k, (day, _, _) in enumerate(schedule) if day <= AS_OF]  # paid on the day when on time
            paid_count = len(due)
            if spec["kind"] == "behind":
                paid_count = max(0, len(due) - spec["behind"])
            elif spec["kind"] == "stopped":
                paid_count = max(0, len(due) - spec["stopped"])
            early = spec["kind"] == "early" and len(due) >= 2
            closed_on = None
            if early:  # repaid in full the day after its last instalment paid on time
                closed_on = schedule[rng.randint(0, len(due) - 1)][0] + timedelta(days=1)
            principal_paid_total = interest_paid_total = ZERO
            last_paid = None
            for k, (day, p, i) in enumerate(schedule):
                row = {"id": ids.take("loan_instalments"), "loan_id": loan_id, "number": k + 1, "due_date": day,
                       "principal": p, "interest": i, "principal_paid": ZERO, "interest_paid": ZERO,
                       "interest_cancelled": ZERO, "penalty_assessed": ZERO, "penalty_paid": ZERO,
                       "superseded": False, "overdue": False, "days_late": 0, "arrears_bucket": None,
                       "reminded_on": None}
                if early:
                    row["principal_paid"] = p
                    if day < closed_on:
                        row["interest_paid"] = i
                    else:
                        row["interest_cancelled"] = i
                    last_paid = closed_on
                elif k < paid_count:
                    row["principal_paid"], row["interest_paid"] = p, i
                    last_paid = day
                elif k == paid_count and day < AS_OF and spec["partial"]:
                    row["interest_paid"] = i
                    row["principal_paid"] = (p / 2).quantize(Decimal("0.01"))
                    last_paid = day + timedelta(days=10)
                # The reminders of the days before, as the daily job would have left them.
                unpaid = p + i - row["principal_paid"] - row["interest_paid"] - row["interest_cancelled"]
                if unpaid > 0 and not early:
                    if AS_OF <= day < AS_OF + timedelta(days=7):
                        row["reminded_on"] = day - timedelta(days=7)
                    elif day < AS_OF:
                        row["reminded_on"] = day + timedelta(days=1) if (AS_OF - day).days > 1 else day - timedelta(7)
                principal_paid_total += row["principal_paid"]
                interest_paid_total += row["interest_paid"]
                instalments.append(row)
            fund_id = spec["fund_id"]
            cash = ledger.account(AccountKind.REVOLVING_FUND_CASH, "fund", fund_id)
            receivable = ledger.account(AccountKind.LOANS_RECEIVABLE, "loan", loan_id)
            entry_id = ledger.entry(f"loan:{loan_id}:disbursed", spec["disbursed_on"],
                                    f"Loan L-{spec['n']:06d} paid out",
                                    [(receivable, spec["principal"], ZERO), (cash, ZERO, spec["principal"])],
                                    ("Loan", loan_id))
            if principal_paid_total + interest_paid_total > 0:
                income = ledger.account(AccountKind.INTEREST_INCOME, "fund", fund_id)
                ledger.entry(f"bench:repayments:{loan_id}", last_paid or AS_OF,
                             f"Repayments of L-{spec['n']:06d} (aggregated)",
                             [(cash, principal_paid_total + interest_paid_total, ZERO),
                              (receivable, ZERO, principal_paid_total), (income, ZERO, interest_paid_total)],
                             ("Loan", loan_id))
            outstanding = spec["principal"] - principal_paid_total
            stats["closed"] += early
            loans.append({
                "id": loan_id, "number": f"L-{spec['n']:06d}", "fund_id": fund_id, "borrower_id": spec["borrower_id"],
                "funding_request_id": None, "purpose": rng.choice(PURPOSES), "currency": currency,
                "principal": spec["principal"], "annual_rate": spec["rate"], "term_periods": TERM,
                "grace_periods": 0, "grace": "none", "frequency": "monthly", "method": spec["method"],
                "rounding": "half_up", "first_due": spec["first_due"], "disbursed_on": spec["disbursed_on"],
                "bank_reference": f"BENCH-LOAN-{spec['n']}", "status": "closed" if early else "active",
                "principal_outstanding": outstanding, "credit": ZERO, "days_late": 0, "arrears_bucket": None,
                "rescheduled": False, "written_off": ZERO, "recovered": ZERO, "closed_on": closed_on,
                "created_by_id": world["admin_id"],
                "created_at": datetime.combine(spec["disbursed_on"], datetime.min.time(), UTC),
                "journal_entry_id": entry_id,
            })
        ledger.flush()
        bulk(Loan.__table__, loans)
        bulk(LoanInstalment.__table__, instalments)
        db.session.commit()
        stats["instalments"] += len(instalments)
        progress(f"  {min(start + CHUNK, len(specs))}/{len(specs)} loans")
    return stats


def capitalise(specs: list[dict], world: dict, ledger: Ledger) -> None:
    """The call's budget and each fund's capitalisation: its loans' principals and 5 % more."""
    call = world["call"]
    lent: dict[int, Decimal] = {}
    for spec in specs:
        lent[spec["fund_id"]] = lent.get(spec["fund_id"], ZERO) + spec["principal"]
    amounts = {fund_id: (lent.get(fund_id, ZERO) * Decimal("1.05")).quantize(Decimal("1")) + Decimal("10000")
               for fund_id in world["fund_ids"]}
    total = sum(amounts.values(), ZERO)
    budget = ledger.account(AccountKind.PROGRAMME_BUDGET, "call", call.id)
    ledger.entry(f"bench:budget:{call.id}", date(2027, 1, 1), f"Budget of {call.reference}",
                 [(budget, total, ZERO), (ledger.account(AccountKind.PROGRAMME_FUNDS, "programme", None), ZERO, total)])
    rows = []
    day = AS_OF - relativedelta(years=5) - timedelta(days=10)
    for fund_id, amount in amounts.items():
        entry_id = ledger.entry(f"capitalisation:BENCH-CAP-{fund_id}", day, "Capitalisation",
                                [(ledger.account(AccountKind.REVOLVING_FUND_CASH, "fund", fund_id), amount, ZERO),
                                 (budget, ZERO, amount)])
        rows.append({"id": world["ids"].take("fund_capitalisations"), "fund_id": fund_id, "amount": amount,
                     "value_date": day, "bank_reference": f"BENCH-CAP-{fund_id}", "note": "",
                     "recorded_by_id": world["admin_id"], "recorded_at": STARTED, "journal_entry_id": entry_id})
    db.session.execute(update(Call.__table__).where(Call.__table__.c.id == call.id).values(budget=total))
    ledger.flush()
    bulk(Capitalisation.__table__, rows)
    db.session.commit()


def ledger_balanced() -> bool:
    debit, credit = db.session.execute(select(
        func.sum(func.round(JournalLine.debit * 100)), func.sum(func.round(JournalLine.credit * 100)))).one()
    return Decimal(str(debit)) == Decimal(str(credit))


# ---------------------------------------------------------------------------------------------
# Measurements


def measure_daily(as_of: date) -> dict:
    from programme.loans.services.arrears import run_daily

    started = time.perf_counter()
    result = run_daily(as_of=as_of, actor=ACTOR, now=NOW + (as_of - AS_OF))
    job = time.perf_counter() - started
    db.session.commit()
    return {"seconds": time.perf_counter() - started, "job_seconds": job, "result": result}


def _csrf(client) -> str:
    page = client.get("/login").get_data(as_text=True)
    match = re.search(r'name="csrf-token" content="([^"]+)"', page) or re.search(
        r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, "the login page carries a CSRF token"
    return match.group(1)


def measure_page(app, repeat: int) -> dict:
    if "loans.loan_book" not in app.view_functions:
        return {"missing": True, "url": "/loans"}
    client = app.test_client()
    response = client.post("/login", data={"email": ADMIN, "password": PASSWORD, "csrf_token": _csrf(client)})
    assert response.status_code == 302, f"the benchmark administrator cannot log in ({response.status_code})"
    url = "/loans"
    started = time.perf_counter()
    response = client.get(url)
    cold = (time.perf_counter() - started) * 1000
    assert response.status_code == 200, f"{url}: {response.status_code}"
    size = len(response.get_data())
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200
    return {"missing": False, "url": url, "cold_ms": cold, "median_ms": statistics.median(times),
            "max_ms": max(times), "kb": size / 1024}


def measure_export(folder: Path, label: str) -> dict | None:
    try:
        from programme.loans.export import write_loan_book
    except ImportError:
        return None
    db.session.expire_all()
    target = folder / f"loan-book-{label}.xlsx"
    tracemalloc.start()
    tracemalloc.reset_peak()
    baseline = tracemalloc.get_traced_memory()[0]
    started = time.perf_counter()
    rows = write_loan_book(str(target), as_of=AS_OF)
    traced_seconds = time.perf_counter() - started
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    started = time.perf_counter()
    write_loan_book(io.BytesIO(), as_of=AS_OF)
    seconds = time.perf_counter() - started
    figures = {"rows": rows, "seconds": seconds, "traced_seconds": traced_seconds,
               "file_mb": target.stat().st_size / 1e6, "peak_mb": (peak - baseline) / 1e6,
               "left_mb": (current - baseline) / 1e6}
    target.unlink()
    db.session.rollback()
    return figures


def explain_daily(as_of: date) -> str:
    """The plan of the job's biggest statement (PostgreSQL), to see where time goes."""
    if db.engine.dialect.name != "postgresql":
        return ""
    from programme.loans.services import arrears

    i = arrears.INSTALMENTS.c
    days = arrears.days_between(as_of, i.due_date)
    statement = (update(arrears.INSTALMENTS).where(arrears._late_condition(as_of), i.days_late != days)
                 .values(days_late=days))
    compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
    rows = db.session.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {compiled}")).scalars().all()
    db.session.rollback()
    return "\n".join(rows)


# ---------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0, help="1 = 200 funds and 20,000 loans of 60 instalments")
    parser.add_argument("--database-url", default=None, help="PostgreSQL server URL (a fresh database is made)")
    parser.add_argument("--repeat", type=int, default=20, help="requests of the loan book page after the first")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--explain", action="store_true", help="print the plan of the job's main statement")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="loans-bench-"))
    url = fresh_database(args.database_url, folder, "bench_loans")
    backend = make_url(url).get_backend_name()
    plan = Plan(args.scale)
    rng = random.Random(args.seed)
    begun = time.perf_counter()
    plan_text = ""
    try:
        app = create_app(bench_config(url, folder))
        with app.app_context():
            from flask_migrate import upgrade

            progress(f"database: {backend}; migrating")
            upgrade()
            progress(f"generating {plan.funds} initiatives with their funds, {plan.loans} loans of {TERM} instalments")
            world = make_world(plan, rng, app)
            specs = plan_loans(plan, rng, world)
            ledger = Ledger(world["ids"], world["currency"])
            capitalise(specs, world, ledger)
            half = len(specs) // 2
            stats = write_loans(specs[:half], world, ledger, rng)
            _fix_sequences(["applicant_groups", "organisations", "users", "proposals", "initiatives",
                            "revolving_funds", "ledger_accounts", "journal_entries", "journal_lines", "loans",
                            "loan_instalments", "fund_capitalisations"])
            _analyze()
            progress("c. export with half of the loans (traced)")
            export_half = measure_export(folder, "half")
            more = write_loans(specs[half:], world, ledger, rng)
            stats = {k: stats[k] + more[k] for k in stats}
            _fix_sequences(["ledger_accounts", "journal_entries", "journal_lines", "loans", "loan_instalments"])
            _analyze()
            assert ledger_balanced(), "the generated ledger does not balance"
            generated_s = time.perf_counter() - begun

            progress("a. the daily job: first run")
            first = measure_daily(AS_OF)
            progress(f"   {first['seconds']:.2f} s: {first['result'].summary()}")
            _analyze()
            progress("a. the daily job: second run, the same day")
            second = measure_daily(AS_OF)
            progress(f"   {second['seconds']:.2f} s: {second['result'].summary()}")
            assert second["result"].changed == 0, "the second run of the day changed something"
            progress("a. the daily job: the next day")
            next_day = measure_daily(AS_OF + timedelta(days=1))
            progress(f"   {next_day['seconds']:.2f} s: {next_day['result'].summary()}")
            if args.explain:
                plan_text = explain_daily(AS_OF + timedelta(days=1))
            progress("c. export with every loan (traced)")
            export_full = measure_export(folder, "full")
            late_share = first["result"].late_loans / plan.loans
            db.session.remove()
        progress("b. the loan book page")
        page = measure_page(app, args.repeat)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    finally:
        drop_database(url)
        shutil.rmtree(folder, ignore_errors=True)

    total_s = time.perf_counter() - begun
    if plan_text:
        print(plan_text)
    r1, r3 = first["result"], next_day["result"]
    print(f"\nloans benchmark on {backend}, scale {args.scale}: {plan.funds} funds, {plan.loans} loans, "
          f"{stats['instalments']} instalments ({stats['closed']} loans repaid early); {r1.late_loans} loans late "
          f"({late_share:.1%}) on {AS_OF}; generated in {generated_s:.0f} s, whole run {total_s:.0f} s; "
          f"load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"daily job, first run: {first['seconds']:.2f} s with the commit ({first['job_seconds']:.2f} s before it): "
          f"{r1.summary()}")
    print(f"daily job, second run the same day: {second['seconds']:.2f} s: {second['result'].summary()}")
    print(f"daily job, the next day: {next_day['seconds']:.2f} s: {r3.summary()}")
    if page["missing"]:
        print("loan book page: the route loans.loan_book does not exist yet")
    else:
        print(f"loan book page: first request {page['cold_ms']:.0f} ms, then median {page['median_ms']:.0f} ms "
              f"(max {page['max_ms']:.0f} ms) over {args.repeat} requests, {page['kb']:.0f} kB")
    if export_full and export_half:
        print(f"loan-book export: {export_full['rows']} rows in {export_full['seconds']:.1f} s, file "
              f"{export_full['file_mb']:.1f} MB; peak traced memory {export_full['peak_mb']:.1f} MB with "
              f"{export_full['rows']} loans, {export_half['peak_mb']:.1f} MB with {export_half['rows']} loans")
    figures = {
        "daily_first_s": f"{first['seconds']:.2f}",
        "daily_second_s": f"{second['seconds']:.2f}",
        "daily_next_day_s": f"{next_day['seconds']:.2f}",
        "late_loans": r1.late_loans,
        "late_instalments": r1.late_instalments,
        "reminders_next_day": r3.reminders,
        "loan_book_page_cold_ms": "n/a" if page["missing"] else f"{page['cold_ms']:.0f}",
        "loan_book_page_median_ms": "n/a" if page["missing"] else f"{page['median_ms']:.0f}",
        "export_s": f"{export_full['seconds']:.1f}" if export_full else "n/a",
        "export_peak_mb": f"{export_full['peak_mb']:.1f}" if export_full else "n/a",
        "export_half_peak_mb": f"{export_half['peak_mb']:.1f}" if export_half else "n/a",
        "export_memory_ratio": (f"{export_full['peak_mb'] / export_half['peak_mb']:.2f}"
                                if export_full and export_half and export_half["peak_mb"] else "n/a"),
    }
    for name, value in figures.items():
        print(f"{name}={value}")


if __name__ == "__main__":
    main()
