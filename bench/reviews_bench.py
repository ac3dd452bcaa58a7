"""Benchmark of the review (issue 4): automatic assignment, the ranking, the ranking page, the score-matrix export.

Scale 1 = 5,000 eligible proposals, 300 reviewers, 3 reviews each on 8 criteria (120,000 scores).
The call is made from a temporary copy of rules/cluster-contest.toml with an eighth criterion; groups,
organisations (15 sectors, support institutions shared between groups), submitted proposals with their
frozen versions, reviewers (some working for an organisation that is a member of groups: automatic
conflicts), declared conflicts (about 2 % of the reviewer x proposal pairs) and expertise are
inserted in bulk; the review is started through the services. Then it measures:

  a. ``services.auto_assign``: wall time, spread of the loads, expert matches; checks no conflict is assigned;
  b. (generation) the scores: each proposal a latent quality, each reviewer a leniency, on the 0.5 grid;
     some consensus scores;
  c. the ranking: ``services.compute_results`` (uncached, median of 3), and its pure part (aggregate + rank);
  d. the ranking page ``/calls/<id>/review/ranking`` through the test client as a logged-in manager:
     the first (cold) request, then the median of ``--repeat`` requests;
  e. the score-matrix export: time, and peak traced memory (tracemalloc) with half of the proposals
     scored and with all of them; their ratio is ~1 when memory is flat.

    python bench/reviews_bench.py --scale 0.05        # under a minute
    python bench/reviews_bench.py --scale 1           # SQLite in a temporary folder
    python bench/reviews_bench.py --scale 1 --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test
"""

from __future__ import annotations

import json
import os
import random
import re
import statistics
import time
import tracemalloc
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import benchdb as bd
from benchdb import progress
from sqlalchemy import bindparam, func, insert, select, update

from programme.accounts.models import ApplicantGroup, GroupOrganisation, Organisation, User, UserRole
from programme.accounts.passwords import hash_password
from programme.calls import services as calls
from programme.calls.models import Call
from programme.core.access import Role
from programme.extensions import db
from programme.proposals.domain import COST_TYPES, check_eligibility, dump_snapshot
from programme.proposals.models import Proposal, ProposalStatus, ProposalVersion
from programme.reviews import services
from programme.reviews.aggregation import aggregate
from programme.reviews.models import (
    CallReviewer,
    ConflictOfInterest,
    ConsensusScore,
    Review,
    ReviewScore,
    ReviewStatus,
)
from programme.reviews.ranking import rank_scores

CHUNK = 500

SECTORS = [
    "furniture", "food processing", "dairy", "textiles", "tourism", "wine", "automotive components",
    "ict services", "metal working", "leather", "fisheries", "horticulture", "ceramics", "logistics",
    "renewable energy",
]
SUPPORT = ["business_association", "chamber", "training_provider", "technology_institute", "university",
           "local_government", "bank"]
LOCALITIES = ["Knysna", "George", "Oudtshoorn", "Mossel Bay", "Plettenberg Bay", "Riversdale", "Swellendam"]
FIRST = ["Thandi", "Pieter", "Anna", "Sipho", "Maria", "Johan", "Lerato", "David", "Nomsa", "Karin", "Ahmed",
         "Elena", "Bongani", "Sarah", "Themba", "Ingrid", "Kofi", "Lucia", "Ruan", "Zanele"]
LAST = ["Nkosi", "van der Merwe", "Botha", "Dlamini", "Smit", "Mokoena", "Naidoo", "Pretorius", "Khumalo",
        "Fourie", "Mahlangu", "Jacobs", "Venter", "Ndlovu", "Steyn", "Zulu", "Meyer", "Sithole"]
