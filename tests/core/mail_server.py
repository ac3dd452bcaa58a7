"""A real SMTP server for the mail tests (aiosmtpd, in a thread, on a free loopback port): it keeps what arrives,
can refuse every message, can ask for STARTTLS and a login (with a self-signed certificate made here)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "programme", "s3cret-mail-pass"


def free_port() -> int:
    """A loopback port nothing listens on (at the moment of asking)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class Arrived:
    sender: str
    recipients: list[str]
    message: EmailMessage


@dataclass
class Inbox:
    """The server's handler: what arrived, and the refusal to answer with (None: accept)."""

    arrived: list[Arrived] = field(default_factory=list)
    refuse: str | None = None
    logins: list[str] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802 - aiosmtpd's name
        if self.refuse:
            return self.refuse
        message = message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        self.arrived.append(Arrived(envelope.mail_from, list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        if isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
                USER.encode(), PASSWORD.encode()):
            self.logins.append(auth_data.login.decode())
            return AuthResult(success=True)
        return AuthResult(success=False, handled=False)


@dataclass
class Server:
    inbox: Inbox
    port: int
    client_tls: ssl.SSLContext | None = None


@contextmanager
def smtp_server(*, tls_folder: Path | None = None) -> Iterator[Server]:
    """A server on 127.0.0.1; with ``tls_folder``, one that requires STARTTLS and a login (USER, PASSWORD)."""
    inbox = Inbox()
    port = free_port()
    options: dict = {}
    client_tls = None
    if tls_folder is not None:
        server_tls, client_tls = _tls_contexts(tls_folder)
        options = {"tls_context": server_tls, "require_starttls": True, "auth_required": True,
                   "authenticator": inbox.authenticate}
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ready_timeout=10, **options)
    controller.start()
    try:
        yield Server(inbox, port, client_tls)
    finally:
        controller.stop()


def _tls_contexts(folder: Path) -> tuple[ssl.SSLContext, ssl.SSLContext]:
    """A self-signed certificate for 127.0.0.1: the server's context, and a client's that trusts it (and checks the
    host name, as the sender's default context does)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                       critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert_file, key_file)
    client = ssl.create_default_context(cafile=str(cert_file))
    return server, client
