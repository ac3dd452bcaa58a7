"""An initiative's balanced scorecard: templates (good and bad files), starting once, the group's own KPIs with
the limits (one to three live per factor), what changed from the template, the template's copy, access for each
role, and the page through the test client."""

from __future__ import annotations

import hashlib
import re
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from programme.config import PROJECT_ROOT
from programme.core.access import AccessDenied, NotFound, RuleViolation
from programme.core.audit import AuditEntry
from programme.extensions import db
from programme.funding.models import InitiativeStatus
from programme.monitoring.models import Direction, KpiOrigin, Scorecard, ScorecardKpi
from programme.monitoring.services import scorecards as services
from programme.monitoring.services.scorecards import Change
from programme.rulebook import load_scorecard_template
from tests.funding.conftest import LATER, Funded, funded_initiative, loginable, page_text
from tests.proposals.builders import make_group
from tests.reviews.world import user
from tests.worlds import Kept, keep, reload

D = Decimal
RULES = PROJECT_ROOT / "rules"
SHIPPED = {"scottish_cluster": "scorecards/scottish-cluster.toml",
           "thai_food_cluster": "scorecards/thai-food-cluster.toml"}


@pytest.fixture(scope="module")
def funded_once(built_once) -> Kept:
    with built_once():
        return keep(funded_initiative())


@pytest.fixture
def f(app, funded_once: Kept) -> Funded:
    return reload(funded_once)


def start(f: Funded, key: str | None = "scottish_cluster", rules=RULES, by=None) -> Scorecard:
    card = services.start_scorecard(f.initiative, template_key=key, rules_folder=rules,
                                    actor=by or f.applicant, now=LATER)
    db.session.commit()
    return card


def kpi(card: Scorecard, key: str) -> ScorecardKpi:
    return next(k for k in services.kpis_of(card) if k.key == key)


def add(card: Scorecard, who, factor="overall_investment", name="Firms at the trade fair", **over):
    values = {"unit": "firms", "direction": "higher", "source": "stand register", "baseline": "3",
              "target": "12.5", **over}
    made = services.add_kpi(card, factor_key=factor, name=name, actor=who, now=LATER, **values)
    db.session.commit()
    return made


def update(k: ScorecardKpi, who, **over):
    values = {"name": k.name, "unit": k.unit, "direction": k.direction, "source": k.source,
              "baseline": k.baseline, "target": k.target, **over}
    return services.update_kpi(k, actor=who, now=LATER, **values)


# Templates -----------------------------------------------------------------------------------------------------


def test_both_shipped_templates_are_listed(app):
    listed = services.templates_available(RULES)
    assert {(key, file) for key, _, file in listed} == set(SHIPPED.items())


@pytest.mark.parametrize("key", sorted(SHIPPED))
def test_a_shipped_template_starts_a_scorecard_with_all_its_kpis(f, key):
    card = start(f, key)
    path = RULES / SHIPPED[key]
    template = load_scorecard_template(path)
    expected = [(p.key, fa.key, k.key, k.name, k.unit, k.direction, k.source)
                for p in template.perspectives for fa in p.factors for k in fa.kpis]
    kpis = services.kpis_of(card)
    assert [(k.perspective_key, k.factor_key, k.key, k.name, k.unit, k.direction.value, k.source)
            for k in kpis] == expected
    assert all(k.origin == KpiOrigin.TEMPLATE and k.live for k in kpis)
    assert card.template_key == key and card.template_file == SHIPPED[key]
    assert card.template_source == path.read_text(encoding="utf-8")
    assert card.template_sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert services.changes_from_template(card) == []
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "scorecard.started")) is not None


def test_the_calls_template_is_the_default(f):
    assert start(f, None).template_key == f.initiative.call.rules.monitoring.scorecard == "scottish_cluster"


BAD = '''[scorecard]
key = "broken"
name = "A broken template"
source = "nowhere in particular"

[[perspectives]]
key = "money"
title = "Money"

[[perspectives.factors]]
key = "cash"
title = "Cash in hand"

[[perspectives.factors.kpis]]
key = "cash_held"
name = "Cash held"
unit = "EUR"
direction = "sideways"
source = "bank statements"
'''


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    (folder / "scorecards").mkdir(parents=True)
    shutil.copy(RULES / SHIPPED["scottish_cluster"], folder / "scorecards" / "scottish-cluster.toml")
    (folder / "scorecards" / "broken.toml").write_text(BAD, encoding="utf-8")
    (folder / "scorecards" / "not-toml.toml").write_text("[scorecard\nkey =", encoding="utf-8")
    return folder