PHRASES = [
    "The members describe joint activities they have already run together, which is convincing",
    "The proposal is clear about the firms' immediate problems but vague on who does what",
    "Support institutions are named with a defined role and a contribution of their own",
    "The first activities touch core processes of the firms, which makes free riding likely",
    "The plan to become self-funding relies on membership fees that are not yet committed",
    "Private-sector leadership is credible: two named firm owners chair the steering committee",
    "The market failure is argued with evidence from a member survey and export statistics",
    "Indicators are defined by the group itself and can be measured every quarter",
    "The budget is reasonable for the activities, though travel costs look high",
    "Economies of scale in joint purchasing of inputs are shown with a worked example",
]

EIGHTH = '''
[[scoring.criteria]]
key = "regional_fit"
title = "Fit with the region's development strategy and other programmes"
guidance = """\\
Does the initiative build on the region's strategy and avoid duplicating other programmes? \\
5: it names the strategy, the programmes it complements and how it coordinates with them. \\
3: it fits the strategy in general terms. 0: it duplicates or contradicts what others already fund."""
weight = 0.40
threshold = 3.0
'''


def rules_folder(folder: Path) -> Path:
    """A copy of the shipped contest rules with an eighth criterion (weights 2 x 0.5 + 6 x 0.4 = 3.4, the
    highest total 17; the overall threshold stays 10)."""
    target = folder / "rules"
    target.mkdir()
    source = (bd.ROOT / "rules" / "cluster-contest.toml").read_text(encoding="utf-8")
    # After the last criterion: before the comment block that opens the funding tables.
    funding = re.search(r"^\[funding", source, re.MULTILINE)
    assert funding, "the shipped rules have funding tables after the criteria"
    at = source.rfind("\n\n#", 0, funding.start())
    at = at if at > 0 else funding.start()
    source = source[:at] + "\n" + EIGHTH + source[at:]
    (target / "cluster-contest-8.toml").write_text(source, encoding="utf-8")
    return target


#: The tables whose ids the generator writes.
TABLES = ["organisations", "applicant_groups", "proposals", "users"]


# ---------------------------------------------------------------------------------------------
# Generation


class Plan:
    """The sizes and the clock of the generated call."""

    def __init__(self, scale: float) -> None:
        self.proposals = max(10, round(5000 * scale))
        self.reviewers = max(6, round(300 * scale))
        self.shared_institutions = max(8, round(80 * scale))
        self.opens = datetime(2027, 2, 1, 7, 0, tzinfo=UTC)
        self.closes = datetime(2027, 4, 30, 15, 0, tzinfo=UTC)
        self.start = self.closes + timedelta(days=2)
        self.deadline = self.start + timedelta(days=28)
        self.assign_at = self.start + timedelta(hours=2)


def make_call(app, plan: Plan, manager: User) -> Call:
    call = calls.create_call("cluster-contest-8.toml", rules_folder=app.config["RULES_FOLDER"],
                             timezone=app.config["PROGRAMME_TIMEZONE"], actor=bd.ACTOR,
                             now=plan.opens - timedelta(days=7))
    assert len(call.criteria) == 8, "the benchmark call has eight criteria"
    # About one proposal in ten funded: 10 % of the proposals at ~35,000 each.
    call.budget = Decimal(max(round(plan.proposals * 0.1), 10) * 35_000).quantize(Decimal("0.01"))
    call.opens_at, call.closes_at = plan.opens, plan.closes
    calls.open_call(call, actor=bd.ACTOR, now=plan.opens - timedelta(days=1))
    db.session.commit()
    return call


