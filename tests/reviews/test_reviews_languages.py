"""The review in the languages of the people who use it (issue 19): a refusal, a label and a flash written in Python
read in Spanish through the real pages, and a reminder the scheduled job writes in a Portuguese-speaking reviewer's
language while an English-speaking one gets English."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from programme.core.notifications import Notification
from programme.extensions import db
from programme.reviews import services
from programme.reviews.models import ConflictOfInterest
from tests.conftest import SETUP
from tests.languages import html_of, speaking
from tests.reviews.world import DEADLINE, DURING, assign, build, card, loginable_build, review_of, submit_review


@pytest.fixture(autouse=True)
def during_the_review(clock):
    clock(DURING)


def test_a_review_refusal_and_python_labels_read_in_spanish(app, client, login):
    world = loginable_build(proposals=2, reviewers=3)
    reviewer = world.reviewers[0]
    reviewer.language = "es"
    first, second = world.proposals
    assign(world, first, reviewer)
    assign(world, second, reviewer)
    submitted = review_of(first, reviewer)
    submit_review(submitted, card("4"))
    open_review = review_of(second, reviewer)
    db.session.commit()
    login(reviewer.email)

    # The labels of the scoring form are written in Python: in Spanish, as the status of the submitted review.
    page = html_of(client.get(f"/reviews/{open_review.id}"))
    assert "Guardar borrador" in page and "Presentar evaluación" in page
    assert "Save draft" not in page
    title = world.call.criteria[0].title
    assert f"Puntaje de {title} (0–5, peso" in page

    # A score off the scale is refused beside its field, the scale written the Spanish way.
    key = world.call.criteria[0].key
    off = html_of(client.post(f"/reviews/{open_review.id}", data={f"score_{key}": "7", "save_draft": "1"}))
    assert "Indique un puntaje de 0 a 5 en pasos de 0,5 (se recibió 7, fuera de la escala)." in off

    # A submitted review refuses a change: the refusal (a flash written in Python) is in Spanish.
    refused = client.post(f"/reviews/{submitted.id}", data={"save_draft": "1"}, follow_redirects=True)
    assert ("Esta evaluación está presentada y bloqueada: no se cambió nada. Un gerente del programa puede "
            "reabrirla si hace falta un cambio.") in html_of(refused)

    # The conflict form: its label, a validator's message, and the service's refusal of a second declaration.
    call_page = html_of(client.get(f"/reviewing/calls/{world.call.id}"))
    assert "Referencia de la propuesta u organización" in call_page
    url = f"/reviewing/calls/{world.call.id}/conflicts"
    blank = html_of(client.post(url, data={"subject": "  "}))
    assert "Escriba la referencia de una propuesta o el nombre de una organización." in blank
    reference = world.proposals[1].reference
    assert client.post(url, data={"subject": reference}).status_code == 302
    again = html_of(client.post(url, data={"subject": reference}))
    assert "Ya declaró este conflicto." in again and "You have declared this conflict already." not in again
    assert db.session.query(ConflictOfInterest).count() == 1


def test_the_same_refusal_stays_english_for_an_english_speaking_reviewer(app, client, login):
    world = loginable_build(proposals=1, reviewers=3)
    reviewer = speaking(world.reviewers[0], "en")
    login(reviewer.email)
    blank = html_of(client.post(f"/reviewing/calls/{world.call.id}/conflicts", data={"subject": "  "}))
    assert "Type a proposal&#39;s reference or an organisation&#39;s name." in blank


def test_a_reminder_is_written_in_the_reviewers_language(app):
    """The scheduled job has no request and no person acting: each reviewer still reads the reminder in the language
    chosen on their account."""
    world = build(proposals=2, reviewers=3)
    portuguese, english, _ = world.reviewers
    portuguese.language = "pt"
    english.language = "en"
    for proposal in world.proposals:
        assign(world, proposal, portuguese, english)
    db.session.flush()

    reminded = services.remind_reviewers(actor=SETUP, now=DEADLINE - timedelta(days=2), timezone="UTC")
    assert reminded == 4
    notes = {n.user_id: n for n in db.session.scalars(select(Notification).where(
        Notification.user_id.in_([portuguese.id, english.id])))}
    reference, name = world.call.reference, world.call.name
    assert notes[portuguese.id].subject == f"Avaliações pendentes de {reference}"
    assert notes[portuguese.id].body.startswith(
        f"2 das suas avaliações de {name} ainda não foram enviadas; o prazo de avaliação é ")
    assert notes[english.id].subject == f"Reviews due for {reference}"
    assert notes[english.id].body.startswith(f"2 of your reviews for {name} are not submitted yet")


def test_the_managers_ranking_and_its_export_read_in_spanish(app, client, login):
    """The chart's description, a reason a proposal is not fundable and the workbook's headings are written in
    Python: a Spanish-speaking manager reads them in Spanish, then an English-speaking one in English (the ranking
    is kept once per language)."""
    world = loginable_build(proposals=3, reviewers=3)
    first, second, third = world.proposals
    for proposal, base in ((first, "4"), (second, "3"), (third, "0.5")):
        assign(world, proposal, *world.reviewers)
        for reviewer in world.reviewers:
            submit_review(review_of(proposal, reviewer), card(base))
    speaking(world.manager, "es")
    login(world.manager.email)

    page = html_of(client.get(f"/calls/{world.call.id}/review/ranking"))
    assert "propuestas con puntaje por total, de mayor a menor" in page
    assert "está por debajo del umbral" in page and "is below the" not in page

    workbook = client.get(f"/calls/{world.call.id}/review/ranking.xlsx")
    assert workbook.status_code == 200
    book = load_workbook(BytesIO(workbook.data))
    assert book.sheetnames == ["Clasificación", "Resumen"]
    headings = [cell.value for cell in next(book["Clasificación"].iter_rows())]
    assert headings[:3] == ["Puesto", "Referencia", "Título"] and "Por qué no es financiable" in headings

    speaking(world.manager, "en")
    page = html_of(client.get(f"/calls/{world.call.id}/review/ranking"))
    assert "scored proposals by total, highest first" in page and "is below the" in page
    book = load_workbook(BytesIO(client.get(f"/calls/{world.call.id}/review/ranking.xlsx").data))
    assert book.sheetnames == ["Ranking", "Summary"]
