"""The double-entry ledger: balanced postings, idempotency, reversals, append-only, balances, checks,
and (on PostgreSQL) two sessions posting at once."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import IntegrityError

from programme.core.access import Role
from programme.extensions import db
from programme.ledger.balances import balance, balances, trial_balance
from programme.ledger.checks import check_ledger
from programme.ledger.models import Account, AccountKind, JournalEntry, JournalLine, LedgerError, Side
from programme.ledger.posting import (
    Line,
    check_balanced,
    credit,
    debit,
    get_or_create_account,
    post_entry,
    reversal_of,
    reverse_entry,
)
from tests.conftest import SETUP
from tests.races import at_once

D = Decimal
JAN, FEB, MAR = date(2025, 1, 15), date(2025, 2, 15), date(2025, 3, 15)
NOW = datetime(2025, 3, 20, 9, 0, tzinfo=UTC)


def counts() -> tuple[int, int]:
    return (
        db.session.scalar(select(func.count()).select_from(JournalEntry)),
        db.session.scalar(select(func.count()).select_from(JournalLine)),
    )


@pytest.fixture
def accounts(app) -> dict[str, Account]:
    made = {
        "budget": get_or_create_account(AccountKind.PROGRAMME_BUDGET, "call", 3, "EUR"),
        "funds": get_or_create_account(AccountKind.PROGRAMME_FUNDS, "programme", None, "EUR"),
        "cash": get_or_create_account(AccountKind.REVOLVING_FUND_CASH, "initiative", 7, "EUR"),
        "loan": get_or_create_account(AccountKind.LOANS_RECEIVABLE, "loan", 12, "EUR"),
        "interest": get_or_create_account(AccountKind.INTEREST_INCOME, "fund", 7, "EUR"),
        "grants": get_or_create_account(AccountKind.GRANTS_PAID, "initiative", 7, "EUR"),
        "usd": get_or_create_account(AccountKind.GRANTS_PAID, "initiative", 8, "USD"),
    }
    db.session.commit()
    return made


def post(lines: list[Any], key: str = "k-1", value_date: date = JAN, **kwargs: Any) -> JournalEntry:
    return post_entry(
        lines=lines, description=kwargs.pop("description", "test"), value_date=value_date,
        idempotency_key=key, actor=kwargs.pop("actor", SETUP), now=NOW, **kwargs,
    )


def lend(accounts: dict[str, Account], amount: str = "1000.00", key: str = "k-1", when: date = JAN) -> JournalEntry:
    return post([debit(accounts["loan"], D(amount)), credit(accounts["cash"], D(amount))], key=key, value_date=when)


# ------------------------------------------------------------------------------------- the pure check


def _acct(currency: str = "EUR") -> Account:
    """A transient account: check_balanced needs only its currency, no database."""
    return Account(code=f"x:{currency}", kind=AccountKind.GRANTS_PAID, normal_side=Side.DEBIT, currency=currency)


def test_check_balanced_accepts_and_normalises() -> None:
    a, b, c = _acct(), _acct(), _acct()
    lines = check_balanced([(a, D("10.5"), D(0)), Line(b, credit=D("4.5")), credit(c, 6)])
    assert [(line.debit, line.credit) for line in lines] == [(D("10.50"), D("0.00")), (D("0.00"), D("4.50")),
                                                            (D("0.00"), D("6.00"))]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([(0, "10.00", "0"), (1, "0", "9.99")], "do not equal"),
        ([(0, 10.0, "0"), (1, "0", "10.00")], "Decimal, not float"),
        ([(0, True, "0"), (1, "0", "1")], "Decimal, not bool"),
        ([(0, "10.001", "0"), (1, "0", "10.001")], "more than 2 decimal places"),
        ([(0, "0", "0"), (1, "0", "0")], "exactly one of debit and credit"),
        ([(0, "-5.00", "0"), (1, "0", "-5.00")], "never negative"),
        ([(0, "5.00", "5.00"), (1, "0", "0")], "exactly one of debit and credit"),
        ([(0, "5.00", "0")], "at least two lines"),
        ([], "at least two lines"),
        ([(0, "NaN", "0"), (1, "0", "NaN")], "not a finite amount"),
        ([(0, "1000000000000.00", "0"), (1, "0", "1000000000000.00")], "too large"),
    ],
)
def test_check_balanced_refuses(lines: list[tuple[int, Any, Any]], message: str) -> None:
    accts = [_acct(), _acct()]

    def amount(value: Any) -> Any:
        return D(value) if isinstance(value, str) else value

    with pytest.raises(LedgerError, match=message):
        check_balanced([(accts[i], amount(d), amount(c)) for i, d, c in lines])


def test_check_balanced_refuses_strings_mixed_currencies_and_unit_of_the_currency() -> None:
    with pytest.raises(LedgerError, match="Decimal, not str"):
        check_balanced([(_acct(), "1.00", D(0)), (_acct(), D(0), D("1.00"))])
    with pytest.raises(LedgerError, match="one currency"):
        check_balanced([debit(_acct("EUR"), D(1)), credit(_acct("USD"), D(1))])
    with pytest.raises(LedgerError, match="more than 0 decimal places"):
        check_balanced([debit(_acct("JPY"), D("1.50")), credit(_acct("JPY"), D("1.50"))])
    assert check_balanced([debit(_acct("JPY"), D(150)), credit(_acct("JPY"), D(150))])


# ---------------------------------------------------------------------------------------------- posting


def test_balanced_posting_is_written_and_flushed_not_committed(accounts: dict[str, Account], make_user) -> None:
    admin = make_user("admin@example.org", Role.FUND_ADMINISTRATOR)
    entry = post(
        [debit(accounts["loan"], D("1000.00")), credit(accounts["cash"], D("1000.00"))],
        actor=admin, source=("loan", 12), description="Loan 12 drawn",
    )
    assert entry.id is not None
    assert (entry.actor_id, entry.actor_label) == (admin.id, admin.actor_label)
    assert (entry.source_type, entry.source_id, entry.value_date, entry.posted_at) == ("loan", 12, JAN, NOW)
    assert [(line.account.code, line.debit, line.credit) for line in entry.lines] == [
        ("loans_receivable:loan:12", D("1000.00"), D("0.00")),
        ("revolving_fund_cash:initiative:7", D("0.00"), D("1000.00")),
    ]
    db.session.rollback()  # never committed: the caller commits
    assert counts() == (0, 0)


@pytest.mark.parametrize(
    "amounts",
    [
        (D("10.00"), D("9.99")),  # unbalanced
        (10.0, 10.0),  # float
        (D("10.005"), D("10.005")),  # three decimals
        (D("0"), D("0")),  # zero
        (D("-10.00"), D("-10.00")),  # negative
        (D("10.00"), None),  # one line
    ],
    ids=["unbalanced", "float", "three-decimals", "zero", "negative", "one-line"],
)
def test_refused_postings_write_nothing(accounts: dict[str, Account], amounts: tuple[Any, Any]) -> None:
    debit_amount, credit_amount = amounts
    lines = [Line(accounts["loan"], debit=debit_amount)]
    if credit_amount is not None:
        lines.append(Line(accounts["cash"], credit=credit_amount))
    with pytest.raises(LedgerError):
        post(lines)
    db.session.commit()
    assert counts() == (0, 0)


def test_other_refusals(accounts: dict[str, Account]) -> None:
    with pytest.raises(LedgerError, match="one currency"):
        post([debit(accounts["grants"], D(5)), credit(accounts["usd"], D(5))])
    with pytest.raises(LedgerError, match="idempotency key"):
        post([debit(accounts["loan"], D(5)), credit(accounts["cash"], D(5))], key="")
    with pytest.raises(LedgerError, match="value date"):
        post([debit(accounts["loan"], D(5)), credit(accounts["cash"], D(5))], value_date=NOW)  # type: ignore[arg-type]
    db.session.commit()
    assert counts() == (0, 0)


def test_idempotent_retry_returns_the_same_entry_and_writes_nothing(accounts: dict[str, Account]) -> None:
    first = lend(accounts)
    db.session.commit()
    first_id, loan_id, cash_id = first.id, accounts["loan"].id, accounts["cash"].id
    db.session.expunge_all()  # as a retried request would: a fresh session
    loan, cash = db.session.get(Account, loan_id), db.session.get(Account, cash_id)
    again = lend({"loan": loan, "cash": cash})
    assert again.id == first_id
    # The same lines in another order, amounts written otherwise, are the same posting.
    reordered = post([credit(cash, D("1000.00")), debit(loan, D("1000"))])
    assert reordered.id == first_id
    db.session.commit()
    assert counts() == (1, 2)


def test_same_key_with_other_lines_is_refused(accounts: dict[str, Account]) -> None:
    lend(accounts, "1000.00")
    db.session.commit()
    with pytest.raises(LedgerError, match="already used by entry"):
        lend(accounts, "1000.01")
    with pytest.raises(LedgerError, match="already used by entry"):
        post([debit(accounts["grants"], D("1000.00")), credit(accounts["cash"], D("1000.00"))])
    db.session.commit()
    assert counts() == (1, 2)


# -------------------------------------------------------------------------------------------- reversals


def test_reversal_mirrors_links_and_zeroes_the_balances(accounts: dict[str, Account]) -> None:
    entry = post([debit(accounts["cash"], D("103.00")), credit(accounts["loan"], D("100.00")),
                  credit(accounts["interest"], D("3.00"))], key="bank:REF-1", source=("repayment", 4))
    db.session.commit()
    assert (balance(accounts["cash"]), balance(accounts["loan"]), balance(accounts["interest"])) == (
        D("103.00"), D("-100.00"), D("3.00"))

    reversal = reverse_entry(entry, reason="wrong loan", idempotency_key="rev:1", actor=SETUP, now=NOW)
    db.session.commit()
    assert reversal.reverses_id == entry.id
    assert reversal_of(entry).id == reversal.id
    assert reversal.value_date == entry.value_date
    assert (reversal.source_type, reversal.source_id) == ("repayment", 4)
    assert "wrong loan" in reversal.description
    assert sorted((line.account_id, line.debit, line.credit) for line in reversal.lines) == sorted(
        (line.account_id, line.credit, line.debit) for line in entry.lines
    )
    for account in accounts.values():
        assert balance(account) == D("0.00")

    # A retry of the same reversal returns it; a second reversal is refused.
    assert reverse_entry(entry, reason="wrong loan", idempotency_key="rev:1", actor=SETUP).id == reversal.id
    with pytest.raises(LedgerError, match=f"already reversed by entry {reversal.id}"):
        reverse_entry(entry, reason="again", idempotency_key="rev:2", actor=SETUP)
    db.session.commit()
    assert counts() == (2, 6)
    assert check_ledger() == []


def test_the_unique_constraint_backs_the_single_reversal(accounts: dict[str, Account]) -> None:
    """Even past the service's own check, the database refuses a second reversal of an entry."""
    entry = lend(accounts)
    reverse_entry(entry, reason="typo", idempotency_key="rev:1", actor=SETUP)
    db.session.commit()
    with pytest.raises(IntegrityError, match="(?i)unique|duplicate"):
        db.session.add(JournalEntry(
            value_date=JAN, description="x", idempotency_key="rev:2", reverses_id=entry.id, actor_label="x",
            lines=[JournalLine(account=accounts["loan"], credit=D(1)),
                   JournalLine(account=accounts["cash"], debit=D(1))],
        ))
        db.session.flush()
    db.session.rollback()
    assert counts() == (2, 4)