def generate_proposals(call: Call, plan: Plan, rng: random.Random) -> dict:
    """Groups, organisations (firms of the cluster's sectors; support institutions, some shared by many
    groups), submitted proposals and their frozen versions, in bulk."""
    rules = call.rules
    next_org, next_group, next_proposal = (bd.next_id(t) for t in ("organisations", "applicant_groups", "proposals"))
    created = plan.opens - timedelta(days=1)
    shared = []
    orgs = []
    for i in range(plan.shared_institutions):
        kind = SUPPORT[i % len(SUPPORT)]
        shared.append({"id": next_org, "name": f"Regional {kind.replace('_', ' ')} {i + 1}", "kind": kind,
                       "size_class": None, "sector": None, "locality": rng.choice(LOCALITIES), "created_at": created})
        next_org += 1
    db.session.execute(insert(Organisation), shared)
    firms_of_group: dict[int, list[int]] = {}
    groups_of_shared: dict[int, list[int]] = defaultdict(list)
    sector_weights = [1 / (i + 1) for i in range(len(SECTORS))]  # a few big sectors, a long tail
    span = (plan.closes - plan.opens).total_seconds() - 3600
    for start in range(0, plan.proposals, CHUNK):
        groups, orgs, links, proposals, versions = [], [], [], [], []
        for i in range(start, min(plan.proposals, start + CHUNK)):
            group_id, proposal_id = next_group + i, next_proposal + i
            submitted = plan.opens + timedelta(seconds=rng.uniform(0, span))
            main = rng.choices(SECTORS, weights=sector_weights)[0]
            second = rng.choice(SECTORS) if rng.random() < 0.3 else None
            sector_text = main if second in (None, main) else f"{main}; {second}"
            groups.append({"id": group_id, "name": f"{main.title()} cluster {i + 1:05d}", "description": "",
                           "created_at": created})
            members = []
            n_firms = rng.randint(4, 12)
            for _ in range(n_firms):
                org = {"id": next_org, "name": f"{rng.choice(LAST)} {main.title()} {next_org}", "kind": "firm",
                       "size_class": rng.choice(["micro", "small", "medium", "large"]),
                       "sector": main if rng.random() < 0.8 else rng.choice(SECTORS),
                       "locality": rng.choice(LOCALITIES), "created_at": created}
                orgs.append(org)
                members.append(org)
                next_org += 1
            firms_of_group[group_id] = [m["id"] for m in members]
            for _ in range(rng.randint(1, 3)):
                if rng.random() < 0.5:
                    org = rng.choice(shared)
                    if org in members:
                        continue
                    groups_of_shared[org["id"]].append(group_id)
                else:
                    kind = rng.choice(SUPPORT)
                    org = {"id": next_org, "name": f"{kind.replace('_', ' ').title()} {next_org}", "kind": kind,
                           "size_class": None, "sector": None, "locality": rng.choice(LOCALITIES),
                           "created_at": created}
                    orgs.append(org)
                    next_org += 1
                members.append(org)
            links += [{"group_id": group_id, "organisation_id": m["id"], "added_at": created} for m in members]
            snapshot_members = [{"id": m["id"], "name": m["name"], "kind": m["kind"],
                                 "size_class": m["size_class"] or "", "sector": m["sector"] or "",
                                 "locality": m["locality"]} for m in members]
            budget = [{"activity_id": None, "activity": "", "cost_type": rng.choice(list(COST_TYPES)),
                       "description": f"Budget line {n + 1}",
                       "amount": Decimal(rng.randint(2000, 9000)) + Decimal("0.50")} for n in range(8)]
            total = sum((b["amount"] for b in budget), Decimal("0.00"))
            requested = min(Decimal(rng.randint(10, 50) * 1000), total).quantize(Decimal("0.01"))
            cash = Decimal(rng.randint(1000, 20000))
            snapshot = {
                "title": f"Joint action of the {main} cluster {i + 1}",
                "cluster": {"sector": sector_text, "territory": rng.choice(LOCALITIES), "stage": "potential",
                            "main_problem": "Small orders", "market_failure": "Coordination failure"},
                "objectives": "Export together.", "sustainability_plan": "Member fees.",
                "activities": [{"id": 1, "title": "Joint fair stand", "kind": "practical", "description": "",
                                "start_quarter": 1, "end_quarter": 2, "cost": total}],  # what the lines add up to
                "budget_lines": budget, "budget_total": total, "requested_amount": requested,
                "cofinancing": [{"organisation_id": members[0]["id"], "organisation": members[0]["name"],
                                 "kind": "cash", "amount": cash, "description": ""}],
                "indicators": [{"name": f"Indicator {n + 1}", "unit": "count", "baseline": Decimal(n),
                                "target": Decimal(10 + n)} for n in range(3)],
                "members": snapshot_members, "attachments": [],
            }
            verdict = check_eligibility(snapshot, rules, per_initiative_cap=call.per_initiative_cap,
                                        currency=call.currency, opens_at=call.opens_at, closes_at=call.closes_at,
                                        now=submitted)
            assert verdict.eligible, [c for c in verdict.as_json() if not c["passed"]]
            kinds = [m["kind"] for m in members]
            proposals.append({
                "id": proposal_id, "call_id": call.id, "group_id": group_id,
                "reference": f"{call.reference}-{proposal_id:05d}", "title": snapshot["title"],
                "status": "submitted", "created_at": submitted - timedelta(days=3), "updated_at": submitted,
                "sector": sector_text, "territory": snapshot["cluster"]["territory"], "stage": "potential",
                "main_problem": "Small orders", "market_failure": "Coordination failure",
                "objectives": "Export together.", "sustainability_plan": "Member fees.",
                "requested_amount": requested, "latest_version": 1, "submitted_at": submitted,
            })
            versions.append({
                "proposal_id": proposal_id, "number": 1, "submitted_at": submitted,
                "content": dump_snapshot(snapshot), "content_sha256": uuid.uuid4().hex * 2,
                "eligibility": json.dumps(verdict.as_json()), "eligible": True,
                "members_count": len(members), "firms_count": kinds.count("firm"),
                "institutions_count": len(members) - kinds.count("firm"), "requested_amount": requested,
                "budget_total": total, "cofinancing_cash": cash, "cofinancing_in_kind": Decimal(0),
            })
        bd.insert_rows((ApplicantGroup, groups), (Organisation, orgs), (GroupOrganisation, links),
                       (Proposal, proposals), (ProposalVersion, versions))
        db.session.commit()
        progress(f"  {min(plan.proposals, start + CHUNK)}/{plan.proposals} proposals")
    return {"shared": [o["id"] for o in shared], "groups_of_shared": groups_of_shared,
            "firms_of_group": firms_of_group, "first_proposal": next_proposal}


