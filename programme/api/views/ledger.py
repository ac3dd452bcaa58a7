"""The ledger, for an accounting system: the trial balance on a day, and the journal entries page by page in the
order they were posted. Programme managers, fund administrators and auditors."""

from __future__ import annotations

from spectree import Response

from programme.api import auth
from programme.api.pagination import page_of, read_cursor
from programme.api.schemas import (
    AsOfQuery,
    EntryQuery,
    JournalEntryOut,
    JournalLineOut,
    Page,
    Problem,
    TrialBalanceOut,
    TrialBalanceRow,
)
from programme.api.spec import NEEDS_TOKEN, api_spec
from programme.api.views._common import bp
from programme.ledger import reading

REFUSED = {"HTTP_401": Problem, "HTTP_403": Problem, "HTTP_422": Problem}


@bp.get("/ledger/trial-balance")
@api_spec.validate(query=AsOfQuery, resp=Response(HTTP_200=TrialBalanceOut, **REFUSED), tags=["ledger"],
                   security=NEEDS_TOKEN)
def trial_balance(query: AsOfQuery):
    """Every account's debits, credits and balance at the end of a day, and whether debits equal credits."""
    balance = reading.trial_balance_for(actor=auth.acting(), as_of=query.as_of)
    return TrialBalanceOut(as_of=query.as_of, balanced=balance.balanced, rows=[
        TrialBalanceRow(code=row.account.code, kind=row.account.kind.value, currency=row.account.currency,
                        debits=row.debits, credits=row.credits, balance=row.balance) for row in balance.rows])


@bp.get("/ledger/entries")
@api_spec.validate(query=EntryQuery, resp=Response(HTTP_200=Page[JournalEntryOut], **REFUSED), tags=["ledger"],
                   security=NEEDS_TOKEN)
def entries(query: EntryQuery):
    """The journal entries in the order they were posted, page by page, optionally of a period (value dates)."""
    rows = reading.entries_after(actor=auth.acting(), after_id=read_cursor(query.cursor), limit=query.limit + 1,
                                 date_from=query.date_from, date_to=query.date_to)
    shown, cursor = page_of(rows, query.limit, key=lambda entry: entry.id)
    return Page[JournalEntryOut](items=[JournalEntryOut(
        id=e.id, value_date=e.value_date, posted_at=e.posted_at, description=e.description, reverses_id=e.reverses_id,
        lines=[JournalLineOut(account=line.account.code, currency=line.account.currency, debit=line.debit,
                              credit=line.credit) for line in e.lines]) for e in shown], next_cursor=cursor)