def test_a_bad_template_is_skipped_in_the_list_and_refused_by_name(f, rules):
    assert [key for key, _, _ in services.templates_available(rules)] == ["scottish_cluster"]
    with pytest.raises(RuleViolation) as refused:
        services.load_template(rules, "broken")
    assert "scorecards/broken.toml" in refused.value.message
    assert "perspectives[0].factors[0].kpis[0].direction" in refused.value.message
    assert refused.value.field == "template"
    with pytest.raises(RuleViolation, match=r"scorecards/not-toml.toml.*not valid TOML"):
        services.load_template(rules, "not_toml")
    with pytest.raises(RuleViolation, match="no scorecard template 'nothing'"):
        services.load_template(rules, "nothing")
    with pytest.raises(RuleViolation, match="broken.toml"):
        start(f, "broken", rules)
    db.session.rollback()
    assert services.get_scorecard(f.initiative, actor=f.manager) is None


def test_editing_the_file_after_the_start_changes_nothing(f, rules):
    card = start(f, "scottish_cluster", rules)
    path = rules / "scorecards" / "scottish-cluster.toml"
    path.write_text(path.read_text(encoding="utf-8").replace(
        "Capital investment by member companies in the period", "Something else entirely"), encoding="utf-8")
    db.session.expire_all()
    card = db.session.get(Scorecard, card.id)
    assert services.changes_from_template(card) == []
    assert kpi(card, "member_investment").name == "Capital investment by member companies in the period"
    assert card.template_sha256 != hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_scorecard_is_started_once(f):
    start(f)
    with pytest.raises(RuleViolation, match="already has a scorecard"):
        start(f, "thai_food_cluster", by=f.manager)
    db.session.rollback()
    assert len(list(db.session.scalars(select(Scorecard)))) == 1


# The group's own KPIs ------------------------------------------------------------------------------------------


def test_the_group_adds_renames_drops_and_restores_within_the_limits(f):
    card = start(f)
    own = add(card, f.applicant, baseline="3", target="12.5")
    assert (own.key, own.origin, own.baseline, own.target) == ("firms_at_the_trade_fair", KpiOrigin.GROUP,
                                                               D("3"), D("12.5"))
    assert own.perspective_key == "economic_financial" and own.factor_title == "Levels of overall Investment"
    with pytest.raises(RuleViolation, match="already has 3 KPIs") as fourth:
        add(card, f.applicant, name="A fourth one")
    assert fourth.value.field == "factor"
    db.session.rollback()
    with pytest.raises(RuleViolation) as nowhere:
        add(card, f.applicant, factor="no_such_factor", name="Elsewhere")
    assert nowhere.value.field == "factor"
    db.session.rollback()
    with pytest.raises(RuleViolation) as twice:
        add(card, f.applicant, factor="company_performance", name="firms at the trade fair")
    assert twice.value.field == "name"
    db.session.rollback()

    renamed = update(own, f.applicant, name="Member firms at the trade fair", unit="companies", target=D("15"))
    db.session.commit()
    assert (renamed.name, renamed.unit, renamed.target, renamed.key) == (
        "Member firms at the trade fair", "companies", D("15"), "firms_at_the_trade_fair")

    with pytest.raises(RuleViolation) as no_reason:
        services.drop_kpi(own, reason="  ", actor=f.applicant, now=LATER)
    assert no_reason.value.field == "reason"
    services.drop_kpi(own, reason="The fair was cancelled.", actor=f.applicant, now=LATER)
    db.session.commit()
    assert not own.live and own.drop_reason == "The fair was cancelled."
    add(card, f.applicant, name="A third one after the drop")
    with pytest.raises(RuleViolation, match="already has 3 KPIs"):
        services.restore_kpi(own, actor=f.applicant, now=LATER)
    db.session.rollback()
    services.drop_kpi(kpi(card, "inward_investment_projects"), reason="Not measurable here.", actor=f.manager,
                      now=LATER)
    services.restore_kpi(own, actor=f.applicant, now=LATER)
    db.session.commit()
    assert own.live and own.drop_reason is None and own.dropped_at is None

    last = kpi(card, "gross_value_added_per_employee")
    with pytest.raises(RuleViolation, match="last KPI") as alone:
        services.drop_kpi(last, reason="Hard to measure.", actor=f.applicant, now=LATER)
    assert alone.value.field == "reason"
    db.session.rollback()
    assert kpi(card, "gross_value_added_per_employee").live


@pytest.mark.parametrize(("value", "field"), [("1.23456", "baseline"), ("abc", "target"), ("NaN", "baseline"),
                                              ("1e20", "target")])
def test_a_bad_number_is_refused_on_its_field(f, value, field):
    card = start(f)
    with pytest.raises(RuleViolation) as refused:
        add(card, f.applicant, **{field: value})
    assert refused.value.field == field
    db.session.rollback()
    with pytest.raises(RuleViolation) as float_refused:
        update(kpi(card, "member_investment"), f.applicant, baseline=1.5)
    assert float_refused.value.field == "baseline"