def generate_reviewers(call: Call, plan: Plan, rng: random.Random, world: dict, manager: User) -> None:
    """Reviewers in the call's pool with their expertise; some work for a shared institution or a firm of a
    group (automatic conflicts); declared conflicts with ~2 % of the proposals and a few organisations."""
    password_hash = hash_password(bd.PASSWORD)
    first_user = bd.next_id("users")
    added = plan.start - timedelta(days=1)
    users, roles, pool = [], [], []
    busy_shared = sorted(world["shared"], key=lambda o: -len(world["groups_of_shared"][o]))
    employed = max(2, round(plan.reviewers * 0.05))
    for i in range(plan.reviewers):
        uid = first_user + i
        organisation = None
        if i < employed:  # the first few work for a shared institution (many groups) or a member firm
            if i % 3 == 2:
                group = rng.choice(list(world["firms_of_group"]))
                organisation = rng.choice(world["firms_of_group"][group])
            else:
                organisation = busy_shared[i % len(busy_shared)]
        users.append({"id": uid, "email": f"reviewer{i + 1:04d}@bench.example",
                      "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}", "password_hash": password_hash,
                      "active": True, "created_at": added, "session_version": 1, "organisation_id": organisation})
        roles.append({"user_id": uid, "role": Role.REVIEWER.value, "granted_at": added})
        expertise = rng.sample(SECTORS, rng.choice([1, 1, 2, 2, 3]))
        pool.append({"call_id": call.id, "user_id": uid, "expertise": "; ".join(expertise), "added_at": added,
                     "added_by_id": manager.id})
    bd.insert_rows((User, users), (UserRole, roles), (CallReviewer, pool))
    first, last = world["first_proposal"], world["first_proposal"] + plan.proposals - 1
    declared = []
    for i in range(plan.reviewers):
        uid = first_user + i
        count = sum(1 for _ in range(plan.proposals) if rng.random() < 0.02)
        for pid in rng.sample(range(first, last + 1), count):
            declared.append({"call_id": call.id, "reviewer_id": uid, "proposal_id": pid,
                             "note": "Advised the group on its application.", "declared_at": added})
        if rng.random() < 0.1:
            declared.append({"call_id": call.id, "reviewer_id": uid, "organisation_id": rng.choice(world["shared"]),
                             "note": "Sits on its board.", "declared_at": added})
    for start in range(0, len(declared), 5000):
        db.session.execute(insert(ConflictOfInterest), declared[start:start + 5000])
    db.session.commit()
    world["declared"] = len(declared)
    world["employed"] = employed
    progress(f"  {plan.reviewers} reviewers, {len(declared)} declared conflicts, {employed} employed by members")


