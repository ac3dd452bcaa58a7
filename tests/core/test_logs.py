"""The logs (issue 17): in production mode one JSON object per line with the request's id, echoed in the answer's
X-Request-ID; the id of a trusted proxy kept; the demo's readable lines untouched; and no password, cookie, CSRF
token, secret key or mail password ever logged, through a login (right and wrong password) and a repayment."""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select

from programme.core import logs
from programme.extensions import db
from programme.loans.models import Repayment
from tests.conftest import PASSWORD
from tests.loans.world import FIRST_DUE, NOW, loan_world

SECRET_KEY = "s3cret-key-for-the-log-test-0123456789"
MAIL_PASSWORD = "mail-pa55word-never-logged"
WRONG_PASSWORD = "wrong-horse-battery-staple-42"

pytestmark = pytest.mark.own_app  # each test's app installs its log handler afresh


@pytest.fixture
def app_config() -> dict:
    return {"PROGRAMME_MODE": "production", "SECRET_KEY": SECRET_KEY, "MAIL_PASSWORD": MAIL_PASSWORD,
            "MAIL_USERNAME": "programme", "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/15",
            "SESSION_COOKIE_SECURE": False, "LOG_LEVEL": "DEBUG"}


@pytest.fixture(autouse=True)
def _root_logger_restored() -> Iterator[None]:
    """The app's handler goes on the root logger: put the root back as it was after each test."""
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    yield
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


@pytest.fixture
def buffer(app) -> io.StringIO:
    handler = logs.handler()
    assert handler is not None, "production mode installs the JSON handler"
    out = io.StringIO()
    handler.setStream(out)
    return out


def lines(buffer: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]


def requests_logged(buffer: io.StringIO) -> list[dict]:
    return [line for line in lines(buffer) if line["logger"] == "programme.requests"]


def test_each_request_is_one_json_line_with_its_id_echoed(client, buffer) -> None:
    response = client.get("/calls?page=2&token=query-secret")  # not hex: a request id cannot hold it
    request_id = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    (line,) = requests_logged(buffer)
    assert line["request_id"] == request_id
    assert (line["method"], line["path"], line["status"], line["level"]) == ("GET", "/calls", 200, "INFO")
    assert line["message"] == "GET /calls 200"
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", line["time"])
    assert "user_id" not in line and "query-secret" not in buffer.getvalue()  # no query string, ever
    assert client.get("/calls").headers["X-Request-ID"] != request_id  # a new id per request


def test_every_line_of_a_request_carries_its_id(app, client, buffer) -> None:
    response = client.get("/no/such/page")
    app.logger.warning("outside any request")
    found = [line for line in lines(buffer) if line.get("request_id") == response.headers["X-Request-ID"]]
    assert found and all(line["path"] == "/no/such/page" for line in found)
    outside = [line for line in lines(buffer) if line["message"] == "outside any request"]
    assert outside and "request_id" not in outside[0] and outside[0]["logger"] == "programme"


def test_the_logged_in_user_is_logged_by_id_never_by_address(client, buffer, login, make_user) -> None:
    user = make_user("someone@example.org")
    login(user)
    client.get("/")
    (home,) = [line for line in requests_logged(buffer) if line["path"] == "/"]
    assert home["user_id"] == user.id
    assert "someone@example.org" not in buffer.getvalue()


def test_a_path_holding_a_token_is_logged_as_its_route(client, buffer) -> None:
    client.get("/reset/AbCdEf0123456789-secret-reset-token")
    assert "secret-reset-token" not in buffer.getvalue()
    assert [line["path"] for line in requests_logged(buffer)] == ["/reset/<token>"]


def test_without_a_trusted_proxy_a_given_request_id_is_replaced(app, client, buffer) -> None:
    response = client.get("/calls", headers={"X-Request-ID": "lb-7f3a-0001"})
    assert response.headers["X-Request-ID"] != "lb-7f3a-0001"  # no proxy trusted: anyone could set it