def test_four_decimal_places_are_kept_exactly(f):
    card = start(f)
    k = update(kpi(card, "member_investment"), f.applicant, baseline="1234567890.1234", target=D("0.0001"))
    db.session.commit()
    db.session.expire_all()
    assert (k.baseline, k.target) == (D("1234567890.1234"), D("0.0001"))


def test_changes_from_the_template_are_exact(f):
    card = start(f)
    own = add(card, f.applicant, name="Firms at the trade fair")
    update(kpi(card, "member_investment"), f.applicant, name="Capital invested by members", unit="EUR thousand",
           baseline="10", target="20")
    update(kpi(card, "export_growth"), f.applicant, direction=Direction.LOWER, source="customs data")
    update(kpi(card, "market_growth"), f.manager, baseline="1.5", target="2")  # not a change
    services.drop_kpi(kpi(card, "market_share"), reason="No data on the market.", actor=f.applicant, now=LATER)
    db.session.commit()
    assert services.changes_from_template(card) == [
        Change("renamed", "member_investment", "Levels of overall Investment", "Capital invested by members",
               "Capital investment by member companies in the period", "Capital invested by members"),
        Change("unit", "member_investment", "Levels of overall Investment", "Capital invested by members",
               "EUR", "EUR thousand"),
        Change("direction", "export_growth", "Company Performance", kpi(card, "export_growth").name,
               "Higher is better", "Lower is better"),
        Change("source", "export_growth", "Company Performance", kpi(card, "export_growth").name,
               load_source(card, "export_growth"), "customs data"),
        Change("dropped", "market_share", kpi(card, "market_share").factor_title, kpi(card, "market_share").name, None,
               "No data on the market."),
        Change("added", own.key, "Levels of overall Investment", "Firms at the trade fair", None,
               "Firms at the trade fair"),
    ]


def load_source(card: Scorecard, key: str) -> str:
    return next(k.source for p in card.template.perspectives for fa in p.factors for k in fa.kpis if k.key == key)


# Access --------------------------------------------------------------------------------------------------------


def test_access_for_each_role(f):
    card = start(f)
    other = user("other@group.test")
    make_group(other, name="Another Group")
    fund_admin = f.admin
    for outsider in (other, f.reviewer):
        with pytest.raises(NotFound):
            services.get_scorecard(f.initiative, actor=outsider)
        with pytest.raises(NotFound):
            add(card, outsider, name="Not theirs")
    assert services.get_scorecard(f.initiative, actor=fund_admin) == card
    with pytest.raises(AccessDenied):
        add(card, fund_admin, name="Not theirs either")
    with pytest.raises(AccessDenied):
        services.drop_kpi(kpi(card, "export_growth"), reason="No.", actor=fund_admin, now=LATER)
    db.session.rollback()
    assert add(card, f.manager, name="The manager's KPI").origin == KpiOrigin.GROUP
    assert add(card, f.applicant, factor="company_performance", name="The group's KPI").live


def test_a_terminated_initiative_shows_its_scorecard_and_refuses_changes(f):
    card = start(f)
    f.initiative.status = InitiativeStatus.TERMINATED
    db.session.commit()
    assert services.get_scorecard(f.initiative, actor=f.applicant) == card
    with pytest.raises(RuleViolation, match="terminated"):
        add(card, f.applicant, name="Too late")
    with pytest.raises(RuleViolation, match="terminated"):
        update(kpi(card, "export_growth"), f.manager, name="Too late")


# The page ------------------------------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def frozen(clock):
    clock(LATER)


@pytest.fixture
def pf(f: Funded) -> Funded:
    """The funded initiative, its people given addresses the login form accepts."""
    return loginable(f)


text = page_text


def page(f: Funded) -> str:
    return f"/initiatives/{f.initiative.id}/scorecard"


def the_card(f: Funded) -> Scorecard:
    db.session.expire_all()
    return db.session.scalar(select(Scorecard).where(Scorecard.initiative_id == f.initiative.id))


