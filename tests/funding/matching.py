"""Builders for the matching-grant tests: a funded initiative (tests/funding/conftest.py) with a matching grant
approved through a funding request, and co-financing recorded with evidence and verified, all through the real
services. Times: the initiative started on 1 June 2027 (UTC), so programme year 2 begins on 1 June 2028."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from programme.accounts.models import User
from programme.funding import services
from programme.funding.models import CoFinancingContribution, FundingRequest, Grant
from tests.funding.conftest import Funded

D = Decimal
PDF = b"%PDF-1.4 evidence of a contribution\n"
#: A moment in programme year 1 and one in programme year 2, with a day in each.
YEAR1 = datetime(2027, 9, 1, 10, 0, tzinfo=UTC)
DAY1 = date(2027, 8, 1)
YEAR2 = datetime(2028, 9, 1, 10, 0, tzinfo=UTC)
DAY2 = date(2028, 8, 1)


def submit_request(f: Funded, *, grant: str = "50000.00", loan: str = "0", cost: str = "100000.00",
                   instrument: str = "matching_grant", by: User | None = None, now: datetime = YEAR1,
                   title: str = "Joint export fair") -> FundingRequest:
    return services.submit_funding_request(
        f.initiative, title=title, description="A stand for the members at the fair.", cost=cost,
        instrument=instrument, grant_asked=grant, loan_asked=loan, actor=by or f.applicant, now=now)


def all_met(f: Funded, met: bool = True) -> dict[str, tuple[bool, str]]:
    return {c.key: (met, "Judged on the papers.") for c in f.initiative.call.rules.funding.request_criteria}


def matching_grant(f: Funded, amount: str = "50000.00", now: datetime = YEAR1) -> Grant:
    request = submit_request(f, grant=amount, cost=str(max(D(amount), D("100000.00"))), now=now)
    services.judge_funding_request(request, assessments=all_met(f), approve=True, reason="Sound plan.",
                                   actor=f.manager, now=now)
    assert request.grant is not None
    return request.grant


def contribute(f: Funded, grant: Grant, amount: str, *, on: date = DAY1, kind: str = "cash",
               upload_root: Path | str, by: User | None = None, now: datetime = YEAR1, verify: bool = True,
               filename: str = "receipt.pdf", content: bytes = PDF) -> CoFinancingContribution:
    made = services.record_contribution(
        grant, kind=kind, amount=amount, contributed_on=on, description=f"{kind} from the members",
        contributor_id=None, stream=io.BytesIO(content), filename=filename, upload_root=upload_root,
        max_bytes=1024 * 1024, actor=by or f.applicant, now=now, timezone="UTC")
    if verify:
        services.verify_contribution(made, actor=f.admin, now=now)
    return made
