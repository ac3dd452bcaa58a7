"""What the dashboard's page tests share: the clock at the generated data's day, and the world of
tests/dashboard/world.py built once per module with addresses the login form accepts.

A module asks for the clock with ``pytestmark = pytest.mark.usefixtures("on_the_worlds_day")`` and for the world by
naming ``world`` (a module that builds the world another way defines its own ``world_once``)."""

from __future__ import annotations

import pytest

from tests.dashboard.world import NOW, ZONE, DashboardWorld, world_to_log_in
from tests.worlds import Kept, reload


@pytest.fixture
def on_the_worlds_day(clock) -> None:
    """The pages' clock frozen at the generated data's day."""
    clock(NOW)


@pytest.fixture(scope="module")
def world_once(built_once) -> Kept:
    with built_once() as app:
        return world_to_log_in(app)


@pytest.fixture
def world(app, world_once: Kept) -> DashboardWorld:
    app.config["PROGRAMME_TIMEZONE"] = ZONE
    return reload(world_once)
