"""Benchmark of revolving-fund foresight (issue 18): the projection of every fund for the next 60 months.

Scale 1 = 200 initiatives with their revolving funds and 20,000 loans of 60 monthly instalments disbursed over the
five years before the benchmark's day, with their repayments and arrears: the loans benchmark's generator
(``bench/benchworld.py``: bulk inserts with a balanced ledger, the same borrowers' behaviour), and one approved
funding request with a loan part not yet lent in each fund (the pipeline). The daily arrears job runs once (the
funds' PAR30 comes from the loans it ages).

Then it measures, on the benchmark's day:

  a. loading: ``loans.services.foresight.load``: the funds, every active loan's unpaid instalments (one query),
     the funds' cash, pipeline and PAR30;
  b. the projection alone (pure arithmetic, ``loans.foresight``): every fund under one scenario with defaults,
     prepayments, new lending and costs (the page's scenario), and the same under the zero scenario;
  c. the programme's projections as the page computes them: load + each fund under its base, the page's and the
     stress scenario, with the risk scores and the per-currency sums;
  d. the page ``/funds/foresight?...`` through the test client as a programme manager: first request (nothing kept)
     and one fund's page ``/funds/<id>/foresight``.

    python bench/foresight_bench.py --scale 0.05
    python bench/foresight_bench.py --scale 1          # SQLite in a temporary folder
    python bench/foresight_bench.py --scale 1 --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import os
import random
import statistics
import time
from datetime import UTC, datetime
from decimal import Decimal

import benchdb as bd
import benchworld as bw
from benchdb import progress
from benchworld import AS_OF
from sqlalchemy import func, select

from programme.extensions import db
from programme.funding.models import FundingRequest, Initiative
from programme.loans.foresight import Scenario
from programme.loans.models import LoanInstalment, RevolvingFund

#: The page's scenario: defaults, losses, prepayments, new lending and costs all at work.
PAGE_SCENARIO = Scenario(annual_default_rate=Decimal("0.05"), loss_given_default=Decimal("0.6"),
                         prepayment_rate=Decimal("0.03"), new_lending_per_year=Decimal("50000.00"),
                         admin_cost_share=Decimal("0.10"))
PAGE_QUERY = "default_rate=5&loss_given_default=60&prepayment_rate=3&new_lending=50000.00&admin_share=10"


def write_pipeline(world: dict, rng: random.Random) -> int:
    """One approved funding request per fund with a loan part of 5,000 to 30,000 not yet lent."""
    ids = world["ids"]
    rows = []
    decided = datetime(2032, 6, 1, 9, 0, tzinfo=UTC)
    for fund_id, initiative_id in db.session.execute(select(RevolvingFund.id, RevolvingFund.initiative_id)):
        loan = Decimal(rng.randrange(5_000, 30_001, 1_000))
        rows.append({"id": ids.take("funding_requests"), "initiative_id": initiative_id,
                     "title": f"Equipment for the members of fund {fund_id}", "description": "Shared equipment.",
                     "cost": loan * 2, "currency": world["currency"], "instrument": "loan",
                     "grant_asked": Decimal("0.00"), "loan_asked": loan, "status": "approved",
                     "submitted_by_id": None, "submitted_at": decided, "grant_approved": Decimal("0.00"),
                     "loan_approved": loan, "decision_reason": "Sound.", "decided_by_id": None, "decided_at": decided,
                     "grant_id": None})
    bw.bulk(FundingRequest.__table__, rows)
    db.session.commit()
    return len(rows)


CPU: dict[str, float] = {}


def timed(work, repeat: int = 3, name: str = "") -> tuple[float, object]:
    """The best of ``repeat`` runs (wall seconds) and the last result; the best CPU seconds of this process are
    kept in ``CPU[name]`` (on SQLite the database works in this process: its CPU time is the machine's work
    whatever else runs on it; on PostgreSQL the server's work is not in it)."""
    times, cpu, result = [], [], None
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = work()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    CPU[name] = min(cpu)
    return min(times), result


def measure_pages(app, fund_id: int, repeat: int) -> dict:
    client = bd.logged_in(app, bd.MANAGER)
    url = f"/funds/foresight?{PAGE_QUERY}"
    cold, response = bd.timed_get(client, url)
    assert response.status_code == 200, f"{url}: {response.status_code}"
    kept = bd.repeated_gets(client, url, repeat)
    fund_times = bd.repeated_gets(client, f"/funds/{fund_id}/foresight?{PAGE_QUERY}", repeat)
    return {"cold_ms": cold, "kept_ms": statistics.median(kept), "fund_ms": statistics.median(fund_times)}


def main() -> None:
    parser = bd.bench_parser(__doc__, "1 = 200 funds and 20,000 loans of 60 instalments",
                             (3, "runs of each measurement (the best is shown)"))
    args = parser.parse_args()

    from programme.loans.services import foresight
    from programme.loans.services.arrears import run_daily

    plan = bw.Plan(args.scale)
    rng = random.Random(args.seed)
    with bd.scratch_database(args.database_url, "foresight") as (folder, url):
        begun = time.perf_counter()
        app = bd.migrated_app(bd.bench_config(url, folder))
        with app.app_context():
            world, specs, ledger = bw.loan_world(plan, rng, app)
            stats = bw.write_loans(specs, world, ledger, rng, AS_OF)
            requests = write_pipeline(world, rng)
            bd.fix_sequences(bw.CLUSTER_TABLES + bw.LEDGER_TABLES + bw.LOAN_TABLES
                             + ["fund_capitalisations", "funding_requests"])
            bd.analyze()
            assert bw.ledger_balanced(), "the generated ledger does not balance"
            progress("the daily arrears job, once")
            run_daily(as_of=AS_OF, actor=bd.ACTOR, now=bw.NOW)
            db.session.commit()
            bd.analyze()
            generated_s = time.perf_counter() - begun
            unpaid = db.session.scalar(select(func.count()).select_from(LoanInstalment).where(
                LoanInstalment.principal_paid < LoanInstalment.principal))

            progress("a. loading")
            load_s, loaded = timed(lambda: foresight.load(as_of=AS_OF), args.repeat, "load")
            rows = sum(1 for _ in foresight._unpaid_rows(None))
            progress(f"   {load_s:.2f} s, {rows} unpaid instalments")
            db.session.rollback()
            progress("b. the projection alone")
            policy = foresight.policy_of(next(iter(loaded.rules.values())))

            def project_all(scenario: Scenario) -> list:
                projector = foresight.Projector(scenario, policy)
                empty = foresight.Book()
                return [projector.project(loaded.books.get(f.fund_id, empty), cash=loaded.cash.get(f.fund_id, 0),
                                          pipeline=loaded.pipeline.get(f.fund_id, 0), start=AS_OF)
                        for f in loaded.funds]

            projection_s, projected = timed(lambda: project_all(PAGE_SCENARIO), args.repeat, "projection")
            zero_s, _ = timed(lambda: project_all(Scenario()), args.repeat, "zero")
            progress(f"   {projection_s:.2f} s with the page's scenario, {zero_s:.2f} s with the zero scenario")
            progress("c. the programme's projections (load + base, page and stress scenarios, risk, sums)")
            programme_s, shown = timed(lambda: foresight._programme(foresight.load(as_of=AS_OF), PAGE_SCENARIO),
                                       args.repeat, "programme")
            at_risk = len(shown.at_risk)
            below = sum(1 for f in shown.funds if f.scenario.floor_month is not None)
            first_fund = shown.funds[0].fund.fund_id
            db.session.remove()
        progress("d. the pages")
        pages = measure_pages(app, first_fund, args.repeat)
        with app.app_context():
            funds = db.session.scalar(select(func.count()).select_from(RevolvingFund))
            initiatives = db.session.scalar(select(func.count()).select_from(Initiative))
        bd.close_app(app)

    total_s = time.perf_counter() - begun
    backend = bd.backend_of(url)
    print(f"\nforesight benchmark on {backend}, scale {args.scale}: {funds} funds of {initiatives} initiatives, "
          f"{plan.loans} loans, {stats['instalments']} instalments ({unpaid} with principal unpaid, {rows} rows read), "
          f"{requests} approved requests not yet lent; generated in {generated_s:.0f} s, whole run {total_s:.0f} s; "
          f"load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"loading: {load_s:.2f} s; the projection of every fund (60 months): {projection_s:.2f} s with the "
          f"page's scenario, {zero_s:.2f} s with the zero scenario; load + projection: {load_s + projection_s:.2f} s")
    print(f"CPU seconds of this process: loading {CPU['load']:.2f}, projection {CPU['projection']:.2f}, "
          f"load + projection {CPU['load'] + CPU['projection']:.2f}, "
          f"the programme's projections {CPU['programme']:.2f}")
    print(f"the programme's projections (load, three scenarios per fund, risk scores, sums): {programme_s:.2f} s; "
          f"{at_risk} funds with a warning sign, {below} below their floor within 60 months under the page's scenario")
    print(f"pages: /funds/foresight first request {pages['cold_ms']:.0f} ms, then (kept) {pages['kept_ms']:.0f} ms; "
          f"a fund's page {pages['fund_ms']:.0f} ms")
    assert len(projected) == funds
    figures = {
        "load_seconds": f"{load_s:.2f}",
        "projection_seconds": f"{projection_s:.2f}",
        "projection_zero_scenario_seconds": f"{zero_s:.2f}",
        "load_and_projection_seconds": f"{load_s + projection_s:.2f}",
        "programme_three_scenarios_seconds": f"{programme_s:.2f}",
        "load_cpu_seconds": f"{CPU['load']:.2f}",
        "projection_cpu_seconds": f"{CPU['projection']:.2f}",
        "load_and_projection_cpu_seconds": f"{CPU['load'] + CPU['projection']:.2f}",
        "programme_three_scenarios_cpu_seconds": f"{CPU['programme']:.2f}",
        "programme_page_cold_ms": f"{pages['cold_ms']:.0f}",
        "programme_page_kept_ms": f"{pages['kept_ms']:.0f}",
        "fund_page_ms": f"{pages['fund_ms']:.0f}",
        "funds_at_risk": at_risk,
    }
    for name, value in figures.items():
        print(f"{name}={value}")


if __name__ == "__main__":
    main()
