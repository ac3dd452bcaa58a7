"""The demo's dashboard shows the programme's targets (rules/programme.toml) against its figures, and the pilot
call's validity page says honestly that its sample is too small."""

from __future__ import annotations

from sqlalchemy import select

from programme.calls.models import Call, CallStatus
from programme.core.access import Role
from programme.demo import DEMO_USERS, seed_demo
from programme.extensions import db


def test_the_demo_dashboard_holds_the_programme_to_its_targets(app, client, login):
    assert seed_demo(app, echo=lambda line: None)
    manager = next(u for u in DEMO_USERS if Role.PROGRAMME_MANAGER in u.roles)
    login(manager.email, manager.password)
    html = client.get("/dashboard").get_data(as_text=True)
    section = html[html.index('id="targets"'):html.index('id="money"')]
    assert "Cluster Development Programme" in section
    for figure in ("co_financing_leveraged", "par30", "reports_on_time", "self_funding_share"):
        assert f'id="target-{figure}"' in section
    assert "✗ Not met" in section or "✓ Met" in section
    assert "<svg" in section
    # the pilot call, decided 14 months ago, is listed; its page shows n and draws no conclusion
    pilot = db.session.scalar(select(Call).where(Call.status == CallStatus.DECIDED, Call.stage_index.is_(None)))
    assert f'href="/dashboard/validity/{pilot.id}"' in html
    page = client.get(f"/dashboard/validity/{pilot.id}").get_data(as_text=True)
    assert "Sample too small: n = 3." in page and 'class="num rho"' not in page
    public = client.get("/programme-figures").get_data(as_text=True)
    assert "The programme's own targets" in public
