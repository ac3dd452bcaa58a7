"""One request per page, in process, on the data a ``pages_bench.py --keep-database`` run left: for each page its
time, its SQL statements and their time, and (``--explain``) the plans of its slowest statements. It is the
magnifying glass beside the page benchmark: the benchmark says which page is slow under load, this says why.

    python bench/pages_bench.py --scale 1 --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        --keep-database --pages calls         # prints the folder to reuse
    python bench/page_profile.py --reuse /tmp/pages-bench-XXXX [--pages ledger,scores] [--explain 3]

``--scale`` is not taken: the data is the kept run's. Prints one line per page, then ``name=value`` lines.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import benchdb as bd
import pages_bench as pb
from sqlalchemy import event, text

from programme.extensions import db


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reuse", required=True, metavar="FOLDER", help="the folder a --keep-database run printed")
    parser.add_argument("--pages", default=None, help="only the pages whose label or path contains one of these words")
    parser.add_argument("--repeat", type=int, default=3, help="requests per page (the fastest is reported)")
    parser.add_argument("--explain", type=int, default=0, help="EXPLAIN ANALYZE the N slowest statements of a page")
    parser.add_argument("--cold", action="store_true",
                        help="keep no page (PAGE_KEEP_SECONDS=0): each request works its page out")
    parser.add_argument("--top", type=int, default=0, help="print the N slowest statements of each page")
    args = parser.parse_args()

    folder = Path(args.reuse).resolve()
    kept = json.loads((folder / pb.KEPT).read_text())
    rules = pb.rules_folder(folder)
    # Migrated: the kept data may be from an earlier head.
    app = bd.migrated_app(bd.bench_config(kept["url"], folder, rules, INSTANCE_PATH=str(folder / "profile"),
                                          WTF_CSRF_ENABLED=False, PROGRAMME_MODE="demo",
                                          **({"PAGE_KEEP_SECONDS": 0} if args.cold else {})))
    statements: list[tuple[float, str, object]] = []

    with app.app_context():
        engine = db.engine

        @event.listens_for(engine, "before_cursor_execute")
        def _before(conn, cursor, statement, parameters, context, executemany):
            conn.info.setdefault("started", []).append(time.perf_counter())

        @event.listens_for(engine, "after_cursor_execute")
        def _after(conn, cursor, statement, parameters, context, executemany):
            statements.append((time.perf_counter() - conn.info["started"].pop(), statement, parameters))

    t = kept["targets"]
    emails = {"manager": bd.MANAGER, "admin": bd.ADMIN, "reviewer": t["reviewer"], "applicant": pb.APPLICANT}
    clients = {}
    listed = pb.pages(t)
    if args.pages:
        words = [w.strip().lower() for w in args.pages.split(",") if w.strip()]
        listed = [p for p in listed if any(w in p[0].lower() or w in p[2].lower() for w in words)]
    print(f"profile of {len(listed)} pages on {kept['summary']}")
    print("| page | ms | statements | SQL ms | bytes |")
    print("| --- | --- | --- | --- | --- |")
    worst = (0.0, "")
    for label, role, path in listed:
        client = clients.get(role)
        if client is None:
            client = clients[role] = app.test_client() if role == "anonymous" else bd.logged_in(app, emails[role])
        best = None
        for _ in range(args.repeat):
            statements.clear()
            started = time.perf_counter()
            response = client.get(path)
            elapsed = time.perf_counter() - started
            if best is None or elapsed < best[0]:
                best = (elapsed, list(statements), response)
        elapsed, seen, response = best
        sql_ms = sum(s[0] for s in seen) * 1000
        print(f"| {label} | {elapsed * 1000:.0f} | {len(seen)} | {sql_ms:.0f} | {len(response.data)}"
              + ("" if response.status_code == 200 else f" (status {response.status_code})") + " |")
        worst = max(worst, (elapsed * 1000, path))
        slowest = sorted(seen, key=lambda s: -s[0])
        for took, statement, _ in slowest[: args.top]:
            print(f"    {took * 1000:7.1f} ms  {' '.join(statement.split())[:300]}")
        if args.explain and kept["url"].startswith("postgresql"):
            with app.app_context():
                for took, statement, parameters in slowest[: args.explain]:
                    if not statement.lstrip().upper().startswith("SELECT"):
                        continue
                    with db.engine.connect() as connection:
                        plan = connection.exec_driver_sql("EXPLAIN ANALYZE " + statement, parameters).all()
                    print(f"  -- {took * 1000:.1f} ms: {' '.join(statement.split())[:200]}")
                    for line in plan:
                        print("     " + line[0])
    with app.app_context():
        db.session.execute(text("SELECT 1"))
    print()
    print(f"pages={len(listed)}")
    print(f"slowest_page={worst[1]}")
    print(f"slowest_ms={worst[0]:.0f}")


if __name__ == "__main__":
    main()
