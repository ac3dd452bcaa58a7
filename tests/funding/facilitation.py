"""Builders for the facilitation-fund tests: claims on the funded initiative of tests/funding/conftest.py (started
on 1 June 2027, UTC; the shipped rules' fund pays 50 % of the costs of the first 12 months, up to EUR 20,000.00),
made through the real services."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from programme.accounts.models import User
from programme.extensions import db
from programme.funding import services
from programme.funding.models import Disbursement, FacilitationClaim
from tests.funding.conftest import Funded
from tests.reviews.world import replace_rule

D = Decimal
PDF = b"%PDF-1.4 an invoice for facilitation\n"
#: A moment in programme year 1, and a day in it.
NOW = datetime(2027, 9, 1, 10, 0, tzinfo=UTC)
DAY = date(2027, 8, 1)


def cost(amount: str = "1000.00", *, row: int = 0, kind: str = "facilitator", on: date | None = DAY,
         description: str = "Facilitator, two days of workshops", filename: str | None = "invoice.pdf",
         content: bytes = PDF) -> services.CostItemInput:
    return services.CostItemInput(row=row, kind=kind, description=description, incurred_on=on, amount=amount,
                                  stream=io.BytesIO(content) if filename else None, filename=filename)


def claim(f: Funded, *costs: services.CostItemInput, amount: object = "", upload_root: Path | str,
          by: User | None = None, now: datetime = NOW) -> FacilitationClaim:
    return services.submit_claim(f.initiative, items=list(costs) or [cost()], amount=amount, note="",
                                 upload_root=upload_root, max_bytes=1024 * 1024, actor=by or f.applicant, now=now,
                                 timezone="UTC")


def paid_claim(f: Funded, *costs: services.CostItemInput, amount: object = "", upload_root: Path | str,
               reference: str = "BANK-FAC-1", now: datetime = NOW) -> FacilitationClaim:
    """A claim submitted by the lead, verified by one administrator, approved by another, paid by the first."""
    made = claim(f, *costs, amount=amount, upload_root=upload_root, now=now)
    services.verify_claim(made, actor=f.admin, now=now, timezone="UTC")
    d = db.session.get(Disbursement, made.disbursement_id)
    services.approve_disbursement(d, actor=f.admin2, now=now, timezone="UTC")
    services.record_payment(d, value_date=now.date(), bank_reference=reference, actor=f.admin, now=now,
                            timezone="UTC")
    return made


def set_rule(f: Funded, old: str, new: str) -> None:
    """Change the facilitation rules (or another rule) of the initiative's call."""
    replace_rule(f.initiative.call, old, new)
