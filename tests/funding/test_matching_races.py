"""Two administrators paying matching-grant tranches at once, against PostgreSQL: each fits the year's
external-share cap alone, both together do not; the lock on the initiative's row lets exactly one through."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from sqlalchemy import select

from programme.accounts.models import User
from programme.core.access import RuleViolation
from programme.extensions import db
from programme.funding import services
from programme.funding.models import Disbursement, DisbursementStatus
from programme.ledger.checks import check_ledger
from tests.funding.conftest import Funded, funded_initiative
from tests.funding.matching import DAY1, DAY2, YEAR1, YEAR2, contribute, matching_grant
from tests.races import POSTGRES_RACES, at_once, committed

D = Decimal

pytestmark = POSTGRES_RACES


@pytest.fixture
def funded(app) -> Funded:
    return committed(funded_initiative())


def test_two_payments_that_together_pass_the_year_cap_only_one_is_paid(app, funded: Funded, tmp_path) -> None:
    f = funded
    grant = matching_grant(f, "100000.00")
    contribute(f, grant, "20000.00", upload_root=tmp_path, on=DAY1)
    contribute(f, grant, "3000.00", upload_root=tmp_path, on=DAY2, now=YEAR2)
    # approved in year 1 (100 %), paid in year 2 (75 % of 3,000.00 co-financing: at most 9,000.00 in all)
    made = [services.request_disbursement(grant, amount="6000.00", purpose=p, actor=f.manager, now=YEAR1,
                                          timezone="UTC")
            for p in ("A", "B")]
    for d in made:
        services.approve_disbursement(d, actor=f.admin, now=YEAR1, timezone="UTC")
    db.session.commit()
    ids, admin_ids = [d.id for d in made], [f.admin.id, f.admin2.id]

    def paying(d_id: int, admin_id: int) -> Callable[[], int]:
        def work() -> int:
            return services.record_payment(db.session.get(Disbursement, d_id), value_date=DAY2,
                                           bank_reference=f"BANK-{d_id}", actor=db.session.get(User, admin_id),
                                           now=YEAR2, timezone="UTC").id
        return work

    results = at_once(app, [paying(d_id, admin_id) for d_id, admin_id in zip(ids, admin_ids, strict=True)],
                      expected=(RuleViolation,))
    winners = [r for r in results if isinstance(r, int)]
    losers = [r for r in results if isinstance(r, RuleViolation)]
    assert len(winners) == 1 and len(losers) == 1
    assert ("The year-2 external-share cap of 75 % allows at most EUR 3,000.00 more this year (paid or held "
            "EUR 6,000.00, co-financing EUR 3,000.00)") in losers[0].message
    db.session.expire_all()
    statuses = sorted(d.status.value for d in db.session.scalars(select(Disbursement)))
    assert statuses == [DisbursementStatus.APPROVED.value, DisbursementStatus.PAID.value]
    assert services.paid_from_ledger(f.initiative) == D("6000.00")
    assert check_ledger() == []