def test_a_reversal_needs_a_reason_and_a_posted_entry(accounts: dict[str, Account]) -> None:
    entry = lend(accounts)
    with pytest.raises(LedgerError, match="reason"):
        reverse_entry(entry, reason=" ", idempotency_key="rev:1", actor=SETUP)
    with pytest.raises(LedgerError, match="posted entry"):
        reverse_entry(JournalEntry(), reason="x", idempotency_key="rev:1", actor=SETUP)


# ---------------------------------------------------------------------------------------- append-only


def _refused(change: Callable[[], Any]) -> None:
    with pytest.raises(LedgerError, match="append-only"):
        change()
        db.session.flush()
    db.session.rollback()


def test_entries_and_lines_cannot_be_updated_or_deleted(accounts: dict[str, Account]) -> None:
    lend(accounts)
    db.session.commit()

    def entry() -> JournalEntry:
        return db.session.scalars(select(JournalEntry)).one()

    def line() -> JournalLine:
        return db.session.scalars(select(JournalLine).order_by(JournalLine.id)).first()

    _refused(lambda: setattr(entry(), "description", "changed"))
    _refused(lambda: setattr(entry(), "value_date", FEB))
    _refused(lambda: db.session.delete(entry()))
    _refused(lambda: setattr(line(), "debit", D("999.00")))
    _refused(lambda: db.session.delete(line()))
    _refused(lambda: setattr(accounts["cash"], "currency", "USD"))
    _refused(lambda: db.session.execute(update(JournalLine).values(debit=D("1.00"))))
    _refused(lambda: db.session.execute(delete(JournalEntry)))
    # A line added to an entry already posted would unbalance it.
    posted = entry()
    _refused(lambda: posted.lines.append(JournalLine(account=accounts["loan"], debit=D("5.00"))))
    _refused(lambda: db.session.add(JournalLine(entry_id=entry().id, account_id=accounts["loan"].id, debit=D(5))))
    # An entry built by hand still has to balance.
    with pytest.raises(LedgerError, match="do not equal"):
        db.session.add(JournalEntry(
            value_date=JAN, description="x", idempotency_key="hand", actor_label="x",
            lines=[JournalLine(account=accounts["loan"], debit=D(2)),
                   JournalLine(account=accounts["cash"], credit=D(1))],
        ))
        db.session.flush()
    db.session.rollback()

    assert counts() == (1, 2)
    assert entry().description == "test"
    assert balance(accounts["loan"]) == D("1000.00")


