"""The API is throttled per token: one program that loops cannot starve the others, and a refusal says when to
come back (429, a problem, Retry-After)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from programme.accounts.models import TokenScope
from programme.accounts.services import access_tokens
from programme.extensions import db

NOW = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)


@pytest.fixture
def app_config():
    return {"RATELIMIT_ENABLED": True, "API_LIMIT_PER_TOKEN": "3 per minute"}


def _secret(user) -> str:
    made = access_tokens.make_token(name="loop", scopes={TokenScope.READ}, expires_on=NOW.date() + timedelta(30),
                                    actor=user, now=NOW, timezone="UTC")
    db.session.commit()
    return made.secret


def test_each_token_has_its_own_allowance(app, client, make_user, clock):
    clock(NOW)
    busy, quiet = _secret(make_user("busy@example.org")), _secret(make_user("quiet@example.org"))
    answers = [client.get("/api/v1/calls", headers={"Authorization": f"Bearer {busy}"}).status_code
               for _ in range(4)]
    assert answers == [200, 200, 200, 429]
    refused = client.get("/api/v1/calls", headers={"Authorization": f"Bearer {busy}"})
    assert refused.mimetype == "application/problem+json" and int(refused.headers["Retry-After"]) > 0
    assert client.get("/api/v1/calls", headers={"Authorization": f"Bearer {quiet}"}).status_code == 200
