"""Benchmark of the loans (issue 5): the daily arrears job, the loan book page, the loan-book export.

Scale 1 = 200 initiatives, each with its revolving fund, and 20,000 loans of 60 monthly instalments
(1.2 million instalments) disbursed over the five years before the benchmark's day, with their repayments:
most borrowers pay every instalment on its due date, about 5 % are a month or two behind (some with a part
paid), about 3.5 % stopped paying 2 to 12 months ago, and 1.5 % repaid early (closed, future interest
cancelled). Loan terms: 5,000 to 50,000, 0 to 4 %, annuity or equal principal, schedules from
``loans.schedule.build_schedule`` (cached per principal, rate and method; due dates per first due date).

Everything is inserted in bulk (``bench/benchworld.py``: COPY on PostgreSQL, executemany on SQLite), not through
the services, with a balanced ledger: the call's budget, one capitalisation entry per fund (with its Capitalisation
row), one disbursement entry per loan and ONE aggregated repayment entry per loan (Dr fund cash, Cr loans
receivable and interest income). Repayment rows are not generated (the instalments' paid columns are). The
reminders of the days before are marked (``reminded_on``) as the job would have left them, so the first run
queues one day's reminders, not five years'. The loans are written in two halves: the export is traced after the
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
"""

from __future__ import annotations

import io
import os
import random
import time
import tracemalloc
from datetime import date, timedelta
from pathlib import Path

import benchdb as bd
import benchworld as bw
from benchdb import progress
from benchworld import AS_OF
from sqlalchemy import text, update

from programme.extensions import db

# ---------------------------------------------------------------------------------------------
# Measurements


def measure_daily(as_of: date) -> dict:
    from programme.loans.services.arrears import run_daily

    started = time.perf_counter()
    result = run_daily(as_of=as_of, actor=bd.ACTOR, now=bw.NOW + (as_of - AS_OF))
    job = time.perf_counter() - started
    db.session.commit()
    return {"seconds": time.perf_counter() - started, "job_seconds": job, "result": result}


def measure_page(app, repeat: int) -> dict:
    if "loans.loan_book" not in app.view_functions:
        return {"missing": True, "url": "/loans"}
    page = bd.page_timings(bd.logged_in(app, bd.ADMIN), "/loans", repeat)
    assert "status" not in page, f"{page['url']}: {page.get('status')}"
    return {"missing": False, **page}


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
    parser = bd.bench_parser(__doc__, "1 = 200 funds and 20,000 loans of 60 instalments",
                             (20, "requests of the loan book page after the first"))
    parser.add_argument("--explain", action="store_true", help="print the plan of the job's main statement")
    args = parser.parse_args()

    plan = bw.Plan(args.scale)
    rng = random.Random(args.seed)
    plan_text = ""
    with bd.scratch_database(args.database_url, "loans") as (folder, url):
        begun = time.perf_counter()
        app = bd.migrated_app(bd.bench_config(url, folder))
        with app.app_context():
            world, specs, ledger = bw.loan_world(plan, rng, app)
            half = len(specs) // 2
            stats = bw.write_loans(specs[:half], world, ledger, rng, AS_OF)
            bd.fix_sequences(bw.CLUSTER_TABLES + bw.LEDGER_TABLES + bw.LOAN_TABLES + ["fund_capitalisations"])
            bd.analyze()
            progress("c. export with half of the loans (traced)")
            export_half = measure_export(folder, "half")
            more = bw.write_loans(specs[half:], world, ledger, rng, AS_OF)
            stats = {k: stats[k] + more[k] for k in stats}
            bd.fix_sequences(bw.LEDGER_TABLES + bw.LOAN_TABLES)
            bd.analyze()
            assert bw.ledger_balanced(), "the generated ledger does not balance"
            generated_s = time.perf_counter() - begun

            progress("a. the daily job: first run")
            first = measure_daily(AS_OF)
            progress(f"   {first['seconds']:.2f} s: {first['result'].summary()}")
            bd.analyze()
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
        bd.close_app(app)

    total_s = time.perf_counter() - begun
    backend = bd.backend_of(url)
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
