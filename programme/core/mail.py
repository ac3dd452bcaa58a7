"""Mail that arrives: the outbox sender the scheduler runs every minute, and the managers' dead letters.

The life of a message (``Notification.mail_state``, a check constraint in the database):

    pending --claim--> sending --accepted--> sent
       ^                  |--refused or server down--> pending (next attempt later) | failed (after the last)
       |                  |--connection lost while the server was taking it--> uncertain
       |                  `--no outcome recorded within MAIL_LEASE_MINUTES (the sender died)--> uncertain
       `-- a programme manager sends it again <-- failed | uncertain

(``in_app_only``: written before the programme mailed its notifications, migration 0019; never mailed.)

**At most once.** A message is mailed at most once by the sender on its own: each message is *claimed* in a short
transaction of its own before the server is asked (on PostgreSQL the due message is read ``FOR UPDATE SKIP
LOCKED``, on SQLite the single writer serialises the claim; on both the claim is an update conditional on the state
still being ``pending``, so two senders never claim the same message), and marked ``sent`` in another short
transaction right after the server accepted it. Between the two the outcome is unknown: if the sender dies there,
or the connection is lost while the server takes the message, the message may have arrived. Such a message is
``uncertain``: it is never resent blindly (a duplicate enrolment or decision letter confuses people more than a
missing one, which the notification centre shows anyway), but shown to the programme managers at
``/notifications/outbox``, who may send it again. A message sent again keeps its Message-ID (made from its id and
creation time), so a mail server or a mail reader that has it already may recognise the copy.

A refusal (a 4xx or 5xx reply) or a server that cannot be reached costs one attempt; the next attempt waits 1, 5,
30, 120, then 360 minutes; after ``MAIL_MAX_ATTEMPTS`` attempts the message is ``failed``, the dead letter, with its
last error, shown to the managers (and counted on their home page) until one of them sends it again (an audit
entry says who). When the server cannot be reached the run stops there: the other messages wait for the next run.

Backends (``MAIL_BACKEND``): ``smtp`` (STARTTLS with ``MAIL_USE_TLS``, login with ``MAIL_USERNAME`` and
``MAIL_PASSWORD``; the password is never logged nor put in an error), ``console`` (the demo's: each message printed
on the standard output, and counted as sent), ``off``.
"""

from __future__ import annotations

import smtplib
import ssl
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any, Protocol, TextIO

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from programme.core import audit
from programme.core.access import Actor, NotFound, Role, RuleViolation, require_role
from programme.core.notifications import MailState, Notification
from programme.core.texts import gettext as _

#: Minutes to wait after the 1st, 2nd, ... failed attempt (the last figure repeats).
RETRY_MINUTES = (1, 5, 30, 120, 360)
#: Messages one run of the sender sends at most (the job runs every minute).
BATCH = 100
#: The managers' page lists this many problems (newest first) and counts the rest.
LISTED = 200
#: What a manager may send again.
UNDELIVERED = (MailState.FAILED, MailState.UNCERTAIN)
BACKENDS = ("smtp", "console", "off")


# Settings ------------------------------------------------------------------------------------------------------------


def _flag(value: Any) -> bool:
    """A setting that is on or off, from Python or from an environment variable ("0", "false", "no", "off": off)."""
    if isinstance(value, str):
        return value.strip().lower() not in ("", "0", "false", "no", "off")
    return bool(value)


@dataclass(frozen=True)
class MailSettings:
    backend: str
    server: str
    port: int
    use_tls: bool
    username: str | None
    password: str | None = field(repr=False)
    sender: str
    timeout: float
    max_attempts: int
    lease: timedelta

    @property
    def enabled(self) -> bool:
        return self.backend != "off"


