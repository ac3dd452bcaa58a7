"""Assigning reviewers to proposals (pure: no Flask, no database).

Every proposal gets ``k`` distinct reviewers, none of them in conflict with it; assignments the
manager keeps stay as they are. The loads (proposals per reviewer, kept ones included) are as even
as the conflicts and the kept assignments allow, and reviewers whose expertise shares a sector with
a proposal are preferred.

The method, in four passes, deterministic for a given ``seed`` (and whatever the order of the input):

1. **Greedy**, most constrained proposal first (fewest reviewers without a conflict, then fewest
   experts, then a seeded draw): each takes the reviewers it still needs, preferring those under the
   even share ``ceil(proposals x k / reviewers)``, then experts, then the least loaded, then a seeded
   draw.
2. **Balance repair** (the flow view: each proposal sends ``k`` units, at most one over each edge to a
   reviewer without a conflict): while a chain of moves leads from a reviewer with the highest load
   to one with at least two fewer (proposal 1 passes from the first reviewer to a second, proposal 2
   from the second to a third, ..., each move to a reviewer not in conflict and not already on that
   proposal), apply it; likewise towards a reviewer with the lowest load from one with at least two
   more. Each chain lowers the sum of squared loads, so the repair ends. When it ends,
   ``max load - min load <= 1`` whenever any assignment allows it: if one does, the difference
   between it and ours splits into such chains, and one of them would start at a reviewer with the
   highest load (or end at one with the lowest).
3. **Local expertise moves**: a non-expert hands its proposal to an expert with a lower load, or
   swaps with an expert so that the matches grow (cheap, and most of the gain).
4. **Cycle cancelling** (min-cost flow, an expert edge costing -1): while a cycle of hand-overs gains
   matches, or a chain from a reviewer above the lowest load to one below the highest (only when the
   loads are within one, so they stay so), apply it; found as a negative cycle by label-correcting
   shortest paths on the reviewers. At the end no assignment with the same kept pairs has more
   matches among those with loads within one (when ours are) or with the same loads (otherwise).
"""

from __future__ import annotations

import heapq
import math
from collections import Counter, deque
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from random import Random

from programme.reviews.domain import ProposalId, id_key

ReviewerId = Hashable
Pair = tuple[ReviewerId, ProposalId]


@dataclass(frozen=True)
class ProposalToReview:
    id: ProposalId
    sectors: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sectors", frozenset(self.sectors))


@dataclass(frozen=True)
class ReviewerProfile:
    id: ReviewerId
    expertise: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        object.__setattr__(self, "expertise", frozenset(self.expertise))


class AssignmentError(ValueError):
    """No valid assignment: ``proposal_ids`` names the proposals concerned; ``short`` the proposals with too few
    reviewers free of conflict, each with how many it has, and ``needed`` how many each needs (so that a page can
    say it in its own words)."""

    def __init__(self, message: str, proposal_ids: Iterable[ProposalId] = (), *,
                 short: Iterable[tuple[ProposalId, int]] = (), needed: int = 0) -> None:
        super().__init__(message)
        self.proposal_ids = tuple(proposal_ids)
        self.short = tuple(short)
        self.needed = needed


