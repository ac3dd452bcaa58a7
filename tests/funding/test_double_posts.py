"""Ten identical payment posts at once (a double click, two tabs, two administrators), through the real pages and
on the real engine (issue 14, finding 9): one payment and one journal entry; no answer is a 500, every other
answer says the payment was already made. On SQLite and on PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from programme.extensions import db
from programme.funding import services
from programme.funding.models import Disbursement, DisbursementStatus
from programme.ledger.checks import check_ledger
from programme.ledger.models import JournalEntry
from tests.conftest import PASSWORD
from tests.funding.conftest import LATER, PAID_ON, funded_initiative, loginable

pytestmark = pytest.mark.commits

POSTS = 10


def test_ten_identical_payment_posts_at_once_make_one_payment_and_no_500(app, clock) -> None:
    clock(LATER)
    f = loginable(funded_initiative())
    d = services.request_disbursement(f.grant, amount="10000.00", purpose="Workshop", actor=f.manager, now=LATER,
                                      timezone="UTC")
    services.approve_disbursement(d, actor=f.admin, now=LATER, timezone="UTC")
    db.session.commit()
    d_id, emails = d.id, [f.admin.email, f.admin2.email]
    db.session.remove()

    clients = []
    for n in range(POSTS):
        client = app.test_client()
        answer = client.post("/login", data={"email": emails[n % 2], "password": PASSWORD})
        assert answer.status_code == 302
        clients.append(client)
    barrier = threading.Barrier(POSTS)
    statuses: list[int] = []
    texts: list[str] = []

    def post(client) -> None:
        barrier.wait(timeout=10)
        answer = client.post(f"/disbursements/{d_id}/pay",
                             data={"value_date": PAID_ON.isoformat(), "bank_reference": "BANK-DOUBLE-1"})
        statuses.append(answer.status_code)
        texts.append(answer.get_data(as_text=True))

    threads = [threading.Thread(target=post, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert len(statuses) == POSTS and 500 not in statuses, statuses
    assert statuses.count(302) >= 1  # the payment that was made: back to the initiative
    refused = [t for s, t in zip(statuses, texts, strict=True) if s != 302]
    assert all("paid" in t.lower() or "already done" in t.lower() or "same moment" in t.lower()
               for t in refused), [t[:300] for t in refused]
    db.session.expire_all()
    d = db.session.get(Disbursement, d_id)
    assert d.status == DisbursementStatus.PAID and d.bank_reference == "BANK-DOUBLE-1"
    payments = db.session.scalar(select(func.count()).select_from(JournalEntry)
                                 .where(JournalEntry.source_type == "Disbursement"))
    assert payments == 1
    assert check_ledger() == []
