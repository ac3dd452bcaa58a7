"""/healthz, for a load balancer (issue 17): the database answers and the scheduler holding the lock is alive; 200
or 503 with no detail to the public; no login; never throttled; a programme manager may ask which check failed."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.exc import OperationalError

from programme.core import schedule_log
from programme.core.access import Role
from programme.core.schedule_log import SchedulerHeartbeat
from programme.extensions import db

OK = {"status": "ok"}
DOWN = {"status": "unavailable"}


@pytest.fixture
def app_config() -> dict:
    return {"HEALTH_CHECKS_SCHEDULER": True, "SCHEDULER_HEARTBEAT_SECONDS": 10}


def heartbeat(node: str = "host-a:1", *, seconds_ago: float = 0, holds_lock: bool = True) -> None:
    moment = schedule_log.wall_clock() - timedelta(seconds=seconds_ago)
    db.session.add(SchedulerHeartbeat(node=node, started_at=moment, last_beat_at=moment, holds_lock=holds_lock))
    db.session.commit()


def answer(client, path: str = "/healthz"):
    response = client.get(path)
    return response.status_code, response.get_json()


def test_healthy_when_the_database_answers_and_the_leader_beat_lately(client) -> None:
    heartbeat(seconds_ago=5)
    heartbeat("host-b:2", seconds_ago=1, holds_lock=False)
    response = client.get("/healthz")
    assert (response.status_code, response.get_json()) == (200, OK)
    assert response.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response.headers


@pytest.mark.parametrize("beats", [
    [],  # no scheduler ever started
    [("host-a:1", 31, True)],  # the leader's last beat is older than three heartbeats
    [("host-b:2", 1, False)],  # only a standby: nobody runs the jobs
], ids=["none", "stale", "standby-only"])
def test_unavailable_without_a_live_leader_and_no_detail_said(client, beats) -> None:
    for node, ago, holds in beats:
        heartbeat(node, seconds_ago=ago, holds_lock=holds)
    assert answer(client) == (503, DOWN)
    assert answer(client, "/healthz?detail=1") == (503, DOWN)  # the public gets no detail, asked or not


def test_the_heartbeat_age_allowed_is_configurable(app, client) -> None:
    heartbeat(seconds_ago=50)
    assert answer(client)[0] == 503
    app.config["HEALTH_HEARTBEAT_MAX_AGE_SECONDS"] = 60
    assert answer(client) == (200, OK)


def test_unavailable_when_the_database_does_not_answer(client, monkeypatch) -> None:
    heartbeat()

    def refuse(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("connection refused: secret-host:5432"))

    monkeypatch.setattr(db.session, "execute", refuse)
    response = client.get("/healthz")
    assert (response.status_code, response.get_json()) == (503, DOWN)
    assert "secret-host" not in response.get_data(as_text=True)


def test_a_programme_manager_may_see_which_check_failed(client, login, make_user) -> None:
    manager = make_user("manager@example.org", Role.PROGRAMME_MANAGER)
    login(manager)
    assert answer(client) == (503, DOWN)
    status, body = answer(client, "/healthz?detail=1")
    assert status == 503
    assert body == {**DOWN, "problems": ["no scheduler holds the lock: start `programme scheduler`"]}
    heartbeat(seconds_ago=100)
    assert answer(client, "/healthz?detail=1")[1]["problems"][0].startswith(
        "the scheduler holding the lock last beat 1")
    heartbeat("host-c:3")
    assert answer(client, "/healthz?detail=1") == (200, {**OK, "problems": []})


def test_other_people_logged_in_see_no_detail(client, login, make_user) -> None:
    login(make_user("applicant@example.org", Role.APPLICANT))
    assert answer(client, "/healthz?detail=1") == (503, DOWN)
    login(make_user("admin@example.org", Role.FUND_ADMINISTRATOR))
    assert answer(client, "/healthz?detail=1") == (503, DOWN)


def test_in_demo_mode_the_scheduler_is_not_checked_by_default(app, client) -> None:
    app.config["HEALTH_CHECKS_SCHEDULER"] = None
    assert app.config["PROGRAMME_MODE"] == "demo"
    assert answer(client) == (200, OK)
    app.config["PROGRAMME_MODE"] = "production"
    assert answer(client) == (503, DOWN)


class TestNeverThrottled:
    @pytest.fixture
    def app_config(self) -> dict:
        return {"HEALTH_CHECKS_SCHEDULER": False, "RATELIMIT_ENABLED": True, "RATELIMIT_DEFAULT": "3 per minute"}

    def test_a_load_balancer_asking_often_is_never_throttled(self, client) -> None:
        assert [client.get("/healthz").status_code for _ in range(10)] == [200] * 10
        assert [client.get("/calls").status_code for _ in range(4)][-1] == 429  # the default limit applies elsewhere


def test_only_get(client) -> None:
    assert client.post("/healthz", csrf=False).status_code == 405
