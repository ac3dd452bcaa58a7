"""The proposal pages' texts written in Python, in the reader's language (issue 19): a form's label and error and a
service's refusal seen in Spanish through the real pages, a submission receipt written in the language of each
person acting for the group, and a submitted version's verdict kept in English and read in the reader's language."""

from __future__ import annotations

import json

import pytest

from programme.core.access import Role
from programme.core.notifications import Notification
from programme.extensions import db
from programme.proposals.models import ProposalVersion
from tests.languages import ENGLISH, speaking, words_of
from tests.proposals.builders import NOW, add_group_user, complete_proposal, count


@pytest.fixture(autouse=True)
def during_the_call(clock):
    clock(NOW)


def test_a_form_label_its_error_and_a_refusal_are_in_spanish(client, login, call, group, lead):
    proposal = complete_proposal(call, group, lead)
    db.session.commit()
    login(speaking(lead, "es"))
    activities = f"/proposals/{proposal.id}/activities"

    overview = client.get(f"/proposals/{proposal.id}").get_data(as_text=True)
    assert '<span class="badge badge-draft">borrador</span>' in overview
    page = words_of(client.get(activities))
    assert "Primer trimestre" in page and "Último trimestre" in page and "First quarter" not in page

    # The form's own check: the error beside the field, in Spanish.
    refused = words_of(client.post(activities, data={
        "title": "Misión comercial", "kind": "practical", "description": "", "start_quarter": "3",
        "end_quarter": "2", "cost": "0"}))
    assert "El último trimestre no puede ser anterior al primero." in refused
    assert "The last quarter cannot be before the first." not in refused

    # The service's refusal, beside the field it concerns.
    refused = words_of(client.post(f"/proposals/{proposal.id}/indicators", data={
        "name": "Empresas que exportan", "unit": "empresas", "baseline": "2", "target": "2"}))
    assert "La meta debe ser distinta de la línea de base." in refused

    # A refused submission names what is missing, in Spanish.
    proposal.requested_amount = None
    db.session.commit()
    refused = words_of(client.post(f"/proposals/{proposal.id}/submit", data={"confirmed": "yes"},
                                   follow_redirects=True))
    assert "La propuesta todavía no es elegible: Todavía no se solicita ningún monto al programa." in refused
    assert count(ProposalVersion) == 0


def test_the_submission_receipt_is_in_each_readers_language(client, login, make_user, call, group, lead):
    """The lead (who never chose a language) submits from an English page; the member who reads Portuguese gets the
    receipt in Portuguese, the lead in English."""
    member = speaking(make_user("membro@vaal.example", Role.APPLICANT), "pt")
    add_group_user(group, lead, member)
    proposal = complete_proposal(call, group, lead)
    db.session.commit()
    login(lead)

    done = client.post(f"/proposals/{proposal.id}/submit", data={"confirmed": "yes"}, follow_redirects=True,
                       headers=ENGLISH)
    assert "Submitted as version 1" in words_of(done)
    db.session.expire_all()
    reference = proposal.reference

    received = {n.user_id: n for n in db.session.query(Notification).filter(Notification.subject.contains(reference))}
    assert received[member.id].subject == f"Proposta {reference} recebida (versão 1)"
    assert received[member.id].body.startswith(f"A proposta “{proposal.title}” de {group.name} para {call.name} foi "
                                               "enviada como versão 1 por ")
    assert f"Referência: {reference}." in received[member.id].body
    assert received[lead.id].subject == f"Proposal {reference} received (version 1)"
    assert " was submitted as version 1 by " in received[lead.id].body


def test_a_version_keeps_its_verdict_in_english_and_shows_it_in_the_readers_language(client, login, call, group,
                                                                                      lead):
    proposal = complete_proposal(call, group, lead)
    db.session.commit()
    login(speaking(lead, "es"))
    client.post(f"/proposals/{proposal.id}/submit", data={"confirmed": "yes"})
    db.session.expire_all()
    version = db.session.query(ProposalVersion).one()
    recorded = {check["key"]: check for check in json.loads(version.eligibility)}
    assert recorded["deadline"] == {"key": "deadline", "label": "Before the deadline", "passed": True,
                                    "reason": "The call is open."}

    page = words_of(client.get(f"/proposals/{proposal.id}/versions/1"))
    assert "Antes del plazo La convocatoria está abierta." in page
    assert "Before the deadline" not in page
