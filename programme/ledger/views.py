"""The ledger pages: the trial balance (per account kind and per account) with the checks that prove the ledger
and every balance derived from it agree, and its Excel exports (the trial balance, the entries of a period).

Programme managers, fund administrators and auditors only: anyone else gets 403, an anonymous visitor the login
page. The pages change nothing (GET only; their forms read the query string).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from programme.core.access import Actor, Role, require_role
from programme.core.forms import ActionForm
from programme.core.kept import Kept, database_key, newest_rows
from programme.core.texts import gettext as _
from programme.core.web import actor, attempt, now, send_workbook
from programme.ledger.balances import (
    CurrencyTotal,
    KindTotal,
    TrialBalance,
    currency_totals,
    kind_totals,
    trial_balance,
)
from programme.ledger.checks import entries_since, latest_run, run_checks
from programme.ledger.export import write_ledger, write_trial_balance
from programme.ledger.forms import AsOfForm, PeriodForm
from programme.ledger.models import Account, JournalEntry
from programme.ledger.naming import account_names
from programme.ledger.reading import require_ledger_reader

bp = Blueprint("ledger", __name__)


@dataclass(frozen=True)
class LedgerFigures:
    """What the ledger page shows of a version of the ledger: the trial balance and its sums per account kind and
    per currency."""

    balance: TrialBalance
    kinds: list[KindTotal]
    currencies: list[CurrencyTotal]

    @classmethod
    def of(cls, balance: TrialBalance) -> LedgerFigures:
        return cls(balance, kind_totals(balance), currency_totals(balance))


#: The trial balance and its sums per version of the ledger (entries are never changed, so the newest entries and
#: accounts are its version) and per as-of date.
_figures_kept: Kept[LedgerFigures] = Kept(8)
#: How many entries were posted after a run of the checks, per version of the ledger and run.
_posted_since_kept: Kept[int] = Kept(8)

#: Accounts per page of the per-account table.
PER_PAGE = 50

def may_run_checks(user: Actor) -> bool:
    return user.has_role(Role.PROGRAMME_MANAGER) or user.has_role(Role.FUND_ADMINISTRATOR)


def _page(as_of_form: AsOfForm, period_form: PeriodForm, status: int = 200):
    as_of = as_of_form.as_of.data if not as_of_form.as_of.errors else None
    version = (database_key(), newest_rows(JournalEntry.id, Account.id))
    figures = _figures_kept.get((version, as_of), lambda: LedgerFigures.of(trial_balance(as_of)))
    balance = figures.balance
    check = latest_run()
    posted_since = _posted_since_kept.get((version, check.id if check is not None else None),
                                          lambda: entries_since(check))
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    pages = max(1, math.ceil(len(balance.rows) / PER_PAGE))
    page = min(page, pages)
    rows = balance.rows[(page - 1) * PER_PAGE:page * PER_PAGE]
    return render_template(
        "ledger/index.html", balance=balance, as_of=as_of, kinds=figures.kinds,
        currencies=figures.currencies, rows=rows, names=account_names(row.account for row in rows), page=page,
        pages=pages, check=check, posted_since=posted_since, as_of_form=as_of_form,
        period_form=period_form, today=now().date(), may_run_checks=may_run_checks(actor()),
        check_form=ActionForm(),
    ), status


@bp.route("/ledger")
@login_required
def index():
    require_ledger_reader(actor())
    as_of_form = AsOfForm(formdata=request.args)
    valid = as_of_form.validate()
    return _page(as_of_form, PeriodForm(formdata=None), 200 if valid else 400)


@bp.route("/ledger/checks", methods=["POST"])
@login_required
def checks():
    """Run every check of the ledger now (managers and fund administrators); the page shows the result."""
    require_role(actor(), Role.PROGRAMME_MANAGER, Role.FUND_ADMINISTRATOR)
    if ActionForm().validate_on_submit():
        with attempt() as done:
            run = run_checks(actor=actor(), now=now())
            found = len(run.ledger_faults) + len(run.loan_faults)
        if done.ok:
            flash(_("The checks found nothing wrong.") if not found
                  else _("The checks found %(number)s problem(s).", number=found), "success" if not found else "error")
    return redirect(url_for("ledger.index", _anchor="verdict"))


@bp.route("/ledger/trial-balance.xlsx")
@login_required
def trial_balance_export():
    require_ledger_reader(actor())
    form = AsOfForm(formdata=request.args)
    if not form.validate():
        return _page(form, PeriodForm(formdata=None), 400)
    as_of: date | None = form.as_of.data
    stamp = as_of.isoformat() if as_of else now().strftime("%Y%m%d-%H%M")
    return send_workbook(lambda target: write_trial_balance(target, as_of=as_of), f"trial-balance-{stamp}.xlsx")


@bp.route("/ledger/entries.xlsx")
@login_required
def entries_export():
    require_ledger_reader(actor())
    form = PeriodForm(formdata=request.args)
    if not form.validate():
        return _page(AsOfForm(formdata=None), form, 400)
    start, end = form.date_from.data, form.date_to.data
    return send_workbook(lambda target: write_ledger(target, date_from=start, date_to=end),
                     f"ledger-{start.isoformat()}-to-{end.isoformat()}.xlsx")

