"""A scorecard started in the starter's language: the template's perspectives, factors and KPIs are copied in the
language the person reads (the one chosen on their account, else the one being answered in), the scorecard records
it, the changes from the template are read against the template in that language (a Spanish copy is not "renamed"
everywhere, a rename the group made is shown), the template chooser names the templates in the reader's language,
and the benchmarking pages name a KPI shared by scorecards copied in different languages as the template names it in
the reader's language."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask_babel import refresh
from sqlalchemy import select

from programme.config import PROJECT_ROOT
from programme.core.access import Role
from programme.core.audit import AuditEntry
from programme.extensions import db
from programme.monitoring.models import Scorecard
from programme.monitoring.services import benchmarking
from programme.monitoring.services import scorecards as services
from programme.monitoring.services.scorecards import Change
from programme.rulebook import load_scorecard_template
from programme.rulebook.texts import localized_template
from tests.funding.conftest import LATER, Funded, funded_initiative, loginable, page_text
from tests.monitoring.test_benchmarking import make_initiative
from tests.proposals.builders import make_call
from tests.reviews.world import user
from tests.worlds import Kept, keep, reload

RULES = PROJECT_ROOT / "rules"
SCOTTISH = load_scorecard_template(RULES / "scorecards" / "scottish-cluster.toml")
SPANISH = {"Accept-Language": "es-MX,es;q=0.9"}
PORTUGUESE = {"Accept-Language": "pt-BR,pt;q=0.9"}
ENGLISH = {"Accept-Language": "en"}
NOW = datetime(2030, 1, 15, 9, 0, tzinfo=UTC)


def texts(language: str) -> list[tuple[str, str, str, str, str, str]]:
    """The template's (perspective title, factor title, KPI key, name, unit, source) in a language."""
    read_in = localized_template(SCOTTISH, language)
    return [(p.title, f.title, k.key, k.name, k.unit, k.source)
            for p in read_in.perspectives for f in p.factors for k in f.kpis]


def copied(card: Scorecard) -> list[tuple[str, str, str, str, str, str]]:
    return [(k.perspective_title, k.factor_title, k.key, k.name, k.unit, k.source) for k in services.kpis_of(card)]


@pytest.fixture(scope="module")
def funded_once(built_once) -> Kept:
    with built_once():
        return keep(funded_initiative())


@pytest.fixture
def f(app, funded_once: Kept) -> Funded:
    return reload(funded_once)


@pytest.fixture(autouse=True)
def frozen(clock):
    clock(LATER)


def start(f: Funded, by=None) -> Scorecard:
    card = services.start_scorecard(f.initiative, template_key="scottish_cluster", rules_folder=RULES,
                                    actor=by or f.applicant, now=LATER)
    db.session.commit()
    return card


def rename(card: Scorecard, key: str, name: str, who) -> None:
    k = next(k for k in services.kpis_of(card) if k.key == key)
    services.update_kpi(k, name=name, unit=k.unit, direction=k.direction, source=k.source, baseline=k.baseline,
                        target=k.target, actor=who, now=LATER)
    db.session.commit()


# Starting ------------------------------------------------------------------------------------------------------


def test_a_spanish_speaking_lead_gets_the_spanish_texts_and_no_change_from_the_template(app, f):
    f.applicant.language = "es"
    db.session.commit()
    with app.test_request_context("/", headers=ENGLISH):  # the lead's own language, not the request's
        refresh()
        card = start(f)
    assert card.language == "es"
    assert copied(card) == texts("es") != texts("en")
    first = services.kpis_of(card)[0]
    assert (first.perspective_title, first.factor_title, first.name, first.unit) == (
        "Económica / Financiera", "Niveles de inversión total",
        "Inversión de capital de las empresas miembro en el período", "EUR")  # "EUR" stays as written
    assert services.changes_from_template(card) == []
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "scorecard.started"))
    assert entry is not None and entry.details_dict["language"] == "es"

    rename(card, "export_growth", "Exportaciones de los miembros", f.applicant)
    own = services.add_kpi(card, factor_key="overall_investment", name="Empresas en la feria", unit="empresas",
                           direction="higher", source="registro del stand", baseline="3", target="12",
                           actor=f.applicant, now=LATER)
    db.session.commit()
    assert own.factor_title == "Niveles de inversión total" and own.perspective_title == "Económica / Financiera"
    assert services.changes_from_template(card) == [
        Change("renamed", "export_growth", "Desempeño de las empresas", "Exportaciones de los miembros",
               "Aumento de las exportaciones de las empresas miembro", "Exportaciones de los miembros"),
        Change("added", own.key, "Niveles de inversión total", "Empresas en la feria", None, "Empresas en la feria"),
    ]


def test_an_english_lead_gets_the_english_texts(app, f):
    f.applicant.language = "en"
    db.session.commit()
    with app.test_request_context("/", headers=SPANISH):
        refresh()
        card = start(f)
    assert card.language == "en" and copied(card) == texts("en")
    assert services.changes_from_template(card) == []


def test_without_a_chosen_language_the_request_language_is_used(app, f):
    assert f.applicant.language is None
    with app.test_request_context("/", headers=PORTUGUESE):
        refresh()
        card = start(f)
    assert card.language == "pt" and copied(card) == texts("pt")
    units = {k.key: k.unit for k in services.kpis_of(card)}
    assert units["inward_investment_projects"] == "projetos" and units["member_turnover_growth"] == "por cento"
    assert services.changes_from_template(card) == []


def test_outside_a_request_a_person_who_chose_none_gets_english(f):
    card = start(f)
    assert card.language == "en" and copied(card) == texts("en")


def test_a_scorecard_from_before_reads_as_english(f):
    card = start(f)
    card.language = "en"
    db.session.commit()
    db.session.expire_all()
    card = db.session.get(Scorecard, card.id)
    assert card.copied is card.template and services.changes_from_template(card) == []