def generate_scores(call: Call, plan: Plan, rng: random.Random, proposal_ids: list[int], state: dict) -> int:
    """Submit the reviews of these proposals: per proposal a latent quality, per reviewer a leniency, per
    criterion a twist, and noise; scores on the 0.5 grid within 0-5, with justifications."""
    keys = [c.key for c in call.criteria]
    quality, leniency = state.setdefault("quality", {}), state.setdefault("leniency", {})
    reviews = db.session.execute(
        select(Review.id, Review.proposal_id, Review.reviewer_id).where(Review.call_id == call.id)
        .order_by(Review.proposal_id, Review.id)
    ).all()
    wanted = set(proposal_ids)
    reviews = [r for r in reviews if r.proposal_id in wanted]
    scores, updates = [], []
    made = 0
    for review in reviews:
        q = quality.setdefault(review.proposal_id, (rng.gauss(3.4, 0.7), [rng.gauss(0, 0.35) for _ in keys]))
        lenient = leniency.setdefault(review.reviewer_id, rng.gauss(0, 0.35))
        for key, twist in zip(keys, q[1], strict=True):
            raw = q[0] + twist + lenient + rng.gauss(0, 0.45)
            value = min(10, max(0, round(raw * 2))) / 2
            text_ = f"{rng.choice(PHRASES)}. {rng.choice(PHRASES)}; on {key.replace('_', ' ')} this earns {value}."
            scores.append({"review_id": review.id, "criterion_key": key, "score": Decimal(str(value)),
                           "justification": text_})
        late = rng.random() < 0.03
        at = (plan.deadline + timedelta(hours=rng.uniform(1, 72)) if late
              else plan.start + timedelta(seconds=rng.uniform(86400, (plan.deadline - plan.start).total_seconds())))
        updates.append({"rid": review.id, "at": at})
        made += 1
        if len(scores) >= 10000:
            db.session.execute(insert(ReviewScore), scores)
            scores = []
    if scores:
        db.session.execute(insert(ReviewScore), scores)
    table = Review.__table__
    db.session.execute(
        update(table).where(table.c.id == bindparam("rid"))
        .values(status=ReviewStatus.SUBMITTED.value, saved_at=bindparam("at"), submitted_at=bindparam("at")),
        updates,
    )
    for start in range(0, len(proposal_ids), 900):
        db.session.execute(
            update(Proposal.__table__).where(Proposal.__table__.c.id.in_(proposal_ids[start:start + 900]))
            .values(status=ProposalStatus.SCORED.value)
        )
    call.touch_results()
    db.session.commit()
    return made