@dataclass(frozen=True)
class Assignment:
    """The reviewers of each proposal (sorted), each reviewer's load and the expert matches."""

    reviewers: dict[ProposalId, tuple[ReviewerId, ...]]
    loads: dict[ReviewerId, int]
    matches: int
    kept: frozenset[Pair]

    @property
    def pairs(self) -> frozenset[Pair]:
        return frozenset((r, p) for p, rs in self.reviewers.items() for r in rs)

    @property
    def new(self) -> frozenset[Pair]:
        """The assignments made now (not kept)."""
        return self.pairs - self.kept

    @property
    def spread(self) -> int:
        return max(self.loads.values(), default=0) - min(self.loads.values(), default=0)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class _Solver:
    def __init__(
        self,
        proposals: list[ProposalToReview],
        reviewers: list[ReviewerProfile],
        k: int,
        conflicts: set[tuple[int, int]],
        keep: list[tuple[int, int]],
        seed: int,
    ) -> None:
        self.proposals, self.reviewers, self.k = proposals, reviewers, k
        self.rng = Random(seed)
        n_p, n_r = len(proposals), len(reviewers)
        self.conflicted: list[set[int]] = [set() for _ in range(n_p)]
        for r, p in conflicts:
            self.conflicted[p].add(r)
        self.eligible: list[list[int]] = [
            [r for r in range(n_r) if r not in self.conflicted[p]] for p in range(n_p)
        ]
        self.eligible_for: list[list[int]] = [[] for _ in range(n_r)]
        for p in range(n_p):
            for r in self.eligible[p]:
                self.eligible_for[r].append(p)
        self.experts: list[list[int]] = [
            [r for r in self.eligible[p] if reviewers[r].expertise & proposals[p].sectors] for p in range(n_p)
        ]
        self.expert_sets = [set(e) for e in self.experts]
        self.assigned: list[set[int]] = [set() for _ in range(n_p)]
        self.kept: list[set[int]] = [set() for _ in range(n_p)]
        self.movable: list[set[int]] = [set() for _ in range(n_r)]
        self.plain: list[set[int]] = [set() for _ in range(n_r)]  # movable and not an expert match
        self.loads = [0] * n_r
        self.everyone = set(range(n_r))
        for r, p in keep:
            self.assigned[p].add(r)
            self.kept[p].add(r)
            self.loads[r] += 1

    # -- moves ------------------------------------------------------------------------------

    def _add(self, p: int, r: int) -> None:
        self.assigned[p].add(r)
        self.movable[r].add(p)
        if r not in self.expert_sets[p]:
            self.plain[r].add(p)
        self.loads[r] += 1

    def _remove(self, p: int, r: int) -> None:
        self.assigned[p].remove(r)
        self.movable[r].discard(p)
        self.plain[r].discard(p)
        self.loads[r] -= 1

    def _move(self, p: int, giver: int, taker: int) -> None:
        self._remove(p, giver)
        self._add(p, taker)

    # -- 1. greedy --------------------------------------------------------------------------

    def greedy(self) -> None:
        n_p, n_r = len(self.proposals), len(self.reviewers)
        share = math.ceil(n_p * self.k / n_r) if n_r else 0
        draw = [self.rng.random() for _ in range(n_p)]
        order = sorted(range(n_p), key=lambda p: (len(self.eligible[p]), len(self.experts[p]), draw[p]))
        loads, rng = self.loads, self.rng
        for p in order:
            need = self.k - len(self.assigned[p])
            if need <= 0:
                continue
            experts, taken = self.expert_sets[p], self.assigned[p]
            candidates = [r for r in self.eligible[p] if r not in taken]
            chosen = heapq.nsmallest(
                need, candidates, key=lambda r: (loads[r] >= share, r not in experts, loads[r], rng.random())
            )
            for r in chosen:
                self._add(p, r)

    # -- 2. balance ---------------------------------------------------------------------------

    def _lower_highest(self) -> bool:
        loads = self.loads
        top = max(loads)
        if top - min(loads) < 2:
            return False
        sources = [r for r in range(len(loads)) if loads[r] == top]
        parent: dict[int, tuple[int, int] | None] = dict.fromkeys(sources)
        seen: set[int] = set()
        queue = deque(sources)
        while queue:
            giver = queue.popleft()
            for p in sorted(self.movable[giver]):
                if p in seen:
                    continue
                seen.add(p)
                taken = self.assigned[p]
                for taker in self.eligible[p]:
                    if taker in parent or taker in taken:
                        continue
                    parent[taker] = (giver, p)
                    if loads[taker] <= top - 2:
                        step = parent[taker]
                        while step is not None:
                            giver_, p_ = step
                            self._move(p_, giver_, taker)
                            taker, step = giver_, parent[giver_]
                        return True
                    queue.append(taker)
        return False

    def _raise_lowest(self) -> bool:
        loads = self.loads
        bottom = min(loads)
        if max(loads) - bottom < 2:
            return False
        targets = [r for r in range(len(loads)) if loads[r] == bottom]
        child: dict[int, tuple[int, int] | None] = dict.fromkeys(targets)
        seen: set[int] = set()
        queue = deque(targets)
        while queue:
            taker = queue.popleft()
            for p in self.eligible_for[taker]:
                if p in seen or taker in self.assigned[p]:
                    continue
                seen.add(p)
                for giver in sorted(self.assigned[p] - self.kept[p]):
                    if giver in child:
                        continue
                    child[giver] = (taker, p)
                    if loads[giver] >= bottom + 2:
                        step = child[giver]
                        while step is not None:
                            taker_, p_ = step
                            self._move(p_, giver, taker_)
                            giver, step = taker_, child[taker_]
                        return True
                    queue.append(giver)
        return False

    def balance(self) -> None:
        if not self.loads:
            return
        while True:
            progressed = False
            while self._lower_highest():
                progressed = True
            while self._raise_lowest():
                progressed = True
            if not progressed:
                return

    # -- 3. expertise -----------------------------------------------------------------------

    def improve(self, rounds: int = 3) -> None:
        loads = self.loads
        for _ in range(rounds):
            improved = False
            for p in range(len(self.proposals)):
                for r in sorted(self.assigned[p] - self.kept[p]):
                    if r in self.expert_sets[p] or r not in self.assigned[p]:
                        continue
                    free = [e for e in self.experts[p] if e not in self.assigned[p]]
                    lighter = [e for e in free if loads[e] < loads[r]]
                    if lighter:
                        self._move(p, r, min(lighter, key=lambda e: (loads[e], e)))
                        improved = True
                        continue
                    for expert in free:
                        swap = next(
                            (q for q in sorted(self.plain[expert])
                             if r not in self.assigned[q] and r not in self.conflicted[q]),
                            None,
                        )
                        if swap is not None:
                            self._move(p, r, expert)
                            self._move(swap, expert, r)
                            improved = True
                            break
            if not improved:
                return

    # -- 4. expertise, exactly: cancel the cycles that gain matches ------------------------------

    def _row(self, giver: int) -> tuple[set[int], set[int], set[int]]:
        """Reviewers that could take one of ``giver``'s proposals, by the change in matches: +1, 0, -1."""
        gain: set[int] = set()
        even: set[int] = set()
        loss: set[int] = set()
        for p in self.movable[giver]:
            free = self.everyone - self.conflicted[p] - self.assigned[p]
            experts = self.expert_sets[p] & free
            if p in self.plain[giver]:
                gain |= experts
                even |= free
            else:
                even |= experts
                loss |= free
        even -= gain
        loss -= gain
        loss -= even
        return gain, even, loss

    def _negative_cycle(self, rows: list[tuple[set[int], set[int], set[int]]], low: int, high: int,
                        with_sink: bool) -> list[int] | None:
        """A cycle of moves that gains matches, as reviewer indices (``sink`` for a load change), or None.

        Edge ``u -> v``: ``u`` hands one of its proposals to ``v``, weighted by minus the change in
        matches. Through the sink node, the cycle is a chain from a reviewer above ``low`` to one
        below ``high``: the loads stay within ``[low, high]``. Shortest paths from a virtual source
        (every distance 0) by label correction; a cycle among the predecessors is a negative cycle.
        """
        n_r = len(self.reviewers)
        sink = n_r
        loads = self.loads
        dist = [0] * (n_r + 1)
        parent: list[int | None] = [None] * (n_r + 1)
        queued = [True] * (n_r + 1)
        queue = deque(range(n_r + 1))

        def edges(u: int) -> list[tuple[Iterable[int], int]]:
            if u == sink:
                return [([r for r in range(n_r) if loads[r] > low], 0)] if with_sink else []
            gain, even, loss = rows[u]
            out: list[tuple[Iterable[int], int]] = [(gain, -1), (even, 0), (loss, 1)]
            if with_sink and loads[u] < high:
                out.append(((sink,), 0))
            return out

        relaxed = 0
        while queue:
            u = queue.popleft()
            queued[u] = False
            for targets, weight in edges(u):
                candidate = dist[u] + weight
                for v in targets:
                    if candidate < dist[v]:
                        dist[v], parent[v] = candidate, u
                        relaxed += 1
                        # Every n relaxations, and surely once a distance is below -n (no simple path
                        # is that short, weights being >= -1), the predecessors hold a negative cycle.
                        if relaxed % (n_r + 1) == 0 or candidate < -(n_r + 1):
                            cycle = self._parent_cycle(parent)
                            if cycle is not None:
                                return cycle
                        if not queued[v]:
                            queued[v] = True
                            queue.append(v)
        return None

    @staticmethod
    def _parent_cycle(parent: list[int | None]) -> list[int] | None:
        """A cycle among the predecessor links, in edge order, or None."""
        stamp = [-1] * len(parent)
        for start in range(len(parent)):
            node: int | None = start
            while node is not None and stamp[node] == -1:
                stamp[node] = start
                node = parent[node]
            if node is not None and stamp[node] == start:
                cycle = [node]
                current = parent[node]
                while current != node:
                    assert current is not None
                    cycle.append(current)
                    current = parent[current]
                cycle.reverse()
                return cycle
        return None

    def _hand_over(self, giver: int, taker: int) -> int:
        """The proposal ``giver`` hands to ``taker`` that gains the most matches (lowest index on ties)."""
        best: tuple[int, int] | None = None
        for p in sorted(self.movable[giver]):
            if taker in self.assigned[p] or taker in self.conflicted[p]:
                continue
            change = (taker in self.expert_sets[p]) - (giver in self.expert_sets[p])
            if best is None or change > best[0]:
                best = (change, p)
        assert best is not None
        return best[1]

    def cancel_cycles(self) -> None:
        """Hand proposals round cycles (or chains within the load range) while that gains matches.

        On return no such cycle is left, so (min-cost flow optimality) the matches are the most of any
        assignment with the same kept pairs and loads in ``[min, max]`` of ours when ``max - min <= 1``,
        or with exactly our loads otherwise.
        """
        n_r = len(self.reviewers)
        if not n_r:
            return
        low, high = min(self.loads), max(self.loads)
        with_sink = high - low <= 1
        rows = [self._row(r) for r in range(n_r)]
        while True:
            cycle = self._negative_cycle(rows, low, high, with_sink)
            if cycle is None:
                return
            moves = []
            for u, v in zip(cycle, cycle[1:] + cycle[:1], strict=True):
                if u < n_r and v < n_r:
                    moves.append((self._hand_over(u, v), u, v))
            touched: set[int] = set()
            for p, _, _ in moves:
                touched |= self.assigned[p]
            for p, giver, taker in moves:
                self._move(p, giver, taker)
                touched |= self.assigned[p]
            for r in touched:
                rows[r] = self._row(r)

    def matches(self) -> int:
        return sum(len(self.assigned[p] & self.expert_sets[p]) for p in range(len(self.proposals)))


