"""Monitoring in Spanish and Portuguese (issue 19): its refusals, its benchmark's chart and anonymous labels, the
KPI matrix's sheet and headings, and a milestone review's notification are written in the reader's language; English
stays as it was."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from flask_babel import refresh
from openpyxl import load_workbook
from sqlalchemy import select

from programme.core.access import AccessDenied, Role, RuleViolation
from programme.core.notifications import Notification
from programme.extensions import db
from programme.monitoring.export import write_kpi_matrix
from programme.monitoring.models import Direction, ReportStatus
from programme.monitoring.services import benchmarking, milestones
from programme.monitoring.services.reports import reports_in_state
from programme.monitoring.services.scorecards import kpi_number
from programme.monitoring.views.benchmarking import _chart
from tests.funding.conftest import LATER, Funded, funded_initiative
from tests.monitoring.test_benchmarking import add_kpi, add_report, make_initiative
from tests.proposals.builders import make_call
from tests.reviews.world import user
from tests.worlds import Kept, keep, reload

SPANISH = {"Accept-Language": "es-ES,es;q=0.9"}
PORTUGUESE = {"Accept-Language": "pt-BR,pt;q=0.9"}
ENGLISH = {"Accept-Language": "en"}
NOW = datetime(2030, 1, 15, 9, 0, tzinfo=UTC)


@pytest.fixture
def shared(app):
    """Two initiatives sharing a KPI with submitted values, a programme manager and a reviewer."""
    call = make_call()
    a, b = make_initiative(call, 1), make_initiative(call, 2)
    add_kpi(a, "firms", "0", "10")
    add_kpi(b, "firms", "0", "10", Direction.HIGHER)
    add_report(a, 1, {"firms": "5"})
    add_report(b, 1, {"firms": "8"})
    manager = user("pm.languages@programme.example.org", Role.PROGRAMME_MANAGER)
    reviewer = user("rev.languages@programme.example.org", Role.REVIEWER)
    db.session.commit()
    return a, b, manager, reviewer


def test_a_refusal_is_written_in_the_language_asked_for(app, shared):
    _, _, _, reviewer = shared
    with app.test_request_context("/", headers=SPANISH):
        refresh()
        with pytest.raises(RuleViolation) as refused:
            kpi_number(1.5, "baseline")
        assert refused.value.message == "Indique el número como decimal, no como coma flotante binaria."
        with pytest.raises(RuleViolation) as refused:
            kpi_number("doce", "baseline")
        assert refused.value.message == "'doce' no es un número."
        with pytest.raises(AccessDenied, match="solo los gerentes del programa y los administradores del fondo"):
            reports_in_state("overdue", today=NOW.date(), actor=reviewer)
    with app.test_request_context("/", headers=ENGLISH):
        refresh()
        with pytest.raises(RuleViolation) as refused:
            kpi_number("twelve", "baseline")
        assert refused.value.message == "'twelve' is not a number."


def test_the_benchmark_and_its_chart_speak_the_readers_language_and_are_kept_per_language(app, shared):
    a, _, _, _ = shared
    version = "languages-test"
    with app.test_request_context("/", headers=ENGLISH):
        refresh()
        english = benchmarking.benchmark("firms", actor=a.lead, version=version)
    with app.test_request_context("/", headers=SPANISH):
        refresh()
        spanish = benchmarking.benchmark("firms", actor=a.lead, version=version)  # the same version: kept apart
        chart = _chart(spanish.rows)
    assert [r.label for r in english.rows if r.anonymous] == ["Initiative A"]
    assert [r.label for r in spanish.rows if r.anonymous] == ["Iniciativa A"]
    assert chart is not None
    assert chart.bars[0].title == "Iniciativa A: puesto 1, avance 80,0 %"
    assert "INI-001 · Cluster initiative 1: puesto 2, avance 50,0 %" in chart.description
    with app.test_request_context("/", headers=ENGLISH):
        refresh()
        assert _chart(english.rows).bars[0].title == "Initiative A: rank 1, progress 80.0 %"


def test_the_kpi_matrix_is_headed_in_the_language_of_whoever_asks(app, shared):
    _, _, manager, _ = shared
    handle = io.BytesIO()
    with app.test_request_context("/", headers=PORTUGUESE):
        refresh()
        assert write_kpi_matrix(handle, actor=manager) == 2
    book = load_workbook(io.BytesIO(handle.getvalue()), read_only=True)
    assert book.sheetnames == ["Matriz de indicadores"]
    rows = [tuple(row) for row in book["Matriz de indicadores"].iter_rows(values_only=True)]
    assert rows[0][:3] == ("Referência da iniciativa", "Iniciativa", "Chamada")
    assert rows[0][-1] == "Situação do relatório"
    assert rows[1][8] == "Maior é melhor" and rows[1][15] == "Enviado"
    with app.test_request_context("/", headers=SPANISH):
        refresh()
        assert ReportStatus.DRAFT.label == "Borrador" and Direction.LOWER.label == "Menor es mejor"


@pytest.fixture(scope="module")
def funded_once(built_once) -> Kept:
    with built_once():
        return keep(funded_initiative())


def test_a_milestone_review_is_told_to_the_group_in_each_members_language(app, funded_once: Kept, clock):
    clock(LATER)
    f: Funded = reload(funded_once)
    f.applicant.language = "pt"
    db.session.commit()
    with app.test_request_context("/", headers=ENGLISH):
        refresh()
        milestones.record_milestone_review(f.initiative, decision="terminate", reason="Nada foi feito.",
                                           decided_on=LATER.date(), actor=f.manager, now=LATER, timezone="UTC")
        db.session.commit()
        with pytest.raises(RuleViolation, match="The decision date .* is in the future."):
            milestones.record_milestone_review(f.initiative, decision="continue", reason="x",
                                               decided_on=LATER.date().replace(year=LATER.year + 1),
                                               actor=f.manager, now=LATER, timezone="UTC")
    note = db.session.scalars(select(Notification).where(Notification.user_id == f.applicant.id)
                              .order_by(Notification.id.desc())).first()
    assert note.subject == f"Revisão de marco de {f.initiative.reference}: encerrar"
    assert "Motivo: Nada foi feito." in note.body and "seus empréstimos continuam sendo cobrados" in note.body