def generate_consensus(call: Call, rng: random.Random, manager: User) -> tuple[int, int]:
    """A consensus score for about half of the flagged (proposal, criterion) pairs, with a reason."""
    limit = call.rules.scoring.disagreement_limit
    by_pair: dict[tuple[int, str], list[Decimal]] = defaultdict(list)
    for pid, key, score in db.session.execute(
        select(Review.proposal_id, ReviewScore.criterion_key, ReviewScore.score)
        .join(ReviewScore, ReviewScore.review_id == Review.id).where(Review.call_id == call.id)
    ):
        by_pair[(pid, key)].append(score)
    flagged = [pair for pair, values in by_pair.items() if max(values) - min(values) > limit]
    rows = []
    for pid, key in flagged:
        if rng.random() < 0.5:
            values = sorted(by_pair[(pid, key)])
            rows.append({"proposal_id": pid, "criterion_key": key, "score": values[len(values) // 2],
                         "reason": "The panel discussed the diverging scores and agreed on the middle one.",
                         "recorded_at": datetime(2027, 6, 1, tzinfo=UTC), "recorded_by_id": manager.id})
    if rows:
        db.session.execute(insert(ConsensusScore), rows)
    call.touch_results()
    db.session.commit()
    return len(flagged), len(rows)


def generate_call_in_review(app, plan: Plan, rng: random.Random, manager: User) -> tuple[Call, dict]:
    """The call of ``plan`` with its proposals and reviewers, closed and its review started (no assignment yet).
    Also used by ``bench/pages_bench.py``."""
    progress(f"generating {plan.proposals} proposals, {plan.reviewers} reviewers")
    call = make_call(app, plan, manager)
    world = generate_proposals(call, plan, rng)
    generate_reviewers(call, plan, rng, world, manager)
    bd.fix_sequences(TABLES)
    calls.close_due_calls(actor=bd.ACTOR, now=plan.closes)
    eligible = services.start_review(call, deadline=plan.deadline, actor=manager, now=plan.start)
    db.session.commit()
    assert eligible == plan.proposals, (eligible, plan.proposals)
    bd.analyze()
    return call, world


# ---------------------------------------------------------------------------------------------
# Measurements


def measure_assignment(call: Call, plan: Plan, manager: User) -> dict:
    started = time.perf_counter()
    summary = services.auto_assign(call, actor=manager, now=plan.assign_at, seed=1)
    seconds = time.perf_counter() - started
    db.session.commit()
    with_commit = time.perf_counter() - started
    pairs = {(r, p) for r, p in db.session.execute(select(Review.reviewer_id, Review.proposal_id)
                                                   .where(Review.call_id == call.id))}
    conflict_pairs = services.conflicts(call).pairs
    broken = pairs & conflict_pairs
    assert not broken, f"{len(broken)} conflicted pairs assigned"
    per_proposal = db.session.execute(
        select(func.count()).select_from(Review).where(Review.call_id == call.id).group_by(Review.proposal_id)
    ).scalars().all()
    assert len(per_proposal) == plan.proposals and set(per_proposal) == {3}, "three reviewers per proposal"
    loads = list(summary.loads.values())
    return {"seconds": seconds, "with_commit": with_commit, "created": summary.created, "spread": summary.spread,
            "min_load": min(loads), "max_load": max(loads), "matches": summary.matches,
            "conflict_pairs": len(conflict_pairs)}


def measure_ranking(call: Call) -> dict:
    times, cpu = [], []
    results = None
    for _ in range(3):
        started, started_cpu = time.perf_counter(), time.process_time()
        results = services.compute_results(call)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    assert results is not None
    scoring = results.scoring
    aggregate_times, rank_times = [], []
    for _ in range(3):
        started = time.perf_counter()
        scores = {pid: aggregate(results.reviews.get(pid, {}), scoring, results.consensus.get(pid))
                  for pid in results.rows}
        middle = time.perf_counter()
        rank_scores(scores, scoring, requested={pid: row.amount for pid, row in results.rows.items()},
                    submitted_at={pid: row.submitted_at for pid, row in results.rows.items()}, budget=call.budget)
        aggregate_times.append(middle - started)
        rank_times.append(time.perf_counter() - middle)
    ranking = results.ranking
    return {"load_ms": statistics.median(times) * 1000, "load_all_ms": [round(t * 1000) for t in times],
            "load_cpu_ms": statistics.median(cpu) * 1000,
            "aggregate_ms": statistics.median(aggregate_times) * 1000,
            "rank_ms": statistics.median(rank_times) * 1000,
            "ranked": len(ranking.ranked), "funded": len(ranking.funded), "not_fundable": len(ranking.not_fundable),
            "flagged": sum(1 for s in results.scores.values() if s.flagged)}


def measure_page(app, call_id: int, repeat: int) -> dict:
    """The ranking page through the test client as a manager: cold first request, then the median."""
    services.clear_results_cache()
    page = bd.page_timings(bd.logged_in(app, bd.MANAGER), f"/calls/{call_id}/review/ranking", repeat)
    if page.get("status") == 404:
        return {"missing": True, "url": page["url"]}
    assert "status" not in page, f"{page['url']}: {page.get('status')}"
    return {"missing": False, **page}


def measure_export(call: Call, folder: Path, label: str, *, traced: bool, timezone: str, manager: User) -> dict:
    from programme.reviews.export import write_score_matrix

    target = folder / f"scores-{label}-{'traced' if traced else 'timed'}.xlsx"
    db.session.expire_all()
    if traced:
        tracemalloc.start()
        tracemalloc.reset_peak()
        baseline = tracemalloc.get_traced_memory()[0]
    started = time.perf_counter()
    rows = write_score_matrix(call, str(target), actor=manager, timezone=timezone)
    seconds = time.perf_counter() - started
    figures = {"rows": rows, "seconds": seconds, "file_mb": target.stat().st_size / 1e6}
    if traced:
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        figures["peak_mb"] = (peak - baseline) / 1e6
        figures["left_mb"] = (current - baseline) / 1e6
    target.unlink()
    return figures


# ---------------------------------------------------------------------------------------------


def main() -> None:
    parser = bd.bench_parser(__doc__, "1 = 5,000 proposals and 300 reviewers",
                             (20, "requests of the ranking page after the first"))
    args = parser.parse_args()

    plan = Plan(args.scale)
    rng = random.Random(args.seed)
    with bd.scratch_database(args.database_url, "reviews") as (folder, url):
        begun = time.perf_counter()
        app = bd.migrated_app(bd.bench_config(url, folder, rules_folder(folder)))
        zone = app.config["PROGRAMME_TIMEZONE"]
        with app.app_context():
            manager = bd.add_user(bd.MANAGER, "Bench Manager", Role.PROGRAMME_MANAGER)
            db.session.commit()
            call, world = generate_call_in_review(app, plan, rng, manager)
            call_id = call.id
            generated_s = time.perf_counter() - begun

            progress("a. automatic assignment")
            assignment = measure_assignment(call, plan, manager)
            progress(f"   {assignment['seconds']:.1f} s")
            bd.analyze()

            progress("b. scores: the first half of the proposals")
            ids = list(db.session.scalars(select(Proposal.id).where(Proposal.call_id == call.id)
                                          .order_by(Proposal.id)))
            half = ids[: len(ids) // 2]
            state: dict = {}
            generate_scores(call, plan, rng, half, state)
            bd.analyze()
            progress("e. export with half of the proposals scored (traced)")
            export_half = measure_export(call, folder, "half", traced=True, timezone=zone, manager=manager)
            progress("b. scores: the second half, consensus scores")
            generate_scores(call, plan, rng, ids[len(ids) // 2:], state)
            flagged_pairs, consensus = generate_consensus(call, rng, manager)
            bd.analyze()

            progress("c. the ranking")
            ranking = measure_ranking(call)
            progress("e. export with every proposal scored (timed, then traced)")
            export_full = measure_export(call, folder, "full", traced=False, timezone=zone, manager=manager)
            export_full_traced = measure_export(call, folder, "full", traced=True, timezone=zone, manager=manager)
            from programme.reviews.export import write_ranking_workbook

            started = time.perf_counter()
            write_ranking_workbook(call, str(folder / "ranking.xlsx"), actor=manager, timezone=zone)
            ranking_export_s = time.perf_counter() - started
            db.session.commit()
            db.session.remove()
        progress("d. the ranking page")
        page = measure_page(app, call_id, args.repeat)
        bd.close_app(app)

    total_s = time.perf_counter() - begun
    backend = bd.backend_of(url)
    reviews = assignment["created"]
    print(f"\nreviews benchmark on {backend}, scale {args.scale}: {plan.proposals} proposals, {plan.reviewers} "
          f"reviewers, {reviews} reviews x 8 criteria = {reviews * 8} scores; {world['declared']} declared "
          f"conflicts, {assignment['conflict_pairs']} conflicted pairs in all; generated in {generated_s:.0f} s, "
          f"whole run {total_s:.0f} s; load average at the end {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"assignment: {assignment['seconds']:.2f} s ({assignment['with_commit']:.2f} s with the commit), "
          f"loads {assignment['min_load']}-{assignment['max_load']} (spread {assignment['spread']}), "
          f"{assignment['matches']} expert matches of {reviews} assignments, no conflict assigned")
    print(f"ranking: compute_results {ranking['load_ms']:.0f} ms median of {ranking['load_all_ms']} ms "
          f"({ranking['load_cpu_ms']:.0f} ms of CPU); pure part "
          f"aggregate {ranking['aggregate_ms']:.0f} ms + rank {ranking['rank_ms']:.0f} ms; "
          f"{ranking['ranked']} fundable ({ranking['funded']} funded), {ranking['not_fundable']} not fundable, "
          f"{ranking['flagged']} flagged, {consensus} consensus scores on {flagged_pairs} flagged criteria")
    if page["missing"]:
        print(f"ranking page: {page['url']} answers 404 (the route does not exist yet); run again once it does")
    else:
        print(f"ranking page: first (cold) request {page['cold_ms']:.0f} ms, then median {page['median_ms']:.0f} ms "
              f"(max {page['max_ms']:.0f} ms) over {args.repeat} requests, {page['kb']:.0f} kB")
    print(f"score-matrix export: {export_full['rows']} rows in {export_full['seconds']:.1f} s "
          f"({export_full['rows'] / export_full['seconds']:.0f} rows/s), file {export_full['file_mb']:.1f} MB; "
          f"peak traced memory {export_full_traced['peak_mb']:.1f} MB with {export_full_traced['rows']} rows, "
          f"{export_half['peak_mb']:.1f} MB with {export_half['rows']} rows (half the proposals scored)")
    from programme.reviews.export import BATCH

    if plan.proposals // 2 <= BATCH:
        print(f"(the export reads {BATCH} proposals per batch: with {plan.proposals} proposals both exports fit in one "
              "or two batches, so the memory ratio says little below scale 0.1)")
    print(f"ranking workbook export: {ranking_export_s:.1f} s")
    ratio = export_full_traced["peak_mb"] / export_half["peak_mb"] if export_half["peak_mb"] else float("nan")
    figures = {
        "assignment_s": f"{assignment['seconds']:.1f}",
        "assignment_spread": assignment["spread"],
        "assignment_expert_matches": assignment["matches"],
        "ranking_ms": f"{ranking['load_ms']:.0f}",
        "ranking_cpu_ms": f"{ranking['load_cpu_ms']:.0f}",
        "ranking_pure_ms": f"{ranking['aggregate_ms'] + ranking['rank_ms']:.0f}",
        "ranking_page_cold_ms": "n/a" if page["missing"] else f"{page['cold_ms']:.0f}",
        "ranking_page_median_ms": "n/a" if page["missing"] else f"{page['median_ms']:.0f}",
        "export_s": f"{export_full['seconds']:.1f}",
        "export_rows": export_full["rows"],
        "export_peak_mb": f"{export_full_traced['peak_mb']:.1f}",
        "export_half_peak_mb": f"{export_half['peak_mb']:.1f}",
        "export_memory_ratio": f"{ratio:.2f}",
    }
    for name, value in figures.items():
        print(f"{name}={value}")


if __name__ == "__main__":
    main()
