"""The generated world the loans, foresight and monitoring benchmarks share, written in bulk (COPY on PostgreSQL,
executemany on SQLite), not through the services:

  - the clusters: each an applicant group with its member firms (the borrowers), its lead user, its funded
    proposal, its initiative and the initiative's revolving fund (``write_clusters``);
  - a balanced ledger (``Ledger``): accounts and entries in the keys the services use;
  - loan books: each loan's terms and its borrower's behaviour (``plan_loans``), then the loans, their
    instalments with what was paid, and their ledger entries (``write_loans``);
  - the loans benchmark's world: one call, one initiative and fund per cluster, every fund capitalised from the
    call's budget, on the day ``AS_OF`` (``loan_world``).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from benchdb import ACTOR, ADMIN, MANAGER, PASSWORD, add_user, next_id, progress
from dateutil.relativedelta import relativedelta
from sqlalchemy import func, insert, select, update

from programme.accounts.models import (
    ApplicantGroup,
    GroupOrganisation,
    GroupUser,
    Organisation,
    User,
    UserRole,
)
from programme.accounts.passwords import hash_password
from programme.calls import services as calls
from programme.calls.models import Call
from programme.core.access import Role
from programme.extensions import db
from programme.funding.models import Initiative
from programme.ledger.models import NORMAL_SIDE, Account, AccountKind, JournalEntry, JournalLine
from programme.loans.models import Capitalisation, Loan, LoanInstalment, RevolvingFund
from programme.loans.schedule import LoanTerms, build_schedule
from programme.proposals.models import Proposal

ZERO = Decimal("0.00")
#: The loans benchmark's day: loans were disbursed over the five years before it.
AS_OF = date(2032, 6, 30)
NOW = datetime(2032, 6, 30, 0, 5, tzinfo=UTC)
STARTED = datetime(2027, 1, 1, 8, 0, tzinfo=UTC)
TERM = 60
CHUNK = 1000  # loans per insert batch

SECTORS = ["furniture", "food processing", "dairy", "textiles", "tourism", "wine", "metal working", "ceramics"]
LOCALITIES = ["Knysna", "George", "Oudtshoorn", "Mossel Bay", "Plettenberg Bay", "Riversdale", "Swellendam"]
PURPOSES = ["A shared kiln", "Cold storage for the members' produce", "A delivery van", "Drying racks",
            "A joint showroom", "Packaging machinery", "Solar panels for the workshop", "Export certification"]

#: The tables whose ids the generators write (for ``benchdb.fix_sequences``).
CLUSTER_TABLES = ["applicant_groups", "organisations", "users", "proposals", "initiatives", "revolving_funds"]
LEDGER_TABLES = ["ledger_accounts", "journal_entries", "journal_lines"]
LOAN_TABLES = ["loans", "loan_instalments"]


# ---------------------------------------------------------------------------------------------
# Bulk writing


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
            self.next[table] = next_id(table)
        first = self.next[table]
        self.next[table] += count
        return first


def day_of(moment: date) -> datetime:
    """Midnight UTC of a day."""
    return datetime.combine(moment, datetime.min.time(), UTC)


# ---------------------------------------------------------------------------------------------
# The ledger


class Ledger:
    """Accounts and balanced entries written in bulk; accounts are dated ``opened``."""

    def __init__(self, ids: Ids, currency: str, opened: datetime = STARTED) -> None:
        self.ids, self.currency, self.opened = ids, currency, opened
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
                                      "owner_id": owner_id, "currency": self.currency, "created_at": self.opened})
        return self.accounts[code]

    def entry(self, key: str, value_date: date, description: str, lines: list[tuple[int, Decimal, Decimal]],
              source: tuple[str, int] | None = None) -> int:
        assert sum(d for _, d, _ in lines) == sum(c for _, _, c in lines), key
        entry_id = self.ids.take("journal_entries")
        self.entries.append({"id": entry_id, "posted_at": day_of(value_date),
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


def ledger_balanced() -> bool:
    debit, credit = db.session.execute(select(
        func.sum(func.round(JournalLine.debit * 100)), func.sum(func.round(JournalLine.credit * 100)))).one()
    return Decimal(str(debit)) == Decimal(str(credit))


def capital_for(lent: Decimal) -> Decimal:
    """A fund's capitalisation: its loans' principals, 5 % more and 10,000."""
    return (lent * Decimal("1.05")).quantize(Decimal("1")) + Decimal("10000")


def lent_per_fund(specs: list[dict]) -> dict[int, Decimal]:
    lent: dict[int, Decimal] = {}
    for spec in specs:
        lent[spec["fund_id"]] = lent.get(spec["fund_id"], ZERO) + spec["principal"]
    return lent


def capitalisation(ledger: Ledger, fund_id: int, amount: Decimal, day: date, budget: int, recorded_by_id: int,
                   recorded_at: datetime) -> dict:
    """A fund's capitalisation from a call's budget: its ledger entry, and its row (to write with ``bulk``)."""
    reference = f"BENCH-CAP-{fund_id}"
    entry_id = ledger.entry(f"capitalisation:{reference}", day, "Capitalisation",
                            [(ledger.account(AccountKind.REVOLVING_FUND_CASH, "fund", fund_id), amount, ZERO),
                             (budget, ZERO, amount)])
    return {"id": ledger.ids.take("fund_capitalisations"), "fund_id": fund_id, "amount": amount, "value_date": day,
            "bank_reference": reference, "note": "", "recorded_by_id": recorded_by_id, "recorded_at": recorded_at,
            "journal_entry_id": entry_id}


# ---------------------------------------------------------------------------------------------
# The clusters: groups, their firms and lead users, funded proposals, initiatives, funds


@dataclass
class Cluster:
    """One cluster's call, its initiative's status and the moments of its rows."""

    call: Call
    status: str
    started: datetime  # the initiative and its fund; its lead user joins
    formed: datetime  # the group and its firms
    proposed: datetime  # the proposal's first draft
    submitted: datetime


def write_clusters(count: int, cluster_of: Callable[[int], Cluster], rng: random.Random, ids: Ids, *,
                   borrowers_per_fund: int, stages: Sequence[str] = ("potential",),
                   reference: str = "{call}-{n:04d}") -> dict:
    """``count`` clusters (the i-th as ``cluster_of(i)`` says), each with ``borrowers_per_fund`` firms, written
    and committed. ``reference`` formats a proposal's reference from its call's and its number ``n``; its stage
    is drawn from ``stages``. Returns the initiatives (``id``, ``call``, ``started`` (a date), ``status``,
    ``user_id``, ``orgs``, ``fund_id``), ``borrowers`` (the firms of each fund) and ``fund_ids``."""
    password_hash = hash_password(PASSWORD)
    groups, orgs, links, users, roles, members, proposals, initiatives, funds = [], [], [], [], [], [], [], [], []
    borrowers: dict[int, list[int]] = {}
    info = []
    first_group, first_org = ids.take("applicant_groups", count), ids.take("organisations",
                                                                          count * borrowers_per_fund)
    first_user, first_proposal = ids.take("users", count), ids.take("proposals", count)
    first_initiative, first_fund = ids.take("initiatives", count), ids.take("revolving_funds", count)
    for i in range(count):
        cluster = cluster_of(i)
        call, started = cluster.call, cluster.started
        group_id, user_id = first_group + i, first_user + i
        sector = SECTORS[i % len(SECTORS)]
        groups.append({"id": group_id, "name": f"{sector.title()} cluster {i + 1:03d}", "description": "",
                       "created_at": cluster.formed})
        org_ids = []
        for n in range(borrowers_per_fund):
            org_id = first_org + i * borrowers_per_fund + n
            org_ids.append(org_id)
            orgs.append({"id": org_id, "name": f"{sector.title()} firm {org_id}", "kind": "firm",
                         "size_class": rng.choice(["micro", "small", "medium"]), "sector": sector,
                         "locality": rng.choice(LOCALITIES), "created_at": cluster.formed})
            links.append({"group_id": group_id, "organisation_id": org_id, "added_at": cluster.formed})
        borrowers[first_fund + i] = org_ids
        users.append({"id": user_id, "email": f"lead{i + 1:03d}@bench.example", "name": f"Lead {i + 1}",
                      "password_hash": password_hash, "active": True, "created_at": started, "session_version": 1,
                      "organisation_id": org_ids[0]})
        roles.append({"user_id": user_id, "role": Role.APPLICANT.value, "granted_at": started})
        members.append({"group_id": group_id, "user_id": user_id, "role": "lead", "joined_at": started})
        proposals.append({"id": first_proposal + i, "call_id": call.id, "group_id": group_id,
                          "reference": reference.format(call=call.reference, n=i + 1),
                          "title": f"The {sector} cluster {i + 1}", "status": "funded",
                          "created_at": cluster.proposed, "updated_at": started, "sector": sector,
                          "territory": rng.choice(LOCALITIES),
                          "stage": rng.choice(stages) if len(stages) > 1 else stages[0], "main_problem": "",
                          "market_failure": "", "objectives": "", "sustainability_plan": "",
                          "requested_amount": Decimal("30000.00"), "latest_version": 1,
                          "submitted_at": cluster.submitted})
        initiatives.append({"id": first_initiative + i, "reference": f"INI-{i + 1:04d}",
                            "name": f"The {sector} cluster {i + 1}", "call_id": call.id,
                            "proposal_id": first_proposal + i, "group_id": group_id, "status": cluster.status,
                            "currency": call.currency, "started_at": started})
        funds.append({"id": first_fund + i, "initiative_id": first_initiative + i, "currency": call.currency,
                      "created_at": started})
        info.append({"id": first_initiative + i, "call": call, "started": started.date(), "status": cluster.status,
                     "user_id": user_id, "orgs": org_ids, "fund_id": first_fund + i})
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
    return {"initiatives": info, "borrowers": borrowers, "fund_ids": [f["id"] for f in funds]}


# ---------------------------------------------------------------------------------------------
# Loan books


def plan_loans(count: int, rng: random.Random, world: dict, as_of: date) -> list[dict]:
    """Each loan's terms and its borrower's behaviour (no instalments yet), disbursed in the five years before
    ``as_of`` from the funds of ``world``."""
    fund_ids = world["fund_ids"]
    weights = [rng.uniform(0.3, 1.7) for _ in fund_ids]
    specs = []
    span = (as_of - (as_of - relativedelta(years=5))).days
    for n in range(count):
        fund_id = rng.choices(fund_ids, weights=weights)[0]
        disbursed = as_of - timedelta(days=rng.randint(1, span))
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


def write_loans(specs: list[dict], world: dict, ledger: Ledger, rng: random.Random, as_of: date) -> dict:
    """The loans, their instalments with what was paid by ``as_of``, and their ledger entries, in batches. The
    reminders of the days before are marked (``reminded_on``) as the daily job would have left them."""
    ids, currency = world["ids"], world["currency"]
    stats = {"instalments": 0, "closed": 0}
    for start in range(0, len(specs), CHUNK):
        loans, instalments = [], []
        for spec in specs[start:start + CHUNK]:
            loan_id = ids.take("loans")
            schedule = schedule_of(spec, currency)
            due = [k for k, (day, _, _) in enumerate(schedule) if day <= as_of]  # paid on the day when on time
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
                elif k == paid_count and day < as_of and spec["partial"]:
                    row["interest_paid"] = i
                    row["principal_paid"] = (p / 2).quantize(Decimal("0.01"))
                    last_paid = day + timedelta(days=10)
                # The reminders of the days before, as the daily job would have left them.
                unpaid = p + i - row["principal_paid"] - row["interest_paid"] - row["interest_cancelled"]
                if unpaid > 0 and not early:
                    if as_of <= day < as_of + timedelta(days=7):
                        row["reminded_on"] = day - timedelta(days=7)
                    elif day < as_of:
                        row["reminded_on"] = day + timedelta(days=1) if (as_of - day).days > 1 else day - timedelta(7)
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
                ledger.entry(f"bench:repayments:{loan_id}", last_paid or as_of,
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
                "created_by_id": world["admin_id"], "created_at": day_of(spec["disbursed_on"]),
                "journal_entry_id": entry_id,
            })
        ledger.flush()
        bulk(Loan.__table__, loans)
        bulk(LoanInstalment.__table__, instalments)
        db.session.commit()
        stats["instalments"] += len(instalments)
        progress(f"  {min(start + CHUNK, len(specs))}/{len(specs)} loans")
    return stats


# ---------------------------------------------------------------------------------------------
# The loans benchmark's world (also the foresight benchmark's)


class Plan:
    def __init__(self, scale: float) -> None:
        self.funds = max(4, round(200 * scale))
        self.loans = max(20, round(20_000 * scale))
        self.borrowers_per_fund = 8


def make_world(plan: Plan, rng: random.Random, app) -> dict:
    """The call, ``plan.funds`` clusters with their initiatives in implementation and their funds."""
    admin = add_user(ADMIN, "Bench Administrator", Role.FUND_ADMINISTRATOR)
    manager = add_user(MANAGER, "Bench Manager", Role.PROGRAMME_MANAGER)
    call = calls.create_call("cluster-contest.toml", rules_folder=app.config["RULES_FOLDER"],
                             timezone=app.config["PROGRAMME_TIMEZONE"], actor=manager, now=STARTED)
    db.session.commit()
    ids = Ids()
    cluster = Cluster(call=call, status="implementation", started=STARTED, formed=STARTED, proposed=STARTED,
                      submitted=STARTED)
    clusters = write_clusters(plan.funds, lambda i: cluster, rng, ids, borrowers_per_fund=plan.borrowers_per_fund)
    return {"ids": ids, "call": call, "admin_id": admin.id, "currency": call.currency,
            "borrowers": clusters["borrowers"], "fund_ids": clusters["fund_ids"]}


def capitalise(specs: list[dict], world: dict, ledger: Ledger) -> None:
    """The call's budget and each fund's capitalisation: its loans' principals and 5 % more."""
    call = world["call"]
    lent = lent_per_fund(specs)
    amounts = {fund_id: capital_for(lent.get(fund_id, ZERO)) for fund_id in world["fund_ids"]}
    total = sum(amounts.values(), ZERO)
    budget = ledger.account(AccountKind.PROGRAMME_BUDGET, "call", call.id)
    ledger.entry(f"bench:budget:{call.id}", date(2027, 1, 1), f"Budget of {call.reference}",
                 [(budget, total, ZERO), (ledger.account(AccountKind.PROGRAMME_FUNDS, "programme", None), ZERO, total)])
    day = AS_OF - relativedelta(years=5) - timedelta(days=10)
    rows = [capitalisation(ledger, fund_id, amount, day, budget, world["admin_id"], STARTED)
            for fund_id, amount in amounts.items()]
    db.session.execute(update(Call.__table__).where(Call.__table__.c.id == call.id).values(budget=total))
    ledger.flush()
    bulk(Capitalisation.__table__, rows)
    db.session.commit()


def loan_world(plan: Plan, rng: random.Random, app) -> tuple[dict, list[dict], Ledger]:
    """The loans benchmark's world, capitalised, and its loans planned (not written: ``write_loans``)."""
    progress(f"generating {plan.funds} initiatives with their funds, {plan.loans} loans of {TERM} instalments")
    world = make_world(plan, rng, app)
    specs = plan_loans(plan.loans, rng, world, AS_OF)
    ledger = Ledger(world["ids"], world["currency"])
    capitalise(specs, world, ledger)
    return world, specs, ledger
