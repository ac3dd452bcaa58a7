"""The hardened edges (issue 14, findings 6, 7, 9 and 10): headers on every response, route and query ids that
cannot overflow, the reverse proxy, the throttling store in production, private instance files."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from flask import request

from programme import ConfigurationError, create_app
from programme.config import ENVIRONMENT
from programme.core.access import Role
from programme.core.security import CONTENT_SECURITY_POLICY, LARGEST_ID, bounded_int

HUGE = "99999999999999999999"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for variable in (*ENVIRONMENT, "PROGRAMME_INSTANCE_PATH"):
        monkeypatch.delenv(variable, raising=False)
    return monkeypatch


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("path", ["/login", "/register", "/static/programme.css", "/no-such-page"])
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers  # demo mode: plain HTTP on localhost


def test_pages_carry_no_inline_script_or_style_the_policy_would_block(client, make_user, login):
    manager = make_user("pm@example.org", Role.PROGRAMME_MANAGER)
    login(manager)
    for path in ("/", "/manage/calls", "/dashboard/figures"):
        html = client.get(path).get_data(as_text=True)
        assert "<script>" not in html and " style=" not in html and "onclick=" not in html, path


def test_production_mode_adds_hsts(clean_env, tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path / "i"), "PROGRAMME_MODE": "production", "SECRET_KEY": "k",
                      "SQLALCHEMY_DATABASE_URI": "sqlite://", "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0"})
    response = app.test_client().get("/static/programme.css")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_production_mode_refuses_in_memory_throttling(clean_env, tmp_path):
    with pytest.raises(ConfigurationError, match="RATELIMIT_STORAGE_URI"):
        create_app({"INSTANCE_PATH": str(tmp_path / "i"), "PROGRAMME_MODE": "production", "SECRET_KEY": "k",
                    "SQLALCHEMY_DATABASE_URI": "sqlite://"})


@pytest.mark.parametrize("path", [f"/loans/{HUGE}", f"/groups/{LARGEST_ID + 1}", f"/manage/calls/{HUGE}",
                                  f"/initiatives/{HUGE}", f"/proposals/{LARGEST_ID + 1}"])
def test_an_id_beyond_any_table_answers_404(client, make_user, login, path):
    login(make_user("pm@example.org", Role.PROGRAMME_MANAGER, Role.FUND_ADMINISTRATOR))
    assert client.get(path).status_code == 404


@pytest.mark.parametrize("path", [f"/loans?fund={HUGE}", f"/initiatives?call={HUGE}", f"/initiatives?year={HUGE}",
                                  f"/loans?page={HUGE}", "/loans?fund=-1", "/loans?fund=x"])
def test_an_out_of_range_query_argument_reads_as_absent(client, make_user, login, path):
    login(make_user("pm@example.org", Role.PROGRAMME_MANAGER, Role.FUND_ADMINISTRATOR))
    assert client.get(path).status_code == 200


def test_bounded_int():
    assert bounded_int("42") == 42
    assert bounded_int(str(LARGEST_ID)) == LARGEST_ID
    for text in (str(LARGEST_ID + 1), HUGE, "x", ""):
        with pytest.raises(ValueError):
            bounded_int(text)


def test_no_route_or_view_parses_an_unbounded_integer():
    """`type=int` on a query argument accepts 10**20, which overflows the database: use bounded_int."""
    root = Path(__file__).resolve().parents[2] / "programme"
    offenders = [f"{path.relative_to(root)}:{n}" for path in root.rglob("*.py")
                 for n, line in enumerate(path.read_text().splitlines(), 1)
                 if "type=int" in line and "click" not in line and "@click" not in line]
    assert offenders == []


@pytest.mark.own_app
def test_behind_proxies_the_client_address_comes_from_the_forwarded_header(database_url, tmp_path):
    from tests.conftest import test_application

    app = test_application(database_url, {"PROXY_COUNT": 1}, own=True)

    @app.route("/_address")
    def _address() -> str:
        return f"{request.remote_addr} {request.scheme}"

    answer = app.test_client().get("/_address", headers={"X-Forwarded-For": "203.0.113.9",
                                                         "X-Forwarded-Proto": "https"})
    assert answer.get_data(as_text=True) == "203.0.113.9 https"


@pytest.mark.own_app
def test_without_proxies_a_forged_forwarded_header_is_ignored(database_url):
    from tests.conftest import test_application

    app = test_application(database_url, {"PROXY_COUNT": 0}, own=True)

    @app.route("/_address")
    def _address() -> str:
        return f"{request.remote_addr}"

    answer = app.test_client().get("/_address", headers={"X-Forwarded-For": "203.0.113.9"})
    assert answer.get_data(as_text=True) == "127.0.0.1"


def test_instance_files_are_private_to_the_apps_user(clean_env, tmp_path):
    instance = tmp_path / "instance"
    app = create_app({"INSTANCE_PATH": str(instance)})
    assert _mode(instance) == 0o700
    assert _mode(instance / "programme.sqlite") == 0o600
    assert _mode(instance / "secret_key") == 0o600
    assert _mode(Path(app.config["UPLOAD_FOLDER"])) == 0o700


def test_an_existing_world_readable_instance_folder_is_made_private(clean_env, tmp_path):
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o755)
    (instance / "programme.sqlite").touch(mode=0o644)
    create_app({"INSTANCE_PATH": str(instance)})
    assert _mode(instance) == 0o700
    assert _mode(instance / "programme.sqlite") == 0o600


def test_an_uploaded_file_is_private(tmp_path):
    import io

    from programme.core.files import store_upload

    stored = store_upload(io.BytesIO(b"%PDF-1.4 a letter"), "letter.pdf", tmp_path / "uploads", max_bytes=1000)
    assert _mode(tmp_path / "uploads") == 0o700
    assert _mode(tmp_path / "uploads" / stored.stored_name) == 0o600
