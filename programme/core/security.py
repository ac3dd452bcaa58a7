"""The application's hardened edges, set once in the factory: response headers, the reverse proxy, the throttling
store, private instance files, and route arguments that can never overflow a database integer."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask, Response
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

#: The largest id any table holds (a PostgreSQL ``integer``); a larger number in a URL names nothing.
LARGEST_ID = 2**31 - 1

#: Only the app's own stylesheet and images; no script at all; never inside a frame; forms post only here.
CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
))

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}

#: Strict-Transport-Security in production mode (served over HTTPS): a year, subdomains included.
HSTS = "max-age=31536000; includeSubDomains"


class BoundedIntegerConverter(IntegerConverter):
    """``<int:...>`` in every route: a number above the largest id does not match, so it answers 404 like any
    other id that names nothing, never an overflow in the database (a 500)."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002 (werkzeug's name)
        kwargs.setdefault("max", LARGEST_ID)
        super().__init__(map, *args, **kwargs)


def bounded_int(text: str) -> int:
    """A query argument that must be an id or a small number (``request.args.get(name, type=bounded_int)``): a
    value that is not a number, or is out of a database integer's range, reads as absent (the default)."""
    value = int(text)
    if not -LARGEST_ID <= value <= LARGEST_ID:
        raise ValueError(f"{text} is out of range")
    return value


def add_security_headers(app: Flask) -> None:
    production = app.config["PROGRAMME_MODE"] == "production"

    @app.after_request
    def _headers(response: Response) -> Response:
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if production:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response


def trust_proxies(app: Flask) -> None:
    """Behind ``PROXY_COUNT`` reverse proxies, the client's address, scheme and host come from the headers those
    proxies set (X-Forwarded-For, -Proto, -Host), so throttling counts each client, not the proxy. Zero (the
    default) trusts no such header: anyone could forge them."""
    count = int(app.config.get("PROXY_COUNT") or 0)
    if count > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)  # type: ignore[method-assign]


def make_private(path: Path, *, folder: bool) -> None:
    """An instance folder (0700) or file (0600) that only the app's own user may read."""
    if folder:
        path.mkdir(parents=True, exist_ok=True)
        os.chmod(path, 0o700)
    elif not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    else:
        os.chmod(path, 0o600)


def harden(app: Flask) -> None:
    """Everything above, once, from the application factory."""
    app.url_map.converters["int"] = BoundedIntegerConverter
    add_security_headers(app)
    trust_proxies(app)
