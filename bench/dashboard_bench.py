"""Benchmark of the programme dashboard (issue 6): ``dashboard.figures.programme_figures`` and the page /dashboard.

The data are those of bench/loans_bench.py (scale 1 = 200 initiatives with their funds and 20,000 loans of 60
monthly instalments, with their capitalisations and ledger), plus, per initiative, a start-up grant with three
paid tranches, a matching grant with four paid tranches and six verified co-financing contributions (and one
unverified), with their journal entries; the initiatives' start dates are spread over six years and a tenth of
them are terminated. The daily arrears job runs once, so PAR30 comes from its figures.

    python bench/dashboard_bench.py --scale 1 --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
    python bench/dashboard_bench.py --scale 0.05          # SQLite in a temporary folder

Progress goes to stderr; the last lines printed are the figures.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import event, make_url, update

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import loans_bench as lb  # noqa: E402
from benchdb import drop_database, fresh_database, progress  # noqa: E402

from programme import create_app  # noqa: E402
from programme.core.ledger import AccountKind  # noqa: E402
from programme.extensions import db  # noqa: E402
from programme.funding.models import CoFinancingContribution, Disbursement, Grant, Initiative  # noqa: E402

D = Decimal


def add_grants(world: dict, ledger: lb.Ledger, rng: random.Random) -> None:
    """Grants, paid tranches and co-financing for every initiative, with balanced journal entries."""
    ids, call = world["ids"], world["call"]
    budget = ledger.account(AccountKind.PROGRAMME_BUDGET, "call", call.id)
    grants, disbursements, contributions = [], [], []
    initiative_ids = [fund_id - world["fund_ids"][0] + world["first_initiative"] for fund_id in world["fund_ids"]]
    for n, initiative_id in enumerate(initiative_ids):
        paid_account = ledger.account(AccountKind.GRANTS_PAID, "initiative", initiative_id)
        for kind, committed, tranches in (("startup", D("30000.00"), 3), ("matching", D("80000.00"), 4)):
            grant_id = ids.take("grants")
            grants.append({"id": grant_id, "initiative_id": initiative_id, "kind": kind, "committed": committed,
                           "currency": world["currency"], "external_share": D(1), "basis": "",
                           "committed_at": lb.STARTED, "committed_by_id": None})
            for t in range(tranches):
                amount = D(rng.randrange(1000, 8000))
                day = date(2027, 2, 1) + timedelta(days=rng.randint(0, 1900))
                entry = ledger.entry(f"bench:disbursement:{grant_id}:{t}", day, "Tranche",
                                     [(paid_account, amount, D(0)), (budget, D(0), amount)])
                disbursements.append({
                    "id": ids.take("disbursements"), "initiative_id": initiative_id, "grant_id": grant_id,
                    "amount": amount, "currency": world["currency"], "purpose": "Activities", "status": "paid",
                    "requested_by_id": None, "requested_at": lb.STARTED, "approved_by_id": world["admin_id"],
                    "approved_at": lb.STARTED, "paid_by_id": world["admin_id"], "paid_at": lb.STARTED,
                    "value_date": day, "bank_reference": f"BENCH-D-{grant_id}-{t}", "journal_entry_id": entry})
            if kind == "matching":
                received = ledger.account(AccountKind.COFINANCING_RECEIVED, "initiative", initiative_id)
                members = ledger.account(AccountKind.MEMBER_CONTRIBUTIONS, "initiative", initiative_id)
                for c in range(7):
                    amount = D(rng.randrange(2000, 12000))
                    day = date(2027, 2, 1) + timedelta(days=rng.randint(0, 1900))
                    verified = c < 6
                    entry = ledger.entry(f"bench:contribution:{grant_id}:{c}", day, "Co-financing",
                                         [(received, amount, D(0)), (members, D(0), amount)]) if verified else None
                    contributions.append({
                        "id": ids.take("cofinancing_contributions"), "initiative_id": initiative_id,
                        "grant_id": grant_id, "kind": "cash", "amount": amount, "currency": world["currency"],
                        "description": "Members' cash", "contributor_id": None, "contributed_on": day,
                        "status": "verified" if verified else "recorded", "evidence_name": "receipt.pdf",
                        "evidence_stored_name": f"bench-{grant_id}-{c}", "evidence_content_type": "application/pdf",
                        "evidence_size_bytes": 100, "evidence_sha256": "0" * 64, "recorded_by_id": None,
                        "recorded_at": lb.STARTED, "verified_by_id": world["admin_id"] if verified else None,
                        "verified_at": lb.STARTED if verified else None, "journal_entry_id": entry})
        started = lb.STARTED - timedelta(days=365 * (n % 6))
        status = "terminated" if n % 10 == 9 else "implementation"
        db.session.execute(update(Initiative.__table__).where(Initiative.__table__.c.id == initiative_id)
                           .values(started_at=started, status=status))
    ledger.flush()
    lb.bulk(Grant.__table__, grants)
    lb.bulk(Disbursement.__table__, disbursements)
    lb.bulk(CoFinancingContribution.__table__, contributions)
    db.session.commit()


def statement_times(read) -> list[tuple[float, str]]:
    """Each statement of one call of ``read`` with its time in ms, slowest first."""
    began: list[float] = []
    timed: list[tuple[float, str]] = []

    def before(*args: object) -> None:
        began.append(time.perf_counter())

    def after(*args: object) -> None:
        timed.append(((time.perf_counter() - began.pop()) * 1000, " ".join(str(args[2]).split())[:160]))

    event.listen(db.engine, "before_cursor_execute", before)
    event.listen(db.engine, "after_cursor_execute", after)
    try:
        db.session.expire_all()
        read(today=lb.AS_OF, timezone="UTC")
    finally:
        event.remove(db.engine, "before_cursor_execute", before)
        event.remove(db.engine, "after_cursor_execute", after)
    return sorted(timed, reverse=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="dashboard-bench-"))
    url = fresh_database(args.database_url, folder, "bench_dashboard")
    backend = make_url(url).get_backend_name()
    plan = lb.Plan(args.scale)
    rng = random.Random(args.seed)
    try:
        app = create_app(lb.bench_config(url, folder))
        with app.app_context():
            from flask_migrate import upgrade

            from programme.dashboard.figures import programme_figures

            upgrade()
            progress(f"database: {backend}; generating {plan.funds} initiatives, {plan.loans} loans")
            world = lb.make_world(plan, rng, app)
            world["first_initiative"] = db.session.scalar(db.select(db.func.min(Initiative.id)))
            specs = lb.plan_loans(plan, rng, world)
            ledger = lb.Ledger(world["ids"], world["currency"])
            lb.capitalise(specs, world, ledger)
            lb.write_loans(specs, world, ledger, rng)
            add_grants(world, ledger, rng)
            lb._fix_sequences(["applicant_groups", "organisations", "users", "proposals", "initiatives",
                               "revolving_funds", "ledger_accounts", "journal_entries", "journal_lines", "loans",
                               "loan_instalments", "fund_capitalisations", "grants", "disbursements",
                               "cofinancing_contributions"])
            lb._analyze()
            progress("the daily job, once")
            lb.measure_daily(lb.AS_OF)
            lb._analyze()
            statements: list[str] = []

            def count(*args: object) -> None:
                statements.append(str(args[2]))

            event.listen(db.engine, "before_cursor_execute", count)
            db.session.expire_all()
            programme_figures(today=lb.AS_OF, timezone="UTC")
            queries = len(statements)
            event.remove(db.engine, "before_cursor_execute", count)
            slowest = statement_times(programme_figures)
            times = []
            for _ in range(args.repeat):
                db.session.expire_all()
                started = time.perf_counter()
                figures = programme_figures(today=lb.AS_OF, timezone="UTC")
                times.append((time.perf_counter() - started) * 1000)
            db.session.remove()
        # The pages' clock on the benchmark's day (the data are dated around it).
        import programme.dashboard.figures_views as views

        views.now = lambda: lb.NOW
        client = app.test_client()
        client.post("/login", data={"email": lb.ADMIN, "password": lb.PASSWORD, "csrf_token": lb._csrf(client)})
        page = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            response = client.get("/dashboard")
            page.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, response.status_code
        public = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            response = client.get("/programme-figures")
            public.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    finally:
        drop_database(url)
        shutil.rmtree(folder, ignore_errors=True)
    print(f"\ndashboard benchmark on {backend}, scale {args.scale}: {plan.funds} initiatives, {plan.loans} loans; "
          f"{figures.initiatives} initiatives, {len(figures.shares)} running, funds {figures.funds[0].funds}")
    for ms, statement in slowest[:6]:
        print(f"  {ms:7.1f} ms  {statement}")
    print(f"programme_figures_queries={queries}")
    print(f"programme_figures_median_ms={statistics.median(times):.0f}")
    print(f"programme_figures_max_ms={max(times):.0f}")
    print(f"dashboard_page_median_ms={statistics.median(page):.0f}")
    print(f"public_page_median_ms={statistics.median(public):.0f}")


if __name__ == "__main__":
    main()
