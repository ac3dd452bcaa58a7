"""Mail that arrives (core.mail): the outbox sent through a real SMTP server on a loopback port (aiosmtpd), STARTTLS
and login, refusals and a server that is down retried with backoff to a dead letter, messages whose outcome is
unknown never resent by themselves, and a manager sending a dead letter again."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from programme.core import mail
from programme.core.access import Role
from programme.core.audit import AuditEntry
from programme.core.mail import MailOutcomeUnknown, SmtpTransport, mail_settings, retry_delay, send_outbox
from programme.core.notifications import MailState, Notification, notify
from programme.extensions import db
from tests.conftest import SETUP
from tests.core.mail_server import PASSWORD, USER, free_port, smtp_server

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, moment: datetime) -> None:
        self.moment = moment

    def __call__(self) -> datetime:
        return self.moment


def _settings(port: int, **extra):
    return mail_settings({"MAIL_BACKEND": "smtp", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": port,
                          "MAIL_SENDER": "Programme <programme@example.org>", "MAIL_TIMEOUT_SECONDS": 5,
                          "MAIL_MAX_ATTEMPTS": 3, **extra})


def _note(email: str = "ann@example.org", subject: str = "Your proposal", **extra) -> Notification:
    note = notify(db.session, email=email, subject=subject, body=f"Body for {email}.", **extra)
    db.session.commit()
    return note


def _state(note_id: int) -> Notification:
    return db.session.execute(select(Notification).where(Notification.id == note_id)
                              .execution_options(populate_existing=True)).scalar_one()


# Settings --------------------------------------------------------------------------------------------------------


def test_settings_read_the_environment_s_words_and_hide_the_password():
    demo = mail_settings({})
    assert demo.backend == "console" and demo.enabled
    assert mail_settings({"PROGRAMME_MODE": "production"}).backend == "smtp"
    assert mail_settings({"MAIL_BACKEND": "SMTP", "MAIL_ENABLED": "false"}).backend == "off"
    assert mail_settings({"MAIL_ENABLED": False}).enabled is False
    assert mail_settings({"MAIL_ENABLED": True, "MAIL_BACKEND": "console"}).backend == "console"
    parsed = mail_settings({"MAIL_PORT": "587", "MAIL_USE_TLS": "true", "MAIL_PASSWORD": PASSWORD,
                            "MAIL_MAX_ATTEMPTS": "4", "MAIL_LEASE_MINUTES": "20"})
    assert (parsed.port, parsed.use_tls, parsed.max_attempts, parsed.lease) == (587, True, 4, timedelta(minutes=20))
    assert mail_settings({"MAIL_USE_TLS": "0"}).use_tls is False
    assert PASSWORD not in repr(parsed)
    with pytest.raises(ValueError, match="MAIL_BACKEND"):
        mail_settings({"MAIL_BACKEND": "pigeon"})
    with pytest.raises(ValueError, match="MAIL_PORT"):
        mail_settings({"MAIL_PORT": "twenty-five"})


def test_the_waits_between_attempts_grow():
    assert [retry_delay(n) for n in range(1, 8)] == [timedelta(minutes=m) for m in (1, 5, 30, 120, 360, 360, 360)]


# Arriving --------------------------------------------------------------------------------------------------------


def test_each_notification_arrives_once_with_its_recipient_subject_body_and_link(app):
    ann = _note("ann@example.org", "Your proposal was received")
    bob = _note("bob@example.org", "Reset your password", link="http://localhost/reset/tok3n", link_secret=True)
    with smtp_server() as server:
        run = send_outbox(db.session, _settings(server.port), now=Clock(T0))
        again = send_outbox(db.session, _settings(server.port), now=Clock(T0 + timedelta(hours=1)))
    assert run.summary() == "sent 2 notification(s)" and again.sent == 0
    arrived = {a.recipients[0]: a for a in server.inbox.arrived}
    assert sorted(arrived) == ["ann@example.org", "bob@example.org"] and len(server.inbox.arrived) == 2
    first = arrived["ann@example.org"]
    assert first.sender == "programme@example.org"
    assert first.message["Subject"] == "Your proposal was received"
    assert first.message["To"] == "ann@example.org"
    assert first.message.get_content().strip() == "Body for ann@example.org."
    assert first.message["Message-ID"] == f"<notification-{ann.id}.{int(ann.created_at.timestamp())}@example.org>"
    assert "http://localhost/reset/tok3n" in arrived["bob@example.org"].message.get_content()  # mailed, only there
    for note in (ann, bob):
        row = _state(note.id)
        assert (row.mail_state, row.mail_attempts, row.sent_at, row.send_error) == (MailState.SENT, 1, T0, None)


def test_the_scheduler_s_job_sends_with_the_configured_server(app, clock):
    from programme.jobs import JOBS, run_job

    clock(T0)
    note = _note()
    (job,) = [job for job in JOBS if job.name == "send-outbox"]
    with smtp_server() as server:
        app.config.update(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=str(server.port),
                          MAIL_SENDER="programme@example.org")
        assert run_job(app, job) == "sent 1 notification(s)"
        assert run_job(app, job) == "sent 0 notification(s)"
    assert [a.recipients for a in server.inbox.arrived] == [["ann@example.org"]]
    assert _state(note.id).mail_state == MailState.SENT


def test_starttls_and_login_then_a_wrong_password_is_an_attempt_that_never_shows_the_password(app, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    note = _note()
    with smtp_server(tls_folder=tmp_path) as server:
        # the server requires STARTTLS before anything: without it, the message is refused, not sent in clear
        plain = send_outbox(db.session, _settings(server.port, MAIL_USERNAME=USER, MAIL_PASSWORD=PASSWORD),
                            now=Clock(T0))
        assert plain.retrying == 1 and server.inbox.arrived == []
        wrong = _settings(server.port, MAIL_USE_TLS="true", MAIL_USERNAME=USER, MAIL_PASSWORD="not-the-password")
        late = T0 + timedelta(minutes=1)
        assert send_outbox(db.session, wrong, now=Clock(late),
                           transport=SmtpTransport(wrong, tls_context=server.client_tls)).retrying == 1
        error = _state(note.id).send_error
        assert "535" in error and "not-the-password" not in error
        right = _settings(server.port, MAIL_USE_TLS="true", MAIL_USERNAME=USER, MAIL_PASSWORD=PASSWORD,
                          MAIL_MAX_ATTEMPTS=4)
        later = late + timedelta(minutes=5)
        run = send_outbox(db.session, right, now=Clock(later),
                          transport=SmtpTransport(right, tls_context=server.client_tls))
    assert run.sent == 1 and server.inbox.logins == [USER]
    assert [a.recipients for a in server.inbox.arrived] == [["ann@example.org"]]
    row = _state(note.id)
    assert (row.mail_state, row.mail_attempts, row.send_error) == (MailState.SENT, 3, None)
    assert PASSWORD not in caplog.text and "not-the-password" not in caplog.text


def test_a_certificate_the_sender_does_not_trust_is_refused(app, tmp_path):
    note = _note()
    with smtp_server(tls_folder=tmp_path) as server:
        settings = _settings(server.port, MAIL_USE_TLS=True, MAIL_USERNAME=USER, MAIL_PASSWORD=PASSWORD)
        run = send_outbox(db.session, settings, now=Clock(T0))  # the default context: the system's authorities
    assert run.retrying == 1 and server.inbox.arrived == []
    assert "CERTIFICATE_VERIFY_FAILED" in _state(note.id).send_error


# Failing ---------------------------------------------------------------------------------------------------------


def test_a_refusing_server_is_tried_again_later_then_the_message_is_a_dead_letter(app):
    note = _note()
    clock = Clock(T0)
    with smtp_server() as server:
        settings = _settings(server.port)
        server.inbox.refuse = "550 5.1.1 No such mailbox"
        assert send_outbox(db.session, settings, now=clock).summary() == "sent 0 notification(s) (1 to try again)"
        row = _state(note.id)
        assert (row.mail_state, row.mail_attempts, row.next_attempt_at) == (MailState.PENDING, 1,
                                                                             T0 + timedelta(minutes=1))
        assert "550 5.1.1 No such mailbox" in row.send_error
        clock.moment = T0 + timedelta(seconds=59)  # not due yet: not tried
        assert send_outbox(db.session, settings, now=clock).summary() == "sent 0 notification(s)"
        assert _state(note.id).mail_attempts == 1
        clock.moment = T0 + timedelta(minutes=1)
        send_outbox(db.session, settings, now=clock)
        assert (_state(note.id).mail_attempts, _state(note.id).next_attempt_at) == (2, clock.moment
                                                                                    + timedelta(minutes=5))
        clock.moment += timedelta(minutes=5)
        assert send_outbox(db.session, settings, now=clock).summary() == "sent 0 notification(s) (1 dead letter(s))"
        row = _state(note.id)
        assert (row.mail_state, row.mail_attempts, row.next_attempt_at) == (MailState.FAILED, 3, None)
        assert "550" in row.send_error
        # a dead letter is not tried again by itself, even once the server accepts
        server.inbox.refuse = None
        clock.moment += timedelta(days=1)
        assert send_outbox(db.session, settings, now=clock).sent == 0
    assert server.inbox.arrived == []


def test_a_server_that_is_down_costs_an_attempt_and_stops_the_run(app):
    first, second = _note("ann@example.org"), _note("bob@example.org")
    settings = _settings(free_port())  # nothing listens there
    run = send_outbox(db.session, settings, now=Clock(T0))
    assert run.summary() == "sent 0 notification(s) (1 to try again)"
    row = _state(first.id)
    assert (row.mail_state, row.mail_attempts) == (MailState.PENDING, 1) and "127.0.0.1" in row.send_error
    assert _state(second.id).mail_attempts == 0  # waits for the next run
    # the next run tries the next due message: the first waits for its minute
    send_outbox(db.session, settings, now=Clock(T0 + timedelta(seconds=30)))
    assert (_state(first.id).mail_attempts, _state(second.id).mail_attempts) == (1, 1)


class LostWhileTaking:
    """A transport whose connection drops while the server takes the message: the outcome is unknown."""

    def __init__(self) -> None:
        self.tries = 0

    def deliver(self, message, *, sender, recipient) -> None:
        self.tries += 1
        raise MailOutcomeUnknown("the connection was lost while the server took the message: timed out")

    def close(self) -> None:
        pass


def test_a_message_whose_outcome_is_unknown_is_uncertain_and_never_resent_by_itself(app):
    note, other = _note("ann@example.org"), _note("bob@example.org")
    transport = LostWhileTaking()
    run = send_outbox(db.session, _settings(free_port()), now=Clock(T0), transport=transport)
    assert run.summary() == "sent 0 notification(s) (1 uncertain)" and transport.tries == 1
    assert _state(note.id).mail_state == MailState.UNCERTAIN
    with smtp_server() as server:
        send_outbox(db.session, _settings(server.port), now=Clock(T0 + timedelta(days=1)))
    assert [a.recipients for a in server.inbox.arrived] == [["bob@example.org"]]
    assert (_state(note.id).mail_state, _state(other.id).mail_state) == (MailState.UNCERTAIN, MailState.SENT)


def test_a_claim_left_by_a_sender_that_died_becomes_uncertain_after_the_lease(app):
    note = _note()
    note.mail_state, note.claimed_at, note.mail_attempts = MailState.SENDING, T0, 1
    db.session.commit()
    with smtp_server() as server:
        settings = _settings(server.port, MAIL_LEASE_MINUTES=15)
        assert send_outbox(db.session, settings, now=Clock(T0 + timedelta(minutes=14))).summary() == \
            "sent 0 notification(s)"
        assert _state(note.id).mail_state == MailState.SENDING
        assert send_outbox(db.session, settings, now=Clock(T0 + timedelta(minutes=16))).uncertain == 1
    assert server.inbox.arrived == []
    row = _state(note.id)
    assert row.mail_state == MailState.UNCERTAIN and "may have arrived" in row.send_error


def test_the_database_refuses_a_state_that_is_not_one(app):
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    note = _note()
    with pytest.raises(IntegrityError):
        db.session.execute(text("UPDATE notifications SET mail_state = 'lost' WHERE id = :id"), {"id": note.id})
    db.session.rollback()


def test_a_sent_state_without_its_time_is_refused(app):
    from sqlalchemy.exc import IntegrityError

    note = _note()
    note.mail_state = MailState.SENT
    with pytest.raises(IntegrityError):
        db.session.flush()
    db.session.rollback()


# The console (the demo) ------------------------------------------------------------------------------------------


def test_the_console_backend_prints_each_message_and_counts_it_sent(app, capsys):
    note = _note("ann@example.org", "Welcome")
    note.body = "Zoë wrote: café."
    db.session.commit()
    stream = io.StringIO()
    run = send_outbox(db.session, mail_settings({}), now=Clock(T0), transport=mail.ConsoleTransport(stream))
    assert run.sent == 1 and _state(note.id).mail_state == MailState.SENT
    printed = stream.getvalue()
    assert "mail to ann@example.org" in printed and "Subject: Welcome" in printed and "Zoë wrote: café." in printed
    _note("bob@example.org", "Hello")
    send_outbox(db.session, mail_settings({}), now=Clock(T0))
    assert "Subject: Hello" in capsys.readouterr().out


def test_mail_off_sends_nothing_and_the_centre_says_so(app):
    note = _note()
    assert send_outbox(db.session, mail_settings({"MAIL_BACKEND": "off"}), now=Clock(T0)).sent == 0
    assert _state(note.id).mail_state == MailState.PENDING


# The managers' outbox --------------------------------------------------------------------------------------------


def test_a_manager_sees_the_dead_letters_and_sends_one_again(app, client, login, make_user):
    manager = make_user("manager@example.org", Role.PROGRAMME_MANAGER)
    applicant = make_user("ann@example.org", Role.APPLICANT)
    with smtp_server() as server:
        settings = _settings(server.port, MAIL_MAX_ATTEMPTS=1)
        assert send_outbox(db.session, settings, now=Clock(T0)).sent == 2  # their welcome messages
        server.inbox.arrived.clear()
        note = _note("ann@example.org", "Your decision", user_id=applicant.id)
        server.inbox.refuse = "554 5.7.1 Relay access denied"
        send_outbox(db.session, settings, now=Clock(T0))
        assert _state(note.id).mail_state == MailState.FAILED

        login(applicant)
        assert "could not be e-mailed" in client.get("/notifications").get_data(as_text=True)
        assert client.get("/notifications/outbox").status_code == 403
        assert client.post(f"/notifications/outbox/{note.id}/send-again").status_code == 403
        client.post("/logout")

        login(manager)
        centre = client.get("/notifications").get_data(as_text=True)
        assert "1 message not delivered" in centre
        assert "1 message not delivered, or not sure to be" in client.get("/").get_data(as_text=True)  # work queue
        page = client.get("/notifications/outbox").get_data(as_text=True)
        assert "Your decision" in page and "554 5.7.1 Relay access denied" in page and "not delivered" in page
        response = client.post(f"/notifications/outbox/{note.id}/send-again")
        assert response.status_code == 302
        row = _state(note.id)
        assert (row.mail_state, row.mail_attempts, row.send_error) == (MailState.PENDING, 0, None)
        (entry,) = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "mail.send_again"))
        assert (entry.actor_id, entry.object_type, entry.object_id) == (manager.id, "Notification", note.id)
        assert entry.details_dict["last_error"].endswith("554 5.7.1 Relay access denied") or \
            "554" in entry.details_dict["last_error"]

        # sending it again once more is refused: it is in the queue already
        client.post(f"/notifications/outbox/{note.id}/send-again")
        assert len(db.session.scalars(select(AuditEntry).where(AuditEntry.action == "mail.send_again")).all()) == 1
        assert client.post("/notifications/outbox/999999/send-again").status_code == 404

        server.inbox.refuse = None
        assert send_outbox(db.session, settings, now=Clock(T0 + timedelta(minutes=1))).sent == 1
    assert [a.recipients for a in server.inbox.arrived] == [["ann@example.org"]]
    assert "Every message was delivered" in client.get("/notifications/outbox").get_data(as_text=True)


def test_sending_again_is_a_manager_s_act_and_only_for_an_undelivered_message(app):
    from programme.core.access import AccessDenied, RuleViolation, SystemActor

    note = _note()
    with pytest.raises(RuleViolation, match="waiting"):
        mail.send_again(db.session, note.id, actor=SETUP, now=T0)

    class Reviewer:
        id = 1
        actor_label = "reviewer"
        is_authenticated = True

        def has_role(self, role):
            return role == Role.REVIEWER

    note.mail_state, note.mail_attempts = MailState.UNCERTAIN, 1
    db.session.flush()
    with pytest.raises(AccessDenied):
        mail.send_again(db.session, note.id, actor=Reviewer(), now=T0)
    with pytest.raises(AccessDenied):
        mail.outbox(db.session, actor=Reviewer())
    assert mail.undelivered_count(db.session, actor=SystemActor("test")) == 1
    assert mail.send_again(db.session, note.id, actor=SETUP, now=T0).mail_state == MailState.PENDING


def test_an_address_smtp_cannot_write_is_refused_not_left_claimed(app):
    odd, fine = _note("zoë@example.org"), _note("bob@example.org")
    with smtp_server() as server:
        run = send_outbox(db.session, _settings(server.port), now=Clock(T0))
    assert run.summary() == "sent 1 notification(s) (1 to try again)"
    row = _state(odd.id)
    assert row.mail_state == MailState.PENDING and "cannot be sent" in row.send_error
    assert _state(fine.id).mail_state == MailState.SENT
    assert [a.recipients for a in server.inbox.arrived] == [["bob@example.org"]]


def test_the_upgrade_keeps_what_was_sent_and_mails_no_backlog(tmp_path):
    """Migration 0019 on a database of the release before (SQLite; the same SQL ran on PostgreSQL by hand): a sent
    message stays sent, one an earlier sender kept failing is a dead letter, the rest stays in the app only."""
    from flask_migrate import upgrade

    from programme import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'old.sqlite'}",
                      "INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": "x", "TESTING": True})
    with app.app_context():
        upgrade(revision="0018")
        with db.engine.begin() as connection:
            for email, sent_at, error in (("sent@x.org", "'2026-01-01 00:05:00'", "NULL"),
                                          ("failing@x.org", "NULL", "'421 try later'"),
                                          ("kept@x.org", "NULL", "NULL")):
                connection.exec_driver_sql(
                    "INSERT INTO notifications (created_at, email, subject, body, link_secret, sent_at, send_error) "
                    f"VALUES ('2026-01-01 00:00:00', '{email}', 's', 'b', 0, {sent_at}, {error})")
        upgrade()
        with db.engine.connect() as connection:
            rows = connection.exec_driver_sql("SELECT email, mail_state, mail_attempts FROM notifications "
                                              "ORDER BY id").all()
        db.engine.dispose()
    assert [tuple(r) for r in rows] == [("sent@x.org", "sent", 0), ("failing@x.org", "failed", 0),
                                        ("kept@x.org", "in_app_only", 0)]


@pytest.mark.parametrize(("key", "value"), [("MAIL_BACKEND", "pigeon"), ("MAIL_PORT", "twenty-five"),
                                            ("MAIL_MAX_ATTEMPTS", "many")])
def test_a_wrong_mail_setting_stops_the_start(tmp_path, key, value):
    from programme import ConfigurationError, create_app

    with pytest.raises(ConfigurationError, match=key):
        create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "INSTANCE_PATH": str(tmp_path), key: value})


def test_a_manager_records_that_an_uncertain_message_arrived(app, client, login, make_user):
    """An uncertain message (the connection was lost while the server took it) may have arrived; when its reader
    says it did, a manager records it: it leaves the outbox as sent, is never sent again, and the audit log says who
    recorded it. A dead letter cannot be recorded so (the server refused it), nor can a message already sent."""
    from programme.core.access import AccessDenied, RuleViolation
    from programme.core.mail import confirm_arrived

    manager = make_user("manager@example.org", Role.PROGRAMME_MANAGER)
    applicant = make_user("ann@example.org", Role.APPLICANT)
    uncertain = _note("ann@example.org", "Your decision", user_id=applicant.id)
    uncertain.mail_state, uncertain.mail_attempts, uncertain.claimed_at = MailState.UNCERTAIN, 1, T0
    dead = _note("gone@example.org", "Lost")
    dead.mail_state, dead.mail_attempts, dead.send_error = MailState.FAILED, 6, "550 no such user"
    db.session.commit()

    with pytest.raises(AccessDenied):
        confirm_arrived(db.session, uncertain.id, actor=applicant, now=T0)
    login(manager)
    page = client.get("/notifications/outbox").get_data(as_text=True)
    row = page[page.index(f'id="mail-{uncertain.id}"'):]
    assert "It arrived" in row[:row.index("</tr>")]
    dead_row = page[page.index(f'id="mail-{dead.id}"'):]
    assert "It arrived" not in dead_row[:dead_row.index("</tr>")]  # only an uncertain message has the button

    assert client.post(f"/notifications/outbox/{uncertain.id}/arrived").status_code == 302
    stored = _state(uncertain.id)
    assert stored.mail_state == MailState.SENT and stored.sent_at is not None and stored.claimed_at is None
    (entry,) = db.session.scalars(select(AuditEntry).where(AuditEntry.action == "mail.confirmed_arrived"))
    assert (entry.actor_id, entry.object_id) == (manager.id, uncertain.id)
    assert f'id="mail-{uncertain.id}"' not in client.get("/notifications/outbox").get_data(as_text=True)
    recorded_at = stored.sent_at
    send_outbox(db.session, mail_settings({}), now=Clock(T0 + timedelta(minutes=5)))  # the others' welcome mail
    assert (_state(uncertain.id).mail_state, _state(uncertain.id).sent_at) == (MailState.SENT, recorded_at)

    for note in (dead, uncertain):  # a dead letter, and the one just recorded: refused, nothing changed
        with pytest.raises(RuleViolation, match="only a message whose delivery is uncertain"):
            confirm_arrived(db.session, note.id, actor=manager, now=T0)
    assert _state(dead.id).mail_state == MailState.FAILED
    assert client.post("/notifications/outbox/999999/arrived").status_code == 404