# The page ------------------------------------------------------------------------------------------------------


@pytest.fixture
def pf(f: Funded) -> Funded:
    return loginable(f)


def page(f: Funded) -> str:
    return f"/initiatives/{f.initiative.id}/scorecard"


def test_the_chooser_names_the_templates_in_the_readers_language(client, login, pf):
    login(pf.applicant.email)
    spanish = page_text(client.get(page(pf), headers=SPANISH))
    assert "Cuadro de mando integral del clúster escocés" in spanish
    assert "Cuadro de mando integral del clúster alimentario tailandés" in spanish
    assert "Scottish cluster balanced scorecard" not in spanish
    portuguese = page_text(client.get(page(pf), headers=PORTUGUESE))
    assert "Painel de indicadores balanceado do cluster escocês" in portuguese
    english = page_text(client.get(page(pf), headers=ENGLISH))
    assert "Scottish cluster balanced scorecard" in english and "Cuadro de mando" not in english


def test_the_manager_sees_no_change_for_a_spanish_copy_and_the_rename_the_group_made(client, login, pf):
    pf.applicant.language = "es"
    db.session.commit()
    login(pf.applicant.email)
    assert client.post(page(pf), data={"template": "scottish_cluster"}).status_code == 302
    card = db.session.scalar(select(Scorecard).where(Scorecard.initiative_id == pf.initiative.id))
    assert card.language == "es"
    shown = page_text(client.get(page(pf)))
    assert "Cuadro de mando integral del clúster escocés" in shown
    assert "Económica / Financiera" in shown and "Niveles de inversión total" in shown
    assert "Aumento de las exportaciones de las empresas miembro" in shown
    client.post("/logout")

    login(pf.manager.email)
    shown = page_text(client.get(page(pf), headers=ENGLISH))
    assert "Changes from the template" in shown
    assert "The scorecard is as the template made it (baselines and targets aside)." in shown
    assert "Renamed" not in shown and "Economic / Financial" not in shown

    rename(card, "export_growth", "Exportaciones de los miembros", pf.applicant)
    shown = page_text(client.get(page(pf), headers=ENGLISH))
    assert "Renamed" in shown and "The scorecard is as the template made it" not in shown
    assert "Aumento de las exportaciones de las empresas miembro Exportaciones de los miembros" in shown
    assert shown.count("Renamed") == 1


# Benchmarking --------------------------------------------------------------------------------------------------


@pytest.fixture
def two_languages(app):
    """Two initiatives that started the Scottish scorecard, one lead reading Spanish and one English; the Spanish
    group renamed a KPI."""
    call = make_call()
    made = []
    for number, language in ((1, "es"), (2, "en")):
        lead = user(f"lead{number}.languages@groups.example.org", Role.APPLICANT)
        lead.language = language
        one = make_initiative(call, number, lead)
        db.session.delete(one.scorecard)
        db.session.flush()
        one.scorecard = services.start_scorecard(one.initiative, template_key="scottish_cluster", rules_folder=RULES,
                                                 actor=lead, now=NOW)
        made.append(one)
    rename(made[0].scorecard, "export_growth", "Exportaciones de los miembros", made[0].lead)
    manager = user("pm.benchmarks@programme.example.org", Role.PROGRAMME_MANAGER)
    db.session.commit()
    return made, manager


@pytest.mark.parametrize("language", ["en", "es", "pt"])
def test_a_shared_kpi_is_named_as_the_template_names_it_in_the_readers_language(app, two_languages, language):
    made, manager = two_languages
    assert [m.scorecard.language for m in made] == ["es", "en"]
    expected = {key: (name, unit) for _p, _f, key, name, unit, _s in texts(language)}
    with app.test_request_context("/", headers={"Accept-Language": language}):
        refresh()
        shared = benchmarking.shared_kpis(actor=manager, version=f"two-languages-{language}")
        assert {k.key: (k.name, k.unit) for k in shared} == expected  # the rename and the copies' language aside
        mark = benchmarking.benchmark("export_growth", actor=manager, version=f"two-languages-{language}")
        assert (mark.name, mark.unit) == expected["export_growth"]
        assert len(mark.rows) == 2
        own = benchmarking.benchmark("market_share", actor=made[1].lead)  # a group's user, unkept
        assert own.name == expected["market_share"][0]


def test_the_benchmarking_page_names_the_kpis_in_the_readers_language(client, login, two_languages):
    _made, manager = two_languages
    login(manager.email)
    spanish = page_text(client.get("/benchmarking", headers=SPANISH))
    assert "Aumento de las exportaciones de las empresas miembro" in spanish
    assert "Exportaciones de los miembros" not in spanish and "Increase in exports of member companies" not in spanish
    english = page_text(client.get("/benchmarking/export_growth", headers=ENGLISH))
    assert "Increase in exports of member companies" in english


def test_a_kpi_of_the_groups_own_is_named_by_its_first_scorecard(app, two_languages):
    made, manager = two_languages
    for one in made:
        services.add_kpi(one.scorecard, factor_key="company_performance", name="Tasting panel score", unit="points",
                         direction="higher", source="panel", baseline="1", target="2", actor=one.lead, now=NOW)
    db.session.commit()
    rename(made[1].scorecard, "tasting_panel_score", "Tasting panel", made[1].lead)
    with app.test_request_context("/", headers=SPANISH):
        refresh()
        names = {k.key: (k.name, k.unit) for k in benchmarking.shared_kpis(actor=manager)}
    assert names["tasting_panel_score"] == ("Tasting panel score", "points")  # no template names it
    assert names["export_growth"][0] == "Aumento de las exportaciones de las empresas miembro"
