"""Benchmark of the manager's submissions list and the Excel export (issue 3).

Generates two calls of submitted proposals (1,000 x scale and 5,000 x scale; each with
5 to 15 member organisations, 10 budget lines, 3 indicators), then measures:
  - the submissions list page (first page, with filters and a sort), median of repeated requests;
  - the full Excel export of each call, in a fresh process each, its time and peak memory.

    python bench/proposals_bench.py --scale 1            # SQLite in a temporary folder
    python bench/proposals_bench.py --scale 0.05         # under a minute
    python bench/proposals_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

The last lines are the figures.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import benchdb as bd
from benchdb import progress

from programme import create_app
from programme.accounts.models import ApplicantGroup, GroupOrganisation, Organisation
from programme.calls import services as calls
from programme.core.access import Role
from programme.core.db import utcnow
from programme.extensions import db
from programme.proposals.domain import COST_TYPES, check_eligibility, dump_snapshot
from programme.proposals.models import BudgetLine, Indicator, Proposal, ProposalVersion

SUPPORT = [
    "business_association",
    "chamber",
    "training_provider",
    "technology_institute",
    "university",
    "local_government",
    "bank",
]


def generate_call(app, size: int, rng: random.Random, label: str) -> int:
    """A closed-for-now open call with `size` submitted proposals, inserted in bulk."""
    now = utcnow()
    call = calls.create_call(
        "cluster-contest.toml",
        rules_folder=app.config["RULES_FOLDER"],
        timezone=app.config["PROGRAMME_TIMEZONE"],
        actor=bd.ACTOR,
        now=now,
    )
    call.opens_at, call.closes_at = now - timedelta(days=30), now + timedelta(days=30)
    calls.open_call(call, actor=bd.ACTOR, now=now)
    db.session.flush()
    rules = call.rules
    next_org, next_group, next_proposal = (bd.next_id(t) for t in ("organisations", "applicant_groups", "proposals"))
    chunk = 500
    for start in range(0, size, chunk):
        groups, orgs, links, proposals, versions, lines, indicators = [], [], [], [], [], [], []
        for i in range(start, min(size, start + chunk)):
            group_id, proposal_id = next_group + i, next_proposal + i
            groups.append(
                {"id": group_id, "name": f"{label} cluster group {i:05d}", "description": "", "created_at": now}
            )
            n_members = rng.randint(5, 15)
            members = []
            for m in range(n_members):
                firm = m < n_members - rng.randint(1, 3)
                kind = "firm" if firm else rng.choice(SUPPORT)
                org = {
                    "id": next_org,
                    "name": f"Organisation {next_org}",
                    "kind": kind,
                    "size_class": rng.choice(["micro", "small", "medium", "large"]) if firm else None,
                    "sector": rng.choice(["Furniture", "Food processing", "Textiles", "Tourism"]) if firm else None,
                    "locality": rng.choice(["Knysna", "George", "Oudtshoorn", "Mossel Bay"]),
                    "created_at": now,
                }
                orgs.append(org)
                links.append({"group_id": group_id, "organisation_id": next_org, "added_at": now})
                members.append(
                    {
                        "id": next_org,
                        "name": org["name"],
                        "kind": kind,
                        "size_class": org["size_class"] or "",
                        "sector": org["sector"] or "",
                        "locality": org["locality"],
                    }
                )
                next_org += 1
            budget = [
                {
                    "activity_id": None,
                    "activity": "",
                    "cost_type": rng.choice(list(COST_TYPES)),
                    "description": f"Budget line {n + 1}",
                    "amount": Decimal(rng.randint(1000, 9000)) + Decimal("0.50"),
                }
                for n in range(10)
            ]
            total = sum((b["amount"] for b in budget), Decimal("0.00"))
            requested = min(Decimal(rng.randint(10000, 60000)), total).quantize(Decimal("0.01"))
            inds = [
                {"name": f"Indicator {n + 1}", "unit": "count", "baseline": Decimal(n), "target": Decimal(10 + n)}
                for n in range(3)
            ]
            cash = Decimal(rng.randint(0, 20000))
            in_kind = Decimal(rng.randint(0, 10000))
            snapshot = {
                "title": f"Joint action {i}",
                "cluster": {
                    "sector": "Furniture",
                    "territory": "Garden Route",
                    "stage": "potential",
                    "main_problem": "Small orders",
                    "market_failure": "Coordination failure",
                },
                "objectives": "Export together.",
                "sustainability_plan": "Member fees.",
                "activities": [
                    {
                        "id": 1,
                        "title": "Joint fair stand",
                        "kind": "practical",
                        "description": "",
                        "start_quarter": 1,
                        "end_quarter": 2,
                        "cost": Decimal("20000.00"),
                    }
                ],
                "budget_lines": budget,
                "budget_total": total,
                "requested_amount": requested,
                "cofinancing": [
                    {
                        "organisation_id": members[0]["id"],
                        "organisation": members[0]["name"],
                        "kind": "cash",
                        "amount": cash or Decimal(1),
                        "description": "",
                    }
                ],
                "indicators": inds,
                "members": members,
                "attachments": [],
            }
            verdict = check_eligibility(
                snapshot,
                rules,
                per_initiative_cap=call.per_initiative_cap,
                currency="EUR",
                opens_at=call.opens_at,
                closes_at=call.closes_at,
                now=now,
            )
            content = dump_snapshot(snapshot)
            proposals.append(
                {
                    "id": proposal_id,
                    "call_id": call.id,
                    "group_id": group_id,
                    "reference": f"{call.reference}-P{proposal_id:05d}",
                    "title": snapshot["title"],
                    "status": "submitted",
                    "created_at": now,
                    "updated_at": now,
                    **snapshot["cluster"],
                    "objectives": snapshot["objectives"],
                    "sustainability_plan": snapshot["sustainability_plan"],
                    "requested_amount": requested,
                    "latest_version": 1,
                    "submitted_at": now - timedelta(minutes=i),
                }
            )
            kinds = [m["kind"] for m in members]
            versions.append(
                {
                    "proposal_id": proposal_id,
                    "number": 1,
                    "submitted_at": now - timedelta(minutes=i),
                    "content": content,
                    "content_sha256": uuid.uuid4().hex * 2,
                    "eligibility": json.dumps(verdict.as_json()),
                    "eligible": verdict.eligible,
                    "members_count": len(members),
                    "firms_count": kinds.count("firm"),
                    "institutions_count": len(members) - kinds.count("firm"),
                    "requested_amount": requested,
                    "budget_total": total,
                    "cofinancing_cash": cash or Decimal(1),
                    "cofinancing_in_kind": in_kind,
                }
            )
            lines += [
                {
                    "proposal_id": proposal_id,
                    "position": n + 1,
                    "cost_type": b["cost_type"],
                    "description": b["description"],
                    "amount": b["amount"],
                }
                for n, b in enumerate(budget)
            ]
            indicators += [{"proposal_id": proposal_id, "position": n + 1, **ind} for n, ind in enumerate(inds)]
        bd.insert_rows((ApplicantGroup, groups), (Organisation, orgs), (GroupOrganisation, links),
                       (Proposal, proposals), (ProposalVersion, versions), (BudgetLine, lines), (Indicator, indicators))
        db.session.commit()
        progress(f"  {label}: {min(size, start + chunk)}/{size} proposals")
    if db.engine.dialect.name == "postgresql":
        bd.analyze()
        bd.fix_sequences(["organisations", "applicant_groups", "proposals"])
    return call.id


def config(url: str, folder: Path) -> dict:
    return bd.bench_config(url, folder, WTF_CSRF_ENABLED=False)


def measure_list(app, call_id: int, repeat: int) -> dict[str, float]:
    client = bd.logged_in(app, bd.MANAGER)
    urls = {
        "first page, no filter": f"/manage/calls/{call_id}/submissions",
        "first page, filtered and sorted": f"/manage/calls/{call_id}/submissions?status=submitted&eligibility=eligible"
        "&sort=requested&desc=1",
        "search": f"/manage/calls/{call_id}/submissions?q=group+004",
    }
    figures = {}
    for label, url in urls.items():
        for _ in range(3):
            assert client.get(url).status_code == 200, url
        figures[label] = statistics.median(bd.repeated_gets(client, url, repeat))
    return figures


def export_in_child(url: str, folder: Path, call_id: int) -> dict[str, float]:
    """Run the export in a fresh process, so its peak memory is its own."""
    output = (
        subprocess.run(
            [sys.executable, __file__, "--export-call", str(call_id), "--database-url", url, "--folder", str(folder)],
            check=True,
            capture_output=True,
            text=True,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    return json.loads(output)


def export_only(url: str, folder: Path, call_id: int) -> None:
    from programme.proposals.export import write_submissions_workbook

    app = create_app(config(url, folder))
    with app.app_context():
        from programme.calls.models import Call

        call = db.session.get(Call, call_id)
        baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        target = folder / f"export-{call_id}.xlsx"
        started = time.perf_counter()
        count = write_submissions_workbook(call, str(target), actor=bd.ACTOR, timezone=app.config["PROGRAMME_TIMEZONE"])
        seconds = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "proposals": count,
                "seconds": seconds,
                "peak_rss_mb": peak / 1024,
                "growth_mb": (peak - baseline) / 1024,
                "file_mb": target.stat().st_size / 1e6,
            }
        )
    )


def main() -> None:
    parser = bd.bench_parser(__doc__, "1 = 5,000 and 1,000 proposals", (30, "requests per list measurement"),
                             notes=False)
    parser.add_argument("--export-call", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--folder", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.export_call:
        export_only(args.database_url, Path(args.folder), args.export_call)
        return

    small, large = max(1, round(1000 * args.scale)), max(1, round(5000 * args.scale))
    with bd.scratch_database(args.database_url, "proposals") as (folder, url):
        app = bd.migrated_app(config(url, folder))
        with app.app_context():
            bd.add_user(bd.MANAGER, "Bench Manager", Role.PROGRAMME_MANAGER)
            db.session.commit()
            rng = random.Random(args.seed)
            progress(f"generating {small} and {large} submitted proposals")
            small_call = generate_call(app, small, rng, "small")
            large_call = generate_call(app, large, rng, "large")
            progress("measuring the submissions list")
            listing = measure_list(app, large_call, args.repeat)
        bd.close_app(app)
        progress("measuring the export (a fresh process each)")
        small_export = export_in_child(url, folder, small_call)
        large_export = export_in_child(url, folder, large_call)

    backend = bd.backend_of(url)
    print(f"\nproposals benchmark on {backend}, scale {args.scale}")
    for label, ms in listing.items():
        print(f"list page ({large} proposals), {label}: median {ms:.1f} ms over {args.repeat} requests")
    for export in (small_export, large_export):
        print(
            f"export of {export['proposals']} proposals: {export['seconds']:.2f} s, "
            f"peak RSS {export['peak_rss_mb']:.0f} MB "
            f"(grew {export['growth_mb']:.0f} MB during the export), file {export['file_mb']:.1f} MB"
        )
    ratio = large_export["peak_rss_mb"] / small_export["peak_rss_mb"]
    print(f"peak memory ratio, {large} vs {small} proposals: {ratio:.2f}")


if __name__ == "__main__":
    main()