def test_the_group_starts_and_shapes_the_scorecard_through_the_page(client, login, pf):
    login(pf.applicant.email)
    assert f'href="{page(pf)}"' in client.get(f"/initiatives/{pf.initiative.id}").get_data(as_text=True)
    empty = client.get(page(pf)).get_data(as_text=True)
    assert 'action="' + page(pf) + '"' in empty
    assert '<option selected value="scottish_cluster">' in empty or 'value="scottish_cluster" selected' in empty

    assert client.post(page(pf), data={"template": "thai_food_cluster"}).status_code == 302
    card = the_card(pf)
    assert card.template_key == "thai_food_cluster" and len(services.kpis_of(card)) == 26
    shown = text(client.get(page(pf)))
    assert "Access to Loans" in shown or "access" in shown.lower()
    assert "From the template" in shown and "Changes from the template" in shown

    response = client.post(f"{page(pf)}/kpis", data={
        "factor": "quality_goods_services", "name": "Tasting panel score", "unit": "points", "direction": "higher",
        "source": "monthly tasting panel", "baseline": "6.5", "target": "8"})
    assert response.status_code == 302
    own = kpi(the_card(pf), "tasting_panel_score")
    assert (own.baseline, own.target, own.origin) == (D("6.5"), D("8"), KpiOrigin.GROUP)

    response = client.post(f"/scorecard-kpis/{own.id}", data={
        "name": "Tasting panel mean score", "unit": "points", "direction": "higher",
        "source": "monthly tasting panel", "baseline": "6.5", "target": "8.25"})
    assert response.status_code == 302
    assert kpi(the_card(pf), "tasting_panel_score").name == "Tasting panel mean score"

    assert client.post(f"/scorecard-kpis/{own.id}/drop", data={"reason": "Panel disbanded."}).status_code == 302
    shown = text(client.get(page(pf)))
    assert "Panel disbanded." in shown and "Dropped" in shown and "Added by the group" in shown
    assert client.post(f"/scorecard-kpis/{own.id}/restore").status_code == 302
    assert kpi(the_card(pf), "tasting_panel_score").live


def test_a_bad_form_shows_the_error_on_its_field_and_keeps_what_was_typed(client, login, pf):
    card = start(pf, by=pf.manager)
    login(pf.applicant.email)
    response = client.post(f"{page(pf)}/kpis", data={
        "factor": "overall_investment", "name": "Fair visitors", "unit": "people", "direction": "higher",
        "source": "ticket counts", "baseline": "1.23456", "target": "9"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert re.search(r'has-error">\s*<label for="baseline">', body)
    assert "Use at most 4 decimal places." in body and 'value="Fair visitors"' in body

    response = client.post(f"{page(pf)}/kpis", data={
        "factor": "overall_investment", "name": "Fair visitors", "unit": "people", "direction": "higher",
        "source": "ticket counts", "baseline": "1", "target": "9"})
    assert response.status_code == 302
    response = client.post(f"{page(pf)}/kpis", data={
        "factor": "overall_investment", "name": "One too many", "unit": "people", "direction": "higher",
        "source": "ticket counts"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert re.search(r'has-error">\s*<label for="factor">', body) and "already has 3 KPIs" in body
    assert 'value="One too many"' in body

    alone = kpi(card, "gross_value_added_per_employee")
    response = client.post(f"/scorecard-kpis/{alone.id}/drop", data={"reason": "Hard to measure."})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert re.search(rf'has-error">\s*<label for="reason-{alone.id}">', body) and "last KPI" in body
    response = client.post(f"/scorecard-kpis/{alone.id}/drop", data={"reason": ""})
    assert "Say why the KPI is dropped." in response.get_data(as_text=True)
    response = client.post(f"/scorecard-kpis/{alone.id}", data={
        "name": "", "unit": "EUR", "direction": "higher", "source": "accounts", "target": "abc"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Give the KPI&#39;s name." in body or "Give the KPI's name." in body
    assert re.search(rf'has-error">\s*<label for="target-{alone.id}">', body)
    assert kpi(the_card(pf), "gross_value_added_per_employee").live


def test_pages_for_each_role(client, login, pf):
    card = start(pf)
    k = kpi(card, "export_growth")
    other = user("other@group.example.org")
    make_group(other, name="Another Group")
    db.session.commit()
    for outsider in (other, pf.reviewer):
        login(outsider.email)
        assert client.get(page(pf)).status_code == 404
        assert client.post(f"/scorecard-kpis/{k.id}/drop", data={"reason": "Mine now."}).status_code == 404
        assert client.post(f"{page(pf)}/kpis", data={"name": "x"}).status_code == 404
        client.post("/logout")
    login(pf.admin.email)
    shown = client.get(page(pf))
    assert shown.status_code == 200 and k.name in text(shown)
    assert "/drop" not in shown.get_data(as_text=True) and "Changes from the template" not in text(shown)
    assert client.post(f"/scorecard-kpis/{k.id}/drop", data={"reason": "No."}).status_code == 403
    assert client.post(f"{page(pf)}/kpis", data={"name": "x"}).status_code == 403
    client.post("/logout")
    login(pf.manager.email)
    assert "Changes from the template" in text(client.get(page(pf)))
    assert client.post(f"/scorecard-kpis/{k.id}/drop", data={"reason": "Manager's call."}).status_code == 302
    assert not kpi(the_card(pf), "export_growth").live
    assert client.post(page(pf), data={"template": "scottish_cluster"}).status_code == 422