# --------------------------------------------------------------------------------------------- balances


def test_balances_are_signed_by_the_normal_side_and_taken_as_of_a_value_date(accounts: dict[str, Account]) -> None:
    budget, funds, cash, loan = accounts["budget"], accounts["funds"], accounts["cash"], accounts["loan"]
    post([debit(budget, D("50000.00")), credit(funds, D("50000.00"))], key="budget", value_date=JAN)
    post([debit(cash, D("20000.00")), credit(budget, D("20000.00"))], key="capitalise", value_date=JAN)
    lend(accounts, "5000.00", key="loan-1", when=FEB)
    post([debit(cash, D("400.00")), credit(loan, D("380.00")), credit(accounts["interest"], D("20.00"))],
         key="repay-1", value_date=MAR)
    db.session.commit()

    assert balance(funds) == D("50000.00")  # credit-normal: positive
    assert balance(budget) == D("30000.00")
    assert balance(cash) == D("15400.00")
    assert balance(loan) == D("4620.00")
    assert balance(accounts["interest"]) == D("20.00")
    assert balance(accounts["grants"]) == D("0.00")

    assert balance(cash, as_of=date(2025, 1, 14)) == D("0.00")
    assert balance(cash, as_of=JAN) == D("20000.00")
    assert balance(cash, as_of=FEB) == D("15000.00")
    assert balance(loan, as_of=date(2025, 3, 14)) == D("5000.00")
    assert balances([cash, loan, accounts["grants"]], as_of=FEB) == {
        cash: D("15000.00"), loan: D("5000.00"), accounts["grants"]: D("0.00"),
    }
    assert balances([]) == {}