def mail_settings(config: Mapping[str, Any]) -> MailSettings:
    """The mail settings of a configuration, checked (an unknown backend or a number that is not one is refused)."""
    backend = (config.get("MAIL_BACKEND") or "").strip().lower() or (
        "smtp" if config.get("PROGRAMME_MODE") == "production" else "console")
    if backend not in BACKENDS:
        raise ValueError(f"MAIL_BACKEND must be one of {', '.join(BACKENDS)}, not {backend!r}")
    enabled = config.get("MAIL_ENABLED")
    if enabled is not None and not _flag(enabled):
        backend = "off"
    try:
        port, timeout = int(config.get("MAIL_PORT") or 25), float(config.get("MAIL_TIMEOUT_SECONDS") or 30)
        attempts, lease = int(config.get("MAIL_MAX_ATTEMPTS") or 6), float(config.get("MAIL_LEASE_MINUTES") or 15)
    except (TypeError, ValueError):
        raise ValueError("MAIL_PORT, MAIL_TIMEOUT_SECONDS, MAIL_MAX_ATTEMPTS and MAIL_LEASE_MINUTES must be "
                         "numbers") from None
    return MailSettings(
        backend=backend, server=str(config.get("MAIL_SERVER") or "localhost"), port=port,
        use_tls=_flag(config.get("MAIL_USE_TLS")), username=config.get("MAIL_USERNAME") or None,
        password=config.get("MAIL_PASSWORD") or None, sender=str(config.get("MAIL_SENDER") or "programme@localhost"),
        timeout=timeout, max_attempts=max(1, attempts), lease=timedelta(minutes=lease),
    )


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after a message's ``attempts``-th failed attempt."""
    return timedelta(minutes=RETRY_MINUTES[min(max(attempts, 1), len(RETRY_MINUTES)) - 1])


# Messages --------------------------------------------------------------------------------------------------------


def message_id(note: Notification, sender: str) -> str:
    """The message's Message-ID: the same at every attempt (and when a manager sends it again)."""
    domain = sender.rpartition("@")[2].strip("<> ") or "localhost"
    return f"<notification-{note.id}.{int(note.created_at.timestamp())}@{domain}>"


def build_message(note: Notification, sender: str) -> EmailMessage:
    """The e-mail of a notification: its subject, its body and its link (a secret link too: mail is where it goes)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = note.email
    message["Subject"] = " ".join(note.subject.split())  # one line, whatever a title held
    message["Date"] = format_datetime(note.created_at)
    message["Message-ID"] = message_id(note, sender)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(note.body + (f"\n\n{note.link}" if note.link else ""))
    return message


# Transports ------------------------------------------------------------------------------------------------------


class MailRefused(Exception):
    """The server answered no (a 4xx or 5xx reply): the message was not taken; try later."""


class MailUnreachable(Exception):
    """The server could not be reached, or the connection was lost before the message was handed over."""


class MailOutcomeUnknown(Exception):
    """The connection was lost while the server was taking the message: it may have arrived."""


class Transport(Protocol):
    def deliver(self, message: EmailMessage, *, sender: str, recipient: str) -> None: ...

    def close(self) -> None: ...


class ConsoleTransport:
    """The demo's mail: each message printed on a stream (the standard output), in full."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream

    def deliver(self, message: EmailMessage, *, sender: str, recipient: str) -> None:
        stream = self.stream or sys.stdout
        headers = "".join(f"{name}: {value}\n" for name, value in message.items()
                          if name.lower() not in ("content-type", "content-transfer-encoding", "mime-version"))
        # the body decoded, so that a name with an accent reads as written
        stream.write(f"---------- mail to {recipient} ----------\n{headers}\n{message.get_content().rstrip()}\n"
                     "---------- end of mail ----------\n")
        stream.flush()

    def close(self) -> None:
        pass


class SmtpTransport:
    """One SMTP session for a run of the sender, opened at the first message: STARTTLS and login as configured."""

    def __init__(self, settings: MailSettings, *, tls_context: ssl.SSLContext | None = None) -> None:
        self.settings = settings
        self.tls_context = tls_context
        self.smtp: smtplib.SMTP | None = None

    def _error(self, what: str, exc: BaseException) -> str:
        text = f"{what}: {type(exc).__name__}: {exc}"
        if self.settings.password:
            text = text.replace(self.settings.password, "********")
        return text[:500]

    def _session(self) -> smtplib.SMTP:
        if self.smtp is not None:
            return self.smtp
        settings = self.settings
        smtp = None
        try:
            smtp = smtplib.SMTP(settings.server, settings.port, timeout=settings.timeout)
            smtp.ehlo()
            if settings.use_tls:
                smtp.starttls(context=self.tls_context or ssl.create_default_context())
                smtp.ehlo()
            if settings.username:
                smtp.login(settings.username, settings.password or "")
        except (OSError, smtplib.SMTPException) as exc:
            if smtp is not None:
                smtp.close()
            raise MailUnreachable(self._error(f"{settings.server}:{settings.port}", exc)) from None
        self.smtp = smtp
        return smtp

    def deliver(self, message: EmailMessage, *, sender: str, recipient: str) -> None:
        smtp = self._session()
        try:
            code, reply = smtp.mail(sender)
            if code != 250:
                raise MailRefused(f"the server refused the sender: {code} {reply.decode(errors='replace')}"[:500])
            code, reply = smtp.rcpt(recipient)
            if code not in (250, 251):
                raise MailRefused(f"the server refused the recipient: {code} {reply.decode(errors='replace')}"[:500])
        except MailRefused:
            self._reset()
            raise
        except UnicodeError as exc:  # an address smtplib cannot write (not ASCII)
            self._reset()
            raise MailRefused(self._error("the address cannot be sent", exc)) from None
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise MailUnreachable(self._error("the connection was lost", exc)) from None
        try:
            code, reply = smtp.data(message.as_bytes())  # raises only when DATA itself is refused
        except smtplib.SMTPDataError as exc:
            self._reset()
            raise MailRefused(self._error("the server refused the message", exc)) from None
        except (OSError, smtplib.SMTPException) as exc:
            self.close()
            raise MailOutcomeUnknown(self._error("the connection was lost while the server took the message",
                                                 exc)) from None
        if code != 250:
            self._reset()
            raise MailRefused(f"the server refused the message: {code} {reply.decode(errors='replace')}"[:500])

    def _reset(self) -> None:
        try:
            if self.smtp is not None:
                self.smtp.rset()
        except (OSError, smtplib.SMTPException):
            self.close()

    def close(self) -> None:
        if self.smtp is None:
            return
        try:
            self.smtp.quit()
        except (OSError, smtplib.SMTPException):
            self.smtp.close()
        self.smtp = None


