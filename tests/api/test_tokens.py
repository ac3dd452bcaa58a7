"""Personal access tokens: made by their owner on the account page and shown once, stored as a SHA-256 only,
scoped, expiring, revocable; the API refuses a token that is unknown, expired, revoked or of a closed account."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import select

from programme.accounts import services as accounts
from programme.accounts.models import PersonalAccessToken, TokenScope
from programme.accounts.services import access_tokens
from programme.core.access import NotFound, RuleViolation
from programme.extensions import db
from tests.conftest import SETUP

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
TODAY = date(2026, 12, 6)


def _make(user, *, name="Accounting system", scopes=frozenset({TokenScope.READ}), expires_on=TODAY + timedelta(30),
          now=NOW):
    made = access_tokens.make_token(name=name, scopes=set(scopes), expires_on=expires_on, actor=user, now=now,
                                    timezone="UTC")
    db.session.commit()
    return made


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_a_token_is_stored_as_its_digest_only(app, make_user):
    user = make_user("owner@example.org")
    made = _make(user)
    row = db.session.scalar(select(PersonalAccessToken))
    assert made.secret.startswith("cfp_") and len(made.secret) > 40
    assert row.token_hash == hashlib.sha256(made.secret.encode()).hexdigest()
    stored = " ".join(str(getattr(row, c.key)) for c in PersonalAccessToken.__table__.columns)
    assert made.secret not in stored
    assert row.prefix == made.secret[:10] and row.scopes == "read"


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"name": "   "}, "name"),
    ({"scopes": frozenset({TokenScope.WRITE})}, "scopes"),
    ({"expires_on": TODAY - timedelta(1)}, "expires_on"),
    ({"expires_on": TODAY + timedelta(366)}, "expires_on"),
])
def test_bad_tokens_are_refused_naming_the_field(app, make_user, kwargs, field):
    user = make_user("owner@example.org")
    with pytest.raises(RuleViolation) as refused:
        _make(user, **kwargs)
    assert refused.value.field == field
    db.session.rollback()
    assert db.session.scalar(select(PersonalAccessToken)) is None


def test_a_year_is_the_longest_life(app, make_user):
    user = make_user("owner@example.org")
    assert _make(user, expires_on=TODAY + timedelta(365)).token.expires_at == datetime(2027, 12, 7, tzinfo=UTC)


def test_only_the_owner_revokes_a_token(app, make_user):
    owner, other = make_user("owner@example.org"), make_user("other@example.org")
    made = _make(owner)
    with pytest.raises(NotFound):
        access_tokens.revoke_token(made.token.id, actor=other, now=NOW)
    access_tokens.revoke_token(made.token.id, actor=owner, now=NOW)
    assert made.token.revoked_at == NOW


def test_the_api_refuses_unknown_expired_revoked_and_closed(app, client, make_user, clock):
    clock(NOW)
    owner = make_user("owner@example.org")
    live, revoked, expiring = _make(owner), _make(owner, name="Old"), _make(owner, name="Short", expires_on=TODAY)
    access_tokens.revoke_token(revoked.token.id, actor=owner, now=NOW)
    db.session.commit()
    assert client.get("/api/v1/funds", headers=_bearer(live.secret)).get_json()["items"] == []  # of no group
    for secret in (revoked.secret, live.secret + "x", "cfp_" + "a" * 43, "not-even-a-token"):
        response = client.get("/api/v1/funds", headers=_bearer(secret))
        assert response.status_code == 401, secret
        assert response.mimetype == "application/problem+json"
        assert "Bearer" in response.headers["WWW-Authenticate"]
    clock(datetime(2026, 12, 7, 0, 0, tzinfo=UTC))  # the end of its last day
    assert client.get("/api/v1/funds", headers=_bearer(expiring.secret)).status_code == 401
    accounts.set_active(owner, False, actor=SETUP)
    db.session.commit()
    assert client.get("/api/v1/funds", headers=_bearer(live.secret)).status_code == 401


def test_a_token_that_only_reads_cannot_write(app, client, make_user, clock):
    clock(NOW)
    owner = make_user("owner@example.org")
    made = _make(owner)
    response = client.post("/api/v1/loans/1/repayments", headers=_bearer(made.secret),
                           json={"amount": "10.00", "value_date": "2026-12-01", "bank_reference": "B-1"})
    assert response.status_code == 403
    assert "write" in response.get_json()["detail"]


def test_a_malformed_authorization_header_is_refused(app, client):
    response = client.get("/api/v1/calls", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert response.status_code == 401


def test_the_account_page_shows_a_new_token_once(app, client, login, make_user, clock):
    clock(NOW)
    owner = make_user("owner@example.org")
    login(owner)
    response = client.post("/account/tokens", data={"name": "Bank feed", "write": "y", "expires_on": "31/12/2026"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    secret = re.search(r'value="(cfp_[^"]+)"', page).group(1)
    assert "shown this once" in page
    assert "Set-Cookie" not in response.headers or secret not in response.headers["Set-Cookie"]
    listed = client.get("/account/tokens").get_data(as_text=True)
    assert "Bank feed" in listed and secret not in listed and secret[:10] in listed
    token = db.session.scalar(select(PersonalAccessToken))
    assert token.scope_set == {TokenScope.READ, TokenScope.WRITE}
    assert client.get("/api/v1/calls", headers=_bearer(secret)).status_code == 200
    db.session.refresh(token)
    assert token.last_used_at == NOW
    assert client.post(f"/account/tokens/{token.id}/revoke").status_code == 302
    assert client.get("/api/v1/calls", headers=_bearer(secret)).status_code == 401


def test_the_account_page_refuses_a_bad_token_beside_its_field(app, client, login, make_user, clock):
    clock(NOW)
    login(make_user("owner@example.org"))
    response = client.post("/account/tokens", data={"name": "Feed", "expires_on": "31/12/2031"})
    assert response.status_code == 422
    assert "at most a year" in response.get_data(as_text=True)
    assert db.session.scalar(select(PersonalAccessToken)) is None


def test_another_persons_token_cannot_be_revoked_by_id(app, client, login, make_user, clock):
    clock(NOW)
    owner, other = make_user("owner@example.org"), make_user("other@example.org")
    made = _make(owner)
    login(other)
    assert client.post(f"/account/tokens/{made.token.id}/revoke").status_code == 404
    db.session.refresh(made.token)
    assert made.token.revoked_at is None