def test_balances_are_exact_in_cents_even_on_sqlite(accounts: dict[str, Account]) -> None:
    for n in range(10):
        lend(accounts, "0.10", key=f"dime-{n}")
    lend(accounts, "999999999999.99", key="big-1")
    lend(accounts, "0.01", key="big-2")
    db.session.commit()
    assert balance(accounts["loan"]) == D("1000000000001.00")
    assert balance(accounts["cash"]) == D("-1000000000001.00")


def test_trial_balance_totals_are_equal(accounts: dict[str, Account]) -> None:
    post([debit(accounts["budget"], D("50000.00")), credit(accounts["funds"], D("50000.00"))], key="budget")
    post([debit(accounts["cash"], D("20000.00")), credit(accounts["budget"], D("20000.00"))], key="capitalise")
    lend(accounts, "1234.56", key="loan-1", when=FEB)
    db.session.commit()

    trial = trial_balance()
    assert trial.balanced
    assert trial.total_debits == trial.total_credits == D("71234.56")
    rows = {row.account.code: (row.debits, row.credits, row.balance) for row in trial.rows}
    assert rows["programme_budget:call:3"] == (D("50000.00"), D("20000.00"), D("30000.00"))
    assert rows["programme_funds:programme"] == (D("0.00"), D("50000.00"), D("50000.00"))
    assert rows["revolving_fund_cash:initiative:7"] == (D("20000.00"), D("1234.56"), D("18765.44"))
    assert rows["grants_paid:initiative:8"] == (D("0.00"), D("0.00"), D("0.00"))
    assert [row.account.code for row in trial.rows] == sorted(rows)
    assert trial_balance(as_of=JAN).total_debits == D("70000.00")
    assert check_ledger() == []