def assign(
    proposals: Iterable[ProposalToReview],
    reviewers: Iterable[ReviewerProfile],
    *,
    k: int,
    conflicts: Iterable[Pair] = (),
    keep: Iterable[Pair] = (),
    seed: int = 0,
) -> Assignment:
    """Assign ``k`` reviewers to every proposal; ``conflicts`` and ``keep`` are (reviewer, proposal) pairs.

    Conflicts naming an unknown reviewer or proposal are ignored (they may concern another call).
    Raises AssignmentError naming every proposal with fewer than ``k`` reviewers free of conflict,
    and for a kept assignment that is unknown, in conflict, or one too many.
    """
    if k < 1:
        raise AssignmentError(f"k: at least 1 reviewer per proposal (got {k})")
    proposal_list = sorted(proposals, key=lambda p: id_key(p.id))
    reviewer_list = sorted(reviewers, key=lambda r: id_key(r.id))
    p_index = {p.id: i for i, p in enumerate(proposal_list)}
    r_index = {r.id: i for i, r in enumerate(reviewer_list)}
    if len(p_index) != len(proposal_list):
        raise AssignmentError("each proposal once")
    if len(r_index) != len(reviewer_list):
        raise AssignmentError("each reviewer once")
    conflict_pairs = {
        (r_index[r], p_index[p]) for r, p in conflicts if r in r_index and p in p_index
    }

    conflicted = Counter(p for _, p in conflict_pairs)
    free = [len(reviewer_list) - conflicted[i] for i in range(len(proposal_list))]
    short = [i for i in range(len(proposal_list)) if free[i] < k]
    if short:
        details = "; ".join(
            f"proposal {proposal_list[i].id} has {_plural(free[i], 'reviewer')} without a conflict of interest"
            for i in short
        )
        raise AssignmentError(f"{details}; {k} needed", (proposal_list[i].id for i in short),
                              short=((proposal_list[i].id, free[i]) for i in short), needed=k)

    kept_pairs: list[tuple[int, int]] = []
    for r, p in dict.fromkeys(keep):
        if r not in r_index or p not in p_index:
            raise AssignmentError(f"kept assignment of reviewer {r} to proposal {p}: unknown reviewer or proposal",
                                  [p])
        pair = (r_index[r], p_index[p])
        if pair in conflict_pairs:
            raise AssignmentError(f"kept assignment of reviewer {r} to proposal {p} is a conflict of interest", [p])
        kept_pairs.append(pair)
    per_proposal: dict[int, int] = {}
    for _, p in kept_pairs:
        per_proposal[p] = per_proposal.get(p, 0) + 1
    over = [p for p, n in per_proposal.items() if n > k]
    if over:
        ids = [proposal_list[p].id for p in sorted(over)]
        raise AssignmentError(f"more than {k} kept reviewers on proposal {', '.join(map(str, ids))}", ids)

    solver = _Solver(proposal_list, reviewer_list, k, conflict_pairs, kept_pairs, seed)
    solver.greedy()
    solver.balance()
    solver.improve()
    solver.cancel_cycles()
    return Assignment(
        reviewers={
            p.id: tuple(sorted((reviewer_list[r].id for r in solver.assigned[i]), key=id_key))
            for i, p in enumerate(proposal_list)
        },
        loads={r.id: solver.loads[i] for i, r in enumerate(reviewer_list)},
        matches=solver.matches(),
        kept=frozenset((reviewer_list[r].id, proposal_list[p].id) for r, p in kept_pairs),
    )


def expert_matches(
    reviewers_by_proposal: dict[ProposalId, Iterable[ReviewerId]],
    proposals: Iterable[ProposalToReview],
    reviewers: Iterable[ReviewerProfile],
) -> int:
    """How many (reviewer, proposal) assignments share a sector between expertise and proposal."""
    sectors = {p.id: p.sectors for p in proposals}
    expertise = {r.id: r.expertise for r in reviewers}
    none: frozenset[str] = frozenset()
    return sum(1 for p, rs in reviewers_by_proposal.items()
                for r in rs if sectors.get(p, none) & expertise.get(r, none))
