"""Two senders at once on PostgreSQL (the scheduler's job and a `programme run-jobs` started by hand, say): each
message is claimed by one of them only, and arrives once."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from programme.core.mail import SmtpTransport, mail_settings, send_outbox
from programme.core.notifications import MailState, Notification, notify
from programme.extensions import db
from tests.core.mail_server import smtp_server
from tests.races import POSTGRES_RACES, at_once, committed

pytestmark = POSTGRES_RACES

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MESSAGES = 30


def test_two_senders_at_once_deliver_each_message_once(app, clock):
    """The scheduler's own job, run twice at once (each run in its own application context and transactions)."""
    from programme.jobs import JOBS, run_job

    clock(T0)
    (job,) = [job for job in JOBS if job.name == "send-outbox"]
    committed([notify(db.session, email=f"member{i}@example.org", subject=f"Message {i}", body="Hello.")
               for i in range(MESSAGES)])
    with smtp_server() as server:
        app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=server.port,
                          MAIL_SENDER="programme@example.org")
        outcomes = at_once(app, [lambda: run_job(app, job), lambda: run_job(app, job)])
        sent = [int(outcome.split()[1]) for outcome in outcomes]
        assert sum(sent) == MESSAGES, outcomes
    ids = Counter(a.message["Message-ID"] for a in server.inbox.arrived)
    assert len(ids) == MESSAGES and set(ids.values()) == {1}
    assert sorted(a.recipients[0] for a in server.inbox.arrived) == sorted(
        f"member{i}@example.org" for i in range(MESSAGES))
    db.session.expire_all()
    states = {state: n for state, n in db.session.execute(
        select(Notification.mail_state, func.count()).group_by(Notification.mail_state))}
    attempts = set(db.session.scalars(select(Notification.mail_attempts)))
    assert states == {MailState.SENT: MESSAGES} and attempts == {1}


@pytest.mark.parametrize("senders", [3])
def test_several_senders_never_claim_a_message_twice(app, senders):
    committed([notify(db.session, email=f"m{i}@example.org", subject=f"M {i}", body="Hi.") for i in range(MESSAGES)])
    with smtp_server() as server:
        settings = mail_settings({"MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": server.port})

        def sender():
            return send_outbox(db.session, settings, now=lambda: T0, transport=SmtpTransport(settings),
                               limit=MESSAGES // senders + 2).sent

        assert sum(at_once(app, [sender] * senders)) == MESSAGES
    assert len(server.inbox.arrived) == MESSAGES
    assert len({a.message["Message-ID"] for a in server.inbox.arrived}) == MESSAGES
