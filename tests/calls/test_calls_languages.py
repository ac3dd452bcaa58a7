"""The call pages' texts written in Python, in the reader's language (issue 19): a programme manager who reads
Spanish sees the edit form's labels, its errors and the services' refusals in Spanish, amounts written the Spanish
way."""

from __future__ import annotations

import pytest

from programme.calls.models import Call, CallStatus
from programme.core.access import Role
from programme.core.db import utcnow
from programme.extensions import db
from tests.calls.test_views import create_through_the_form, stored
from tests.languages import field_block, speaking, words_of

YEAR = utcnow().year + 1
EDIT = {
    "name": "Concurso de los Valles", "description": "La primera convocatoria.",
    "budget": "1.200.000,00", "per_initiative_cap": "200.000",
    "opens_at": f"{YEAR}-02-01T09:00", "closes_at": f"{YEAR}-03-01T17:00",
}


@pytest.fixture
def manager(make_user, login):
    user = speaking(make_user("gerente@example.org", Role.PROGRAMME_MANAGER, name="Gabriela Gerente"), "es")
    login(user)
    return user


def test_the_edit_form_its_errors_and_a_refusal_are_in_spanish(client, manager):
    call_id = create_through_the_form(client)
    page = client.get(f"/manage/calls/{call_id}/edit").get_data(as_text=True)
    assert "Tope por iniciativa" in field_block(page, "per_initiative_cap")
    assert "En el huso horario del programa." in field_block(page, "closes_at")

    # The form's own check.
    page = client.post(f"/manage/calls/{call_id}/edit",
                       data={**EDIT, "per_initiative_cap": "1.300.000"}).get_data(as_text=True)
    assert "El tope por iniciativa no puede superar el presupuesto." in field_block(page, "per_initiative_cap")

    # The service's refusal, its amount written the Spanish way.
    page = client.post(f"/manage/calls/{call_id}/edit",
                       data={**EDIT, "per_initiative_cap": "40.000"}).get_data(as_text=True)
    assert ("El tope por iniciativa no puede ser inferior al máximo de la subvención inicial de las reglas "
            "(EUR 50.000,00).") in field_block(page, "per_initiative_cap")
    assert stored(call_id).per_initiative_cap != 40000

    client.post(f"/manage/calls/{call_id}/edit", data=EDIT)
    opened = words_of(client.post(f"/manage/calls/{call_id}/open", follow_redirects=True))
    reference = db.session.get(Call, call_id).reference
    assert f"La convocatoria {reference} está abierta y en la página pública de convocatorias." in opened
    assert stored(call_id).status == CallStatus.OPEN
    detail = client.get(f"/manage/calls/{call_id}").get_data(as_text=True)
    assert '<span class="badge badge-upcoming">próxima</span>' in detail  # it opens next year

    # Opening it again is refused, its status named in Spanish.
    refused = words_of(client.post(f"/manage/calls/{call_id}/open", follow_redirects=True))
    assert "La convocatoria está en estado «abierta»; solo se puede abrir una convocatoria en borrador." in refused