# ------------------------------------------------------------------------------------------ the check


def _raw_entry(key: str, lines: list[tuple[int, str, str]]) -> int:
    entry_id = db.session.execute(
        text(
            "INSERT INTO journal_entries (posted_at, value_date, description, idempotency_key, actor_label) "
            "VALUES (:posted, :value_date, 'raw', :key, 'raw sql') RETURNING id"
        ),
        {"posted": "2025-01-15 10:00:00", "value_date": "2025-01-15", "key": key},
    ).scalar_one()
    for account_id, debit_amount, credit_amount in lines:
        db.session.execute(
            text("INSERT INTO journal_lines (entry_id, account_id, debit, credit) VALUES (:e, :a, :d, :c)"),
            {"e": entry_id, "a": account_id, "d": debit_amount, "c": credit_amount},
        )
    return entry_id


def test_check_ledger_finds_what_raw_sql_broke(accounts: dict[str, Account]) -> None:
    lend(accounts)
    db.session.commit()
    assert check_ledger() == []
    loan, cash = accounts["loan"].id, accounts["cash"].id

    unbalanced = _raw_entry("raw-1", [(loan, "10.00", "0"), (cash, "0", "9.99")])
    lonely = _raw_entry("raw-2", [(loan, "0.10", "0")])
    db.session.commit()
    problems = check_ledger()
    assert f"entry {unbalanced} is unbalanced: debits 10.00, credits 9.99" in problems
    assert f"entry {lonely} is unbalanced: debits 0.10, credits 0.00" in problems
    assert f"entry {lonely} has 1 line(s); an entry needs at least two" in problems
    assert "total debits 1010.10 differ from total credits 1009.99" in problems
    assert not trial_balance().balanced


