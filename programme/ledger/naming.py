"""An account's name for people: its kind's label and the thing it belongs to ("Borrower credit, loan
L-2027-0001"), where the account's ``code`` (``borrower_credit:loan:1``) is for machines. Every page and export
column meant for people names accounts here; the code stays only where a machine reads it (the exports' "Account
code" column, the command line).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import select

from programme.accounts.models import Organisation
from programme.calls.models import Call
from programme.core.texts import gettext as _
from programme.core.texts import lazy_pgettext
from programme.extensions import db
from programme.funding.models import Initiative
from programme.ledger.models import Account
from programme.loans.guarantee_models import GuaranteeObligation
from programme.loans.models import Loan, RevolvingFund

__all__ = ["account_name", "account_names"]

#: An owner's type in words, for an owner that cannot be found (any other type is written as stored).
_OWNER_TYPES = {
    "call": lazy_pgettext("ledger owner", "call"), "initiative": lazy_pgettext("ledger owner", "initiative"),
    "loan": lazy_pgettext("ledger owner", "loan"), "fund": lazy_pgettext("ledger owner", "revolving fund"),
    "obligation": lazy_pgettext("ledger owner", "obligation"), "programme": lazy_pgettext("ledger owner", "programme"),
}


def _owner_names(owner_type: str, ids: set[int]) -> dict[int, str]:
    """The names of the owners of one type, by id, in one query (an unknown type or id is left out)."""
    if owner_type == "call":
        rows = db.session.execute(select(Call.id, Call.reference).where(Call.id.in_(ids)))
        return {id_: _("call %(reference)s", reference=reference) for id_, reference in rows}
    if owner_type == "initiative":
        rows = db.session.execute(select(Initiative.id, Initiative.reference).where(Initiative.id.in_(ids)))
        return {id_: _("initiative %(reference)s", reference=reference) for id_, reference in rows}
    if owner_type == "loan":
        rows = db.session.execute(select(Loan.id, Loan.number).where(Loan.id.in_(ids)))
        return {id_: _("loan %(number)s", number=number) for id_, number in rows}
    if owner_type == "fund":
        rows = db.session.execute(select(RevolvingFund.id, Initiative.reference)
                                  .join(Initiative, Initiative.id == RevolvingFund.initiative_id)
                                  .where(RevolvingFund.id.in_(ids)))
        return {id_: _("revolving fund of %(reference)s", reference=reference) for id_, reference in rows}
    if owner_type == "obligation":
        rows = db.session.execute(select(GuaranteeObligation.id, Organisation.name, Loan.number)
                                  .join(Organisation, Organisation.id == GuaranteeObligation.guarantor_id)
                                  .join(Loan, Loan.id == GuaranteeObligation.loan_id)
                                  .where(GuaranteeObligation.id.in_(ids)))
        return {id_: _("%(name)s as guarantor of loan %(number)s", name=name, number=number)
                for id_, name, number in rows}
    return {}


def _fallback(owner_type: str, owner_id: int | None) -> str:
    """The owner's name when it cannot be found: its type and number, in words."""
    known = _OWNER_TYPES.get(owner_type)
    kind = str(known) if known is not None else owner_type.replace("_", " ")
    return kind if owner_id is None else _("%(kind)s no. %(number)s", kind=kind, number=owner_id)


def _name(account: Account, owners: dict[tuple[str, int], str]) -> str:
    if account.owner_id is None:  # the programme's own accounts: the kind says it all
        return account.kind.label
    owner = owners.get((account.owner_type, account.owner_id)) or _fallback(account.owner_type, account.owner_id)
    return _("%(kind)s, %(owner)s", kind=account.kind.label, owner=owner)


def account_names(accounts: Iterable[Account]) -> dict[int, str]:
    """The people's name of each account, by account id, with one query per type of owner."""
    accounts = list(accounts)
    wanted: dict[str, set[int]] = defaultdict(set)
    for account in accounts:
        if account.owner_id is not None:
            wanted[account.owner_type].add(account.owner_id)
    owners = {(owner_type, id_): name for owner_type, ids in wanted.items()
              for id_, name in _owner_names(owner_type, ids).items()}
    return {account.id: _name(account, owners) for account in accounts}


def account_name(account: Account) -> str:
    """One account's name for people, e.g. "Borrower credit, loan L-2027-0001"."""
    return account_names([account])[account.id]

