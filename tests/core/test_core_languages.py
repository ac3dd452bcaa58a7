"""What the shared code writes from Python, in the request's language (issue 19): the error pages (our own words,
never Werkzeug's English), an amount's refusal naming the language's decimal mark, the API's problems, and the words
the scripts write."""

from __future__ import annotations

import json
import re

import pytest
from flask_babel import refresh

from programme.core.access import AccessDenied, Role, require_second_person
from programme.core.forms import MoneyField, ProgrammeForm
from programme.core.notifications import MailState
from tests.languages import PORTUGUESE, SPANISH


def test_a_page_not_found_is_in_spanish(client):
    response = client.get("/no/such/page", headers=SPANISH)
    page = response.get_data(as_text=True)
    assert response.status_code == 404 and '<html lang="es"' in page
    assert "No encontrado" in page and "No hay nada aquí, o no le corresponde verlo." in page
    assert "Not Found" not in page and "requested URL" not in page  # Werkzeug's English is never shown
    english = client.get("/no/such/page").get_data(as_text=True)
    assert "There is nothing here, or it is not yours to see." in english


def test_a_request_too_large_is_refused_in_spanish(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024 * 1024)
    monkeypatch.setitem(app.config, "MAX_ATTACHMENT_BYTES", 1536 * 1024)
    response = client.post("/language", data={"language": "es", "next": "/", "padding": "x" * (1024 * 1024 + 1)},
                           headers=SPANISH)
    page = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "Archivo demasiado grande" in page
    # The limit is written with the language's decimal mark.
    assert "el límite es de 1,5 MB por archivo. No se subió nada." in page


class _Amount(ProgrammeForm):
    amount = MoneyField("Amount")


def test_an_amount_written_the_other_way_is_refused_in_portuguese(app):
    with app.test_request_context("/", method="POST", data={"amount": "12.50"}, headers=PORTUGUESE):
        refresh()
        form = _Amount(meta={"csrf": False})
        assert not form.validate()
        assert form.amount.errors == ["Escreva os centavos depois de uma vírgula: 12,50, não 12.50 (o ponto só "
                                      "separa os milhares)."]
    with app.test_request_context("/", method="POST", data={"amount": "12,50"}):
        refresh()
        form = _Amount(meta={"csrf": False})
        assert not form.validate()
        assert form.amount.errors == ["Write the cents after a point: 12.50, not 12,50 (a comma only separates "
                                      "thousands)."]


def test_an_api_problem_is_in_spanish(client):
    response = client.get("/api/v1/funds", headers={**SPANISH, "Authorization": "Bearer cfp_" + "a" * 43})
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["title"] == "No autenticado"
    assert problem["detail"] == "El token es desconocido, venció o fue revocado."
    refused = client.get("/api/v1/calls?cursor=nonsense", headers=SPANISH).get_json()
    assert refused["status"] == 422 and refused["title"] == "Rechazado"
    assert refused["errors"][0]["field"] == "cursor" and refused["detail"].startswith("Este no es un cursor")
    assert client.get("/api/v1/funds", headers={"Authorization": "Bearer cfp_" + "a" * 43}).get_json()["detail"] \
        == "The token is unknown, expired or revoked."


def test_roles_states_and_refusals_are_in_the_requests_language(app):
    with app.test_request_context("/", headers=SPANISH):
        refresh()
        assert Role.PROGRAMME_MANAGER.label == "Gerente del programa" and isinstance(Role.REVIEWER.label, str)
        assert MailState.FAILED.label == "no entregado"

        class Person:
            id, created_by_id = 7, None

        with pytest.raises(AccessDenied, match="^Usted solicitó este castigo, así que otra persona debe aprobarlo.$"):
            require_second_person(Person(), Person(), "este castigo")
    with app.test_request_context("/"):
        refresh()
        assert Role.PROGRAMME_MANAGER.label == "Programme manager" and MailState.FAILED.label == "not delivered"


def test_the_scripts_words_are_given_in_the_pages_language(client):
    page = client.get("/calls", headers=PORTUGUESE).get_data(as_text=True)
    block = re.search(r'<script type="application/json" id="script-words">(.*?)</script>', page, re.S)
    assert block is not None
    words = json.loads(block.group(1))
    assert words["unsaved"] == "Há alterações não salvas nesta seção. Sair sem salvar?"
    assert words["weighted_total"] == ("Total ponderado: {total} de {maximum} (todos os {criteria} critérios "
                                       "pontuados)")
    english = json.loads(re.search(r'id="script-words">(.*?)</script>', client.get("/calls").get_data(as_text=True),
                                   re.S).group(1))
    # The English the scripts keep as their fallback, word for word.
    assert english["weighted_total_so_far"] == ("Weighted total so far: {total} of {maximum} ({scored} of "
                                                "{criteria} criteria scored)")
    assert english["scrolls"] == "{name}, scrolls sideways" and english["count_too_many"] == "{count} too many"