def test_check_ledger_finds_lines_with_both_sides_or_neither(accounts: dict[str, Account]) -> None:
    """The check constraint keeps such lines out; with it lifted (inside this transaction only), the
    check still finds them."""
    sqlite = db.engine.dialect.name == "sqlite"
    loan, cash = accounts["loan"].id, accounts["cash"].id
    try:
        if sqlite:  # a per-connection setting: turned off again below, on the same connection
            db.session.execute(text("PRAGMA ignore_check_constraints = ON"))
        else:  # DDL is transactional in PostgreSQL: the rollback below restores the constraint
            db.session.execute(text("ALTER TABLE journal_lines DROP CONSTRAINT ck_journal_lines_one_side"))
        both = _raw_entry("raw-1", [(loan, "5.00", "5.00"), (cash, "0", "0")])
        problems = check_ledger()
    finally:
        if sqlite:
            db.session.execute(text("PRAGMA ignore_check_constraints = OFF"))
        db.session.rollback()
    assert f"line 1 of entry {both} has debit 5.00 and credit 5.00: exactly one side must be positive" in problems
    assert f"line 2 of entry {both} has debit 0.00 and credit 0.00: exactly one side must be positive" in problems


def test_check_ledger_finds_a_reversal_that_does_not_mirror(accounts: dict[str, Account]) -> None:
    entry = lend(accounts, "100.00")
    db.session.commit()
    fake = _raw_entry("raw-rev", [(accounts["loan"].id, "0", "90.00"), (accounts["cash"].id, "90.00", "0")])
    db.session.execute(text("UPDATE journal_entries SET reverses_id = :o WHERE id = :r"), {"o": entry.id, "r": fake})
    db.session.commit()
    assert check_ledger() == [f"entry {fake} does not mirror entry {entry.id}, which it reverses"]


# ------------------------------------------------------------------------------------------- accounts


def test_get_or_create_account(app) -> None:
    account = get_or_create_account(AccountKind.LOANS_RECEIVABLE, "loan", 12, "EUR")
    assert (account.code, account.normal_side, account.owner_type, account.owner_id) == (
        "loans_receivable:loan:12", Side.DEBIT, "loan", 12)
    assert get_or_create_account(AccountKind.INTEREST_INCOME, "fund", 7, "EUR").normal_side is Side.CREDIT
    db.session.commit()
    assert get_or_create_account("loans_receivable", "loan", 12, "EUR").id == account.id
    with pytest.raises(LedgerError, match="is in EUR, not USD"):
        get_or_create_account(AccountKind.LOANS_RECEIVABLE, "loan", 12, "USD")
    with pytest.raises(LedgerError, match="currency"):
        get_or_create_account(AccountKind.LOANS_RECEIVABLE, "loan", 13, "eur")
    with pytest.raises(LedgerError, match="owner type"):
        get_or_create_account(AccountKind.LOANS_RECEIVABLE, "Loan:1", 13, "EUR")
    assert db.session.scalar(select(func.count()).select_from(Account)) == 2


def test_the_database_refuses_a_normal_side_against_the_kind(app) -> None:
    db.session.add(Account(code="x", kind=AccountKind.INTEREST_INCOME, normal_side=Side.DEBIT, owner_type="fund",
                           owner_id=1, currency="EUR"))
    with pytest.raises(IntegrityError, match="(?i)check"):
        db.session.flush()
    db.session.rollback()


# ------------------------------------------------------------------------------ two sessions at once

postgres_only = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "").startswith("postgres"),
    reason="needs PostgreSQL (TEST_DATABASE_URL): SQLite serialises writers, so there is no race to prove",
)


@postgres_only
@pytest.mark.commits
def test_two_sessions_posting_the_same_key_make_one_entry(app, accounts: dict[str, Account]) -> None:
    loan_id, cash_id = accounts["loan"].id, accounts["cash"].id

    def work() -> int:
        loan, cash = db.session.get(Account, loan_id), db.session.get(Account, cash_id)
        entry = post([debit(loan, D("250.00")), credit(cash, D("250.00"))], key="bank:REF-42")
        return entry.id

    ids = at_once(app, [work, work], expected=(LedgerError,))
    db.session.expire_all()
    assert counts() == (1, 2)
    assert ids[0] == ids[1] == db.session.scalar(select(JournalEntry.id))
    assert balance(db.session.get(Account, loan_id)) == D("250.00")


