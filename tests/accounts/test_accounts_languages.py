"""Issue 19, accounts: what the accounts area writes from Python (form errors, refusals, flash messages, choices,
mail) is in the reader's language, through the real pages; a message is written in its recipient's language, not
the language of whoever caused it; English reads as it always did."""

from __future__ import annotations

from sqlalchemy import select

from programme.accounts import services
from programme.accounts.models import SizeClass, organisation_type_label
from programme.core.access import Role
from programme.core.notifications import Notification
from programme.extensions import db
from programme.rulebook import ORGANISATION_TYPES
from tests.conftest import PASSWORD
from tests.languages import ENGLISH, SPANISH, field_block, speaking, text_of

REGISTRATION = {"name": "Ana Ejemplo", "email": "ana@example.org", "password": PASSWORD, "confirm": PASSWORD}


def newest_message(email: str) -> Notification:
    db.session.rollback()  # see what the request committed
    note = db.session.scalars(select(Notification).where(Notification.email == email)
                              .order_by(Notification.id.desc())).first()
    assert note is not None, f"nothing was sent to {email}"
    return note


# Forms ----------------------------------------------------------------------------------------------------------


def test_the_login_form_and_its_refusal_are_in_spanish(client, make_user):
    make_user("ann@example.org")

    typo = client.post("/login", data={"email": "not-an-address", "password": "x"}, headers=SPANISH)
    page = typo.get_data(as_text=True)
    assert "Indique una dirección de correo electrónico como nombre@ejemplo.org." in field_block(page, "email")
    assert "Dirección de correo electrónico" in field_block(page, "email")  # the label
    assert "Contraseña" in field_block(page, "password")

    wrong = client.post("/login", data={"email": "ann@example.org", "password": "not-the-password"}, headers=SPANISH)
    assert "La dirección de correo electrónico o la contraseña no es correcta." in text_of(wrong)

    english = client.post("/login", data={"email": "ann@example.org", "password": "not-the-password"},
                          headers=ENGLISH)
    assert "The e-mail address or the password is not right." in text_of(english)


def test_the_registration_form_says_what_is_wrong_in_spanish(client):
    mismatched = client.post("/register", data={**REGISTRATION, "confirm": PASSWORD + "!"}, headers=SPANISH)
    assert "Las dos contraseñas no coinciden." in field_block(mismatched.get_data(as_text=True), "confirm")

    short = client.post("/register", data={**REGISTRATION, "password": "short", "confirm": "short"}, headers=SPANISH)
    assert "Use al menos 12 caracteres." in field_block(short.get_data(as_text=True), "password")

    common = client.post("/register", data={**REGISTRATION, "password": "password12", "confirm": "password12"},
                         headers=SPANISH)
    block = field_block(common.get_data(as_text=True), "password")
    assert "Esta es una contraseña muy común." in block  # zxcvbn's own words, translated
    assert "This is a very common password." not in block

    english = client.post("/register", data={**REGISTRATION, "password": "password12", "confirm": "password12"},
                          headers=ENGLISH)
    assert "This is a very common password." in field_block(english.get_data(as_text=True), "password")


# Refusals -------------------------------------------------------------------------------------------------------


def test_a_refused_link_is_explained_in_spanish(client):
    response = client.get("/reset/not-a-real-token", headers=SPANISH)

    assert response.status_code == 409
    assert "Este enlace no es válido: ya se usó, fue reemplazado por uno más reciente o venció." in text_of(response)
    english = client.get("/reset/not-a-real-token", headers=ENGLISH)
    assert ("This link is not valid: it was used already, replaced by a newer one, or it has expired. Ask for a new "
            "one.") in text_of(english)


def test_a_service_refusal_is_in_the_language_the_person_chose(client, make_user, login):
    ann = make_user("ann@example.org")
    speaking(ann, "es")
    login(ann)

    response = client.post("/account", data={"current_password": "not-the-password", "new_password": "x" * 20,
                                              "confirm": "x" * 20}, headers=ENGLISH)  # the account's choice wins

    assert "La contraseña actual no es correcta." in field_block(response.get_data(as_text=True), "current_password")


def test_the_organisation_form_offers_its_kinds_and_sizes_in_spanish(client, make_user, login):
    lead = make_user("lead@example.org", Role.APPLICANT)
    login(lead)
    group = services.create_group(name="Muebles del Sur", description="", actor=lead)
    db.session.commit()

    page = text_of(client.get(f"/groups/{group.id}/organisations/new", headers=SPANISH))
    for words in ("Asociación empresarial", "Cámara de comercio o de industria", "Pequeña", "Mediana",
                  "Tamaño (empresas)"):
        assert words in page

    refused = client.post(f"/groups/{group.id}/organisations/new", headers=SPANISH, data={
        "name": "Carpintería Sur", "kind": "firm", "size_class": "", "sector": "", "locality": "Knysna"})
    assert "Una empresa necesita un tamaño." in field_block(refused.get_data(as_text=True), "size_class")


def test_the_labels_for_kinds_and_sizes_read_in_english_as_the_rules_name_them(app):
    assert organisation_type_label("chamber") == "Chamber of commerce or industry" == str(ORGANISATION_TYPES["chamber"])
    assert organisation_type_label("unknown_kind") == "unknown_kind"
    assert [size.label for size in SizeClass] == ["Micro", "Small", "Medium", "Large"]


# Messages in their recipient's language -------------------------------------------------------------------------


def test_a_password_reset_mail_is_in_the_portuguese_speakers_language(client, make_user):
    joana = make_user("joana@example.org")
    speaking(joana, "pt")

    response = client.post("/reset", data={"email": "joana@example.org"}, headers=ENGLISH)

    assert "If an account exists for that address" in text_of(response)  # the page: the asker's language
    note = newest_message("joana@example.org")  # the mail: the account's
    assert note.subject == "Redefina sua senha"
    assert note.body.startswith("Alguém pediu para redefinir a senha desta conta.")
    assert "minutos" in note.body and "Someone" not in note.body


def test_a_password_reset_mail_to_an_english_speaker_reads_as_before(app, client, make_user):
    make_user("ann@example.org")

    client.post("/reset", data={"email": "ann@example.org"}, headers=SPANISH)  # asked from a Spanish browser

    note = newest_message("ann@example.org")
    assert note.subject == "Restablezca su contraseña"  # a person who never chose is written to as the asker reads
    ann = services.find_user_by_email("ann@example.org")
    speaking(ann, "en")
    client.post("/reset", data={"email": "ann@example.org"}, headers=SPANISH)
    note = newest_message("ann@example.org")
    minutes = app.config["RESET_LINK_MINUTES"]
    assert note.subject == "Reset your password"
    assert note.body == (f"Someone asked to reset the password of this account. Open the link to choose a new one "
                         f"(valid {minutes} minutes, usable once). If it was not you, ignore this message: your "
                         "password stays.")


def test_an_invitation_to_an_address_without_an_account_is_in_the_inviters_language(client, make_user, login):
    lead = make_user("lead@example.org", Role.APPLICANT, name="Lucía Líder")
    speaking(lead, "es")
    login(lead)
    group = services.create_group(name="Muebles del Sur", description="", actor=lead)
    db.session.commit()

    response = client.post(f"/groups/{group.id}/invite", data={"email": "nuevo@example.org"}, follow_redirects=True)

    assert "Invitación enviada a nuevo@example.org." in text_of(response)
    note = newest_message("nuevo@example.org")
    assert note.subject == "Invitación a actuar en nombre del grupo postulante Muebles del Sur"
    assert note.body.startswith("Lucía Líder le invita a actuar en nombre del grupo postulante Muebles del Sur.")
