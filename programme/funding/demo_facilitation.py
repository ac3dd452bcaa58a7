"""The demo's facilitation-fund claim (seed 003, section 8): the demo group's lead claims the facilitation costs of
the initiative's first months (the facilitator's fee, the venue, catering, transport), each with its evidence; a
fund administrator verifies it, the second approves its tranche and the first records the payment, all through
the real services (``seed_demo`` calls this once)."""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from dateutil.relativedelta import relativedelta
from flask import Flask

from programme.accounts.models import User
from programme.extensions import db
from programme.funding import services as funding
from programme.funding.models import Disbursement, FacilitationClaim, Initiative

#: A small PDF standing in for each invoice.
EVIDENCE = b"%PDF-1.4\n% demo: an invoice for the network's facilitation\n%%EOF\n"

#: The costs claimed: kind, what it was, days after the start, amount.
COSTS = (
    ("facilitator", "Facilitator: preparation and two workshops with the members", 20, "2400.00"),
    ("venue", "Conference room of the technical college, two afternoons", 21, "350.00"),
    ("catering", "Coffee and lunch for 18 participants", 21, "180.00"),
    ("transport", "Minibus for the members from Sedgefield and Plettenberg Bay", 50, "270.00"),
)


def seed_facilitation_claim(app: Flask, users: Mapping[str, User], initiative: Initiative,
                            timezone: str) -> FacilitationClaim | None:
    """A facilitation claim on the demo group's initiative, submitted three months after its start, verified,
    approved and paid; None when the initiative's call has no facilitation fund."""
    if funding.facilitation_rules(initiative) is None:
        return None
    lead, admin, admin2 = (users["applicant@demo.example"], users["funds@demo.example"],
                           users["funds2@demo.example"])
    start = funding.started_on(initiative, timezone)
    submitted = datetime.combine(start + relativedelta(months=3), time(9, 30), tzinfo=ZoneInfo(timezone))
    items = [funding.CostItemInput(row=row, kind=kind, description=what, incurred_on=start + timedelta(days=days),
                                   amount=amount, stream=io.BytesIO(EVIDENCE), filename=f"invoice-{row + 1}.pdf")
             for row, (kind, what, days, amount) in enumerate(COSTS)]
    claim = funding.submit_claim(
        initiative, items=items, amount="", note="The network's first meetings, led by the facilitator.",
        upload_root=app.config["UPLOAD_FOLDER"], max_bytes=app.config["MAX_ATTACHMENT_BYTES"], actor=lead,
        now=submitted, timezone=timezone)
    funding.verify_claim(claim, actor=admin, now=submitted + timedelta(days=2), timezone=timezone)
    tranche = db.session.get(Disbursement, claim.disbursement_id)
    funding.approve_disbursement(tranche, actor=admin2, now=submitted + timedelta(days=3), timezone=timezone)
    paid_at = submitted + timedelta(days=5)
    funding.record_payment(tranche, value_date=paid_at.date(), bank_reference="DEMO-FAC-0001", actor=admin,
                           now=paid_at, timezone=timezone)
    return claim