def transport_for(settings: MailSettings) -> Transport:
    return SmtpTransport(settings) if settings.backend == "smtp" else ConsoleTransport()


# The sender ------------------------------------------------------------------------------------------------------


@dataclass
class OutboxRun:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    uncertain: int = 0

    def summary(self) -> str:
        extra = [f"{n} {what}" for n, what in ((self.retrying, "to try again"), (self.failed, "dead letter(s)"),
                                               (self.uncertain, "uncertain")) if n]
        return f"sent {self.sent} notification(s)" + (f" ({', '.join(extra)})" if extra else "")


def _expire_claims(session: Session, settings: MailSettings, moment: datetime) -> int:
    """Claims older than the lease, whose sender never said how it went: uncertain (never resent by themselves)."""
    result = session.execute(
        update(Notification)
        .where(Notification.mail_state == MailState.SENDING, Notification.claimed_at < moment - settings.lease)
        .values(mail_state=MailState.UNCERTAIN,
                send_error="the sender stopped while sending it: it may have arrived")
        .execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)


def _claim_next(session: Session, moment: datetime) -> Notification | None:
    """Claim the oldest message that is due: a conditional update, so that two senders never claim the same one."""
    while True:
        note_id = session.scalar(
            select(Notification.id)
            .where(Notification.mail_state == MailState.PENDING,
                   or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= moment))
            .order_by(Notification.id).limit(1).with_for_update(skip_locked=True))
        if note_id is None:
            return None
        claimed = session.execute(
            update(Notification)
            .where(Notification.id == note_id, Notification.mail_state == MailState.PENDING)
            .values(mail_state=MailState.SENDING, claimed_at=moment, mail_attempts=Notification.mail_attempts + 1)
            .execution_options(synchronize_session=False))
        if getattr(claimed, "rowcount", 0) == 1:
            return session.execute(select(Notification).where(Notification.id == note_id)
                                   .execution_options(populate_existing=True)).scalar_one()


def _record(session: Session, note_id: int, state: MailState, moment: datetime, *, error: str | None = None,
            retry_at: datetime | None = None) -> None:
    """The outcome of one attempt, in the message's own transaction (a message a manager has meanwhile sent again
    is left to its new attempt)."""
    values: dict[str, Any] = {"mail_state": state, "claimed_at": None, "next_attempt_at": retry_at,
                              "send_error": error}
    if state == MailState.SENT:
        values["sent_at"] = moment
    session.execute(
        update(Notification)
        .where(Notification.id == note_id, Notification.mail_state.in_((MailState.SENDING, MailState.UNCERTAIN)))
        .values(**values).execution_options(synchronize_session=False))