@pytest.mark.parametrize(("given", "kept"), [
    ("lb-7f3a-0001", True),
    ("4bf92f3577b34da6a3ce929d0e0e4736", True),
    ("<script>alert(1)</script>", False),
    ("x" * 129, False),
    ("", False),
])
def test_a_proxys_request_id_is_kept_only_when_it_looks_like_one(app_config, given, kept, database_url) -> None:
    from tests.conftest import test_application

    trusted = test_application(database_url, {**app_config, "PROXY_COUNT": 1}, own=True)
    with trusted.app_context():
        response = trusted.test_client().get("/healthz", headers={"X-Request-ID": given})
    assert (response.headers["X-Request-ID"] == given) is kept
    if not kept:
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_demo_mode_keeps_flasks_readable_lines(database_url) -> None:
    from tests.conftest import test_application

    before = logs.handler()  # (None, unless another module's production app installed one in this process)
    demo = test_application(database_url, {"PROGRAMME_MODE": "demo"}, own=True)
    assert logs.handler() is before
    with demo.app_context():
        response = demo.test_client().get("/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])  # the id is there all the same


def test_the_format_can_be_chosen_and_a_bad_one_is_refused(database_url) -> None:
    from tests.conftest import test_application

    test_application(database_url, {"PROGRAMME_MODE": "demo", "LOG_FORMAT": "text"}, own=True)
    handler = logs.handler()
    assert handler is not None and not isinstance(handler.formatter, logs.JsonFormatter)
    with pytest.raises(ValueError, match="LOG_FORMAT must be json or text"):
        test_application(database_url, {"PROGRAMME_MODE": "demo", "LOG_FORMAT": "xml"}, own=True)


def test_no_secret_is_ever_logged_through_a_login_and_a_repayment(app, client, buffer, clock) -> None:
    clock(NOW)
    w = loan_world()
    w.admin.email = "admin@funds.example.org"
    db.session.commit()
    loan_id = w.loan.id

    wrong = client.post("/login", data={"email": w.admin.email, "password": WRONG_PASSWORD})
    assert wrong.status_code == 200
    unknown = client.post("/login", data={"email": "nobody@example.org", "password": WRONG_PASSWORD})
    assert unknown.status_code == 200
    right = client.post("/login", data={"email": w.admin.email, "password": PASSWORD})
    assert right.status_code == 302
    csrf = client.csrf_token()
    paid = client.post(f"/loans/{loan_id}/repayments", data={
        "amount": "100.00", "value_date": FIRST_DUE.isoformat(), "bank_reference": "PAY-LOG-1", "csrf_token": csrf})
    assert paid.status_code == 302
    again = client.post(f"/loans/{loan_id}/repayments", data={
        "amount": "100.00", "value_date": FIRST_DUE.isoformat(), "bank_reference": "PAY-LOG-1", "csrf_token": csrf})
    assert again.status_code == 302  # the same repayment again: recorded once
    assert db.session.scalar(select(func.count()).select_from(Repayment)) == 1
    bad_form = client.post(f"/loans/{loan_id}/repayments", data={"amount": "100.00"}, csrf=False)
    assert bad_form.status_code in (200, 400)
    app.logger.exception("an error logged with the request's fields")

    with client.session_transaction() as session:
        raw_csrf = session["csrf_token"]
    cookies = {cookie.key: cookie.value for cookie in client._cookies.values()}
    assert cookies.get("session")
    text = buffer.getvalue()
    logged = requests_logged(buffer)
    assert [line["status"] for line in logged if line["path"] == "/login"] == [200, 200, 302]
    assert any(line["path"] == f"/loans/{loan_id}/repayments" and line["status"] == 302 for line in logged)
    secrets = {"the right password": PASSWORD, "the wrong password": WRONG_PASSWORD, "the secret key": SECRET_KEY,
               "the mail password": MAIL_PASSWORD, "the CSRF token": csrf, "the raw CSRF token": raw_csrf,
               "the address": w.admin.email}
    secrets.update({f"the cookie {name}": value for name, value in cookies.items()})
    for what, secret in secrets.items():
        assert secret not in text, f"{what} was logged"


def test_apscheduler_says_only_what_matters_at_info(database_url) -> None:
    """At INFO the scheduler's own line reports each run; APScheduler's three lines per run are left out, its
    warnings kept. At DEBUG, nothing is left out."""
    from tests.conftest import test_application

    saved = logging.getLogger("apscheduler").level
    try:
        test_application(database_url, {"PROGRAMME_MODE": "production", "SECRET_KEY": SECRET_KEY,
                                        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/15",
                                        "LOG_FORMAT": "json", "LOG_LEVEL": "INFO"}, own=True)
        aps = logging.getLogger("apscheduler")
        assert not aps.isEnabledFor(logging.INFO) and aps.isEnabledFor(logging.WARNING)
        test_application(database_url, {"PROGRAMME_MODE": "production", "SECRET_KEY": SECRET_KEY,
                                        "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/15",
                                        "LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG"}, own=True)
        assert logging.getLogger("apscheduler").getEffectiveLevel() == logging.DEBUG
    finally:
        logging.getLogger("apscheduler").setLevel(saved)
