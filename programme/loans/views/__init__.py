"""The revolving funds and their loans: the funds, a fund's page (position, balance chart, capitalisations,
loans), making a loan (with a preview of its schedule), the loan book (filtered, sorted, paginated, with its
Excel export), a loan's page (schedule with payments, repayments, events; record a repayment, reschedule,
write off, refund a credit; its schedule in Excel) and the bank-statement import.

Managers and fund administrators see every fund and loan, applicants their own groups' (another group's is a
404), reviewers none (403 on the lists, 404 on a fund or loan). Only fund administrators see and use the money
forms (the services check it too). Each view loads, checks access, validates its form, calls one service and
commits once; a refusal is shown beside the field it names, with what was typed kept.

The blueprint ``loans``, its routes in one module per flow:

- ``funds``: the funds, a fund's page, opening and capitalising a fund;
- ``lending``: making a loan (with a preview of its schedule);
- ``book``: the loan book and its Excel export;
- ``loan_page``: a loan's page and what a fund administrator does on it;
- ``bank_statements``: the bank-statement import;
- ``four_eyes``: requests waiting for a second person;
- ``guarantees``: a loan's mutual guarantees (give, release, call, collect, write off what a guarantor cannot pay);
- ``foresight``: a fund's and the programme's projection for five years (read-only);
- ``_common``: what those share.
"""

from flask import Blueprint

bp = Blueprint("loans", __name__)

# The route modules register their views on ``bp`` when imported.
from programme.loans.views import (  # noqa: E402
    bank_statements,
    book,
    foresight,
    four_eyes,
    funds,
    guarantees,
    lending,
    loan_page,
)

__all__ = ["bank_statements", "book", "bp", "foresight", "four_eyes", "funds", "guarantees", "lending", "loan_page"]