def send_outbox(session: Session, settings: MailSettings, *, now: Callable[[], datetime],
                transport: Transport | None = None, limit: int = BATCH) -> OutboxRun:
    """Mail the messages that are due, each claimed and recorded in short transactions of its own.

    The sender's loop commits (like a job's wrapper, whose only caller it is: the scheduler's send-outbox job, or a
    test); ``now`` is the programme's clock, read at each step."""
    run = OutboxRun()
    if not settings.enabled:
        return run
    run.uncertain += _expire_claims(session, settings, now())
    session.commit()
    transport = transport or transport_for(settings)
    try:
        for _attempt in range(limit):
            note = _claim_next(session, now())
            session.commit()
            if note is None:
                break
            note_id, attempts, recipient = note.id, note.mail_attempts, note.email
            try:
                message = build_message(note, settings.sender)
            except (ValueError, TypeError) as exc:  # trying again would write the same message
                _record(session, note_id, MailState.FAILED, now(), error=f"the message cannot be written: {exc}"[:500])
                session.commit()
                run.failed += 1
                continue
            try:
                transport.deliver(message, sender=settings.sender, recipient=recipient)
            except MailOutcomeUnknown as exc:
                _record(session, note_id, MailState.UNCERTAIN, now(), error=str(exc))
                session.commit()
                run.uncertain += 1
                break
            except (MailRefused, MailUnreachable) as exc:
                moment = now()
                if attempts >= settings.max_attempts:
                    _record(session, note_id, MailState.FAILED, moment, error=str(exc))
                    run.failed += 1
                else:
                    _record(session, note_id, MailState.PENDING, moment, error=str(exc),
                            retry_at=moment + retry_delay(attempts))
                    run.retrying += 1
                session.commit()
                if isinstance(exc, MailUnreachable):
                    break  # the others wait for the next run
                continue
            _record(session, note_id, MailState.SENT, now())
            session.commit()
            run.sent += 1
    finally:
        transport.close()
    return run


# The managers' view of the outbox --------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutboxView:
    undelivered: list[Notification]
    counts: dict[MailState, int]

    @property
    def problems(self) -> int:
        return sum(self.counts.get(state, 0) for state in UNDELIVERED)


def outbox(session: Session, *, actor: Actor) -> OutboxView:
    """The dead letters and the uncertain messages, newest first, and how many messages are in each state."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    counts = {MailState(state): int(n) for state, n in session.execute(
        select(Notification.mail_state, func.count(Notification.id)).group_by(Notification.mail_state))}
    listed = list(session.scalars(
        select(Notification).where(Notification.mail_state.in_(UNDELIVERED))
        .order_by(Notification.created_at.desc(), Notification.id.desc()).limit(LISTED)))
    return OutboxView(listed, {state: counts.get(state, 0) for state in MailState})


def undelivered_count(session: Session, *, actor: Actor) -> int:
    """How many messages wait for a manager: dead letters and uncertain ones (the home page's work queue)."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    return session.scalar(select(func.count(Notification.id))
                          .where(Notification.mail_state.in_(UNDELIVERED))) or 0


def send_again(session: Session, notification_id: int, *, actor: Actor, now: datetime) -> Notification:
    """A programme manager puts a dead letter (or an uncertain message) back in the queue, with fresh attempts.
    Flushes, never commits."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    note = session.get(Notification, notification_id)
    if note is None:
        raise NotFound("No such message.")
    if note.mail_state not in UNDELIVERED:
        raise RuleViolation(_("This message is %(state)s: only a message that was not delivered, or whose delivery "
                              "is uncertain, can be sent again.", state=note.mail_state.label))
    audit.record(session, actor, "mail.send_again", note, state=note.mail_state.value,
                 attempts=note.mail_attempts, last_error=note.send_error, at=now.isoformat())
    note.mail_state, note.mail_attempts = MailState.PENDING, 0
    note.next_attempt_at = note.claimed_at = note.send_error = None
    session.flush()
    return note


def confirm_arrived(session: Session, notification_id: int, *, actor: Actor, now: datetime) -> Notification:
    """A programme manager records that an uncertain message arrived after all (its reader says so): it leaves the
    outbox as sent, never to be sent again, and the audit log keeps who said so. Only an uncertain message: a dead
    letter was refused by the server, so it did not arrive. Flushes, never commits."""
    require_role(actor, Role.PROGRAMME_MANAGER)
    note = session.get(Notification, notification_id)
    if note is None:
        raise NotFound("No such message.")
    if note.mail_state != MailState.UNCERTAIN:
        raise RuleViolation(_("This message is %(state)s: only a message whose delivery is uncertain can be recorded "
                              "as arrived.", state=note.mail_state.label))
    audit.record(session, actor, "mail.confirmed_arrived", note, attempts=note.mail_attempts,
                 last_error=note.send_error, at=now.isoformat())
    note.mail_state, note.sent_at = MailState.SENT, now
    note.next_attempt_at = note.claimed_at = None
    session.flush()
    return note