@postgres_only
@pytest.mark.commits
def test_two_sessions_reversing_one_entry_make_one_reversal(app, accounts: dict[str, Account]) -> None:
    entry_id = lend(accounts).id
    db.session.commit()
    keys = iter(["rev:a", "rev:b"])
    lock = threading.Lock()

    def work() -> int:
        with lock:
            key = next(keys)
        return reverse_entry(db.session.get(JournalEntry, entry_id), reason="x", idempotency_key=key, actor=SETUP).id

    results = at_once(app, [work, work], expected=(LedgerError,))
    db.session.expire_all()
    assert counts() == (2, 4)
    winners = [r for r in results if isinstance(r, int)]
    losers = [r for r in results if isinstance(r, LedgerError)]
    assert len(winners) == 1 and len(losers) == 1
    assert f"already reversed by entry {winners[0]}" in str(losers[0])


@postgres_only
@pytest.mark.commits
def test_two_sessions_creating_one_account_make_one(app) -> None:
    ids = at_once(app, [lambda: get_or_create_account(AccountKind.GRANTS_PAID, "initiative", 99, "EUR").id] * 2,
                  expected=(LedgerError,))
    assert ids[0] == ids[1]
    assert db.session.scalar(select(func.count()).select_from(Account)) == 1


# The race's losing path, on both databases: the first look finds nothing (the winner had not committed
# yet), the insert meets the unique constraint, the savepoint is rolled back, and the winner's row is used.


def _blind_once(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    import programme.ledger.posting as ledger

    real = getattr(ledger, name)
    calls = iter([True])

    def blind(*args: Any) -> Any:
        return None if next(calls, False) else real(*args)

    monkeypatch.setattr(ledger, name, blind)


def test_losing_a_race_for_a_key_returns_the_winner_and_keeps_the_rest_of_the_transaction(
    accounts: dict[str, Account], monkeypatch: pytest.MonkeyPatch
) -> None:
    winner = lend(accounts, key="bank:REF-7")
    db.session.commit()
    earlier = post([debit(accounts["grants"], D("5.00")), credit(accounts["budget"], D("5.00"))], key="earlier")
    _blind_once(monkeypatch, "_by_key")
    assert lend(accounts, key="bank:REF-7").id == winner.id
    _blind_once(monkeypatch, "_by_key")
    with pytest.raises(LedgerError, match="already used"):
        lend(accounts, "1.00", key="bank:REF-7")
    db.session.commit()
    assert earlier.id is not None
    assert counts() == (2, 4)


def test_losing_a_race_to_reverse_is_refused(accounts: dict[str, Account], monkeypatch: pytest.MonkeyPatch) -> None:
    entry = lend(accounts)
    first = reverse_entry(entry, reason="typo", idempotency_key="rev:1", actor=SETUP)
    db.session.commit()
    _blind_once(monkeypatch, "reversal_of")
    with pytest.raises(LedgerError, match=f"already reversed by entry {first.id}"):
        reverse_entry(entry, reason="typo", idempotency_key="rev:2", actor=SETUP)
    db.session.commit()
    assert counts() == (2, 4)


def test_losing_a_race_for_an_account_returns_the_winner(app, monkeypatch: pytest.MonkeyPatch) -> None:
    winner = get_or_create_account(AccountKind.GRANTS_PAID, "initiative", 9, "EUR")
    db.session.commit()
    _blind_once(monkeypatch, "_account_by_code")
    assert get_or_create_account(AccountKind.GRANTS_PAID, "initiative", 9, "EUR").id == winner.id
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Account)) == 1
