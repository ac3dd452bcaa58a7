"""Two fund administrators verifying facilitation claims at once, against PostgreSQL: the same claim verified twice
requests one tranche; two claims that each fit the fund's ceiling alone but not together: exactly one is verified
(the lock on the initiative's row, taken first by every cap check, serialises them)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from programme.accounts.models import User
from programme.core.access import RuleViolation
from programme.extensions import db
from programme.funding import services
from programme.funding.models import ClaimStatus, Disbursement, FacilitationClaim
from tests.funding.conftest import Funded, funded_initiative
from tests.funding.facilitation import NOW, claim, cost, set_rule
from tests.races import POSTGRES_RACES, at_once, committed

pytestmark = POSTGRES_RACES


@pytest.fixture
def funded(app) -> Funded:
    return committed(funded_initiative())


def _verifying(claim_id: int, admin_id: int) -> Callable[[], int | None]:
    def work() -> int | None:
        return services.verify_claim(db.session.get(FacilitationClaim, claim_id),
                                     actor=db.session.get(User, admin_id), now=NOW, timezone="UTC").disbursement_id
    return work


def test_one_claim_verified_by_two_administrators_at_once_requests_one_tranche(app, funded: Funded,
                                                                               tmp_path) -> None:
    f = funded
    made = claim(f, cost("1000.00"), upload_root=tmp_path)
    db.session.commit()
    results = at_once(app, [_verifying(made.id, f.admin.id), _verifying(made.id, f.admin2.id)])
    assert results[0] == results[1] and results[0] is not None
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Disbursement)
                             .where(Disbursement.purpose.like("Facilitation claim%"))) == 1


def test_two_claims_over_the_ceiling_together_only_one_is_verified(app, funded: Funded, tmp_path) -> None:
    f = funded
    set_rule(f, "ceiling = 20_000.00", "ceiling = 1_000.00")
    first = claim(f, cost("1200.00"), upload_root=tmp_path)  # 600.00
    second = claim(f, cost("1000.00"), upload_root=tmp_path)  # 500.00: together 1,100.00
    db.session.commit()
    results = at_once(app, [_verifying(first.id, f.admin.id), _verifying(second.id, f.admin2.id)],
                      expected=(RuleViolation,))
    losers = [r for r in results if isinstance(r, RuleViolation)]
    assert len(losers) == 1 and "ceiling of EUR 1,000.00 allows at most" in losers[0].message
    db.session.expire_all()
    statuses = sorted(c.status.value for c in db.session.scalars(select(FacilitationClaim)))
    assert statuses == [ClaimStatus.SUBMITTED.value, ClaimStatus.VERIFIED.value]
