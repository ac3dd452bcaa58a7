"""Call pages: the manager creates, edits, opens and closes a call; the public sees only published calls."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select

from programme.calls.models import Call, CallStatus
from programme.core.access import Role
from programme.core.db import utcnow
from programme.extensions import db
from tests.languages import field_block

YEAR = utcnow().year + 1  # a year ahead, so the deadline is always in the future
HOW_MOMENT = "Write the day and time as day month year hours:minutes, for example 6 Dec 2026 17:00."


def location_path(response) -> str:
    parts = urlsplit(response.headers["Location"])
    assert parts.netloc in ("", "localhost"), response.headers["Location"]
    return parts.path


def stored(call_id: int) -> Call:
    """The call as the database has it: anything a view did not commit is dropped first."""
    db.session.rollback()
    return db.session.get(Call, call_id)


def call_count() -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(Call))


@pytest.fixture
def manager(make_user, login):
    user = make_user("boss@example.org", Role.PROGRAMME_MANAGER, name="Bea Boss")
    login(user)
    return user


def create_through_the_form(client) -> int:
    response = client.post("/manage/calls/new", data={"rules_file": "cluster-contest.toml"})
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    call_id = db.session.scalar(select(Call.id))
    assert location_path(response) == f"/manage/calls/{call_id}"
    return call_id


EDIT = {
    "name": "Winelands Contest", "description": "The first call.",
    "budget": "1,200,000.00", "per_initiative_cap": "200 000",
    "opens_at": f"{YEAR}-02-01T09:00", "closes_at": f"{YEAR}-03-01T17:00",
}


def edit_through_the_form(client, call_id: int, **changes):
    return client.post(f"/manage/calls/{call_id}/edit", data={**EDIT, **changes})


# Creating ------------------------------------------------------------------------------------------


def test_the_new_call_page_offers_the_call_rules_files_only(client, manager):
    page = client.get("/manage/calls/new").get_data(as_text=True)
    chooser = re.search(r'<select[^>]*name="rules_file".*?</select>', page, flags=re.S).group(0)
    options = re.findall(r'<option[^>]*value="([^"]+)"', chooser)
    assert options == ["cluster-contest.toml", "staged-network-contest.toml"]
    assert "cluster-contest.toml: Cluster Development Contest" in page


def test_manager_creates_a_draft_call_through_the_form(client, manager):
    call_id = create_through_the_form(client)

    call = stored(call_id)
    assert call.status == CallStatus.DRAFT
    assert call.created_by_id == manager.id
    assert len(call.criteria) == 7
    page = client.get(f"/manage/calls/{call_id}").get_data(as_text=True)
    assert call.reference in page
    assert "Edit dates and budget" in page
    assert call.reference in client.get("/manage/calls").get_data(as_text=True)


@pytest.mark.parametrize("file_name", ["../pyproject.toml", "scorecards/scottish-cluster.toml", "missing.toml"])
def test_a_rules_file_not_offered_is_refused(client, manager, file_name):
    response = client.post("/manage/calls/new", data={"rules_file": file_name})

    assert response.status_code == 200
    assert "Not a valid choice" in field_block(response.get_data(as_text=True), "rules_file")
    assert call_count() == 0


@pytest.mark.parametrize("role", [Role.APPLICANT, Role.REVIEWER, Role.FUND_ADMINISTRATOR])
def test_call_management_is_forbidden_to_other_roles(client, make_user, login, role):
    login(make_user("someone@example.org", role))

    assert client.get("/manage/calls").status_code == 403
    assert client.get("/manage/calls/new").status_code == 403
    assert client.post("/manage/calls/new", data={"rules_file": "cluster-contest.toml"}).status_code == 403
    assert call_count() == 0


def test_call_management_needs_a_login(client):
    response = client.get("/manage/calls")
    assert response.status_code == 302
    assert location_path(response) == "/login"


# Editing a draft -----------------------------------------------------------------------------------


def test_edit_takes_local_times_and_stores_utc(client, manager):
    call_id = create_through_the_form(client)

    response = edit_through_the_form(client, call_id)

    assert response.status_code == 302
    assert location_path(response) == f"/manage/calls/{call_id}"
    call = stored(call_id)
    assert call.name == "Winelands Contest"
    assert call.budget == Decimal("1200000.00")
    assert call.per_initiative_cap == Decimal("200000.00")
    assert call.opens_at == datetime(YEAR, 2, 1, 7, 0, tzinfo=UTC)
    assert call.closes_at == datetime(YEAR, 3, 1, 15, 0, tzinfo=UTC)
    # The form shows the times back in local time, as pages write a day, then the 24-hour time, as text (a browser's
    # datetime-local input would show them in its own locale's order).
    form = client.get(f"/manage/calls/{call_id}/edit").get_data(as_text=True)
    assert f'value="1 Mar {YEAR} 17:00"' in field_block(form, "closes_at")
    assert f'value="1 Feb {YEAR} 09:00"' in field_block(form, "opens_at")
    assert 'type="text"' in field_block(form, "closes_at") and "datetime-local" not in form
    assert 'placeholder="6 Dec 2026 17:00"' in field_block(form, "closes_at")


@pytest.mark.parametrize(("opens_at", "closes_at"), [
    (f"1 Feb {YEAR} 09:00", f"1 Mar {YEAR} 17:00"),  # as the form shows them
    (f"01/02/{YEAR} 9:00", f"1 March {YEAR}, 17:00"),  # day first, any way DayField reads a day
    (f"{YEAR}-02-01 09:00", f"{YEAR}-03-01T17:00"),  # ISO
])
def test_edit_takes_the_times_typed_as_pages_write_them(client, manager, opens_at, closes_at):
    call_id = create_through_the_form(client)
    response = edit_through_the_form(client, call_id, opens_at=opens_at, closes_at=closes_at)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    call = stored(call_id)
    assert (call.opens_at, call.closes_at) == (datetime(YEAR, 2, 1, 7, 0, tzinfo=UTC),
                                               datetime(YEAR, 3, 1, 15, 0, tzinfo=UTC))


def test_edit_of_the_brief_example_2027_03_01_17_00_is_15_00_utc(client, manager):
    call_id = create_through_the_form(client)
    edit_through_the_form(client, call_id, opens_at="2027-02-01T09:00", closes_at="2027-03-01T17:00")
    assert stored(call_id).closes_at == datetime(2027, 3, 1, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"budget": "abc"}, "budget", "Not a valid decimal value."),
        ({"per_initiative_cap": "1,200,000.01"}, "per_initiative_cap",
         "The cap per initiative cannot exceed the budget."),
        ({"budget": "1000.005", "per_initiative_cap": "1000"}, "budget", "Use at most 2 decimal places."),
        ({"per_initiative_cap": "60000.005"}, "per_initiative_cap", "Use at most 2 decimal places."),
        ({"budget": "0"}, "budget", "Give an amount above zero."),
        ({"budget": ""}, "budget", "Give the call's budget."),
        ({"per_initiative_cap": "40000"}, "per_initiative_cap",
         "The cap per initiative cannot be below the start-up grant maximum of the rules (EUR 50,000.00)."),
        ({"closes_at": f"1 Feb {YEAR} 08:00"}, "closes_at", "The call must close after it opens."),
        ({"opens_at": "tomorrow"}, "opens_at", HOW_MOMENT),
        ({"closes_at": f"03/31/{YEAR} 17:00"}, "closes_at", "Write the day before the month. " + HOW_MOMENT),
        ({"closes_at": f"1 Mar {YEAR}"}, "closes_at", "Give the time as well as the day. " + HOW_MOMENT),
        ({"closes_at": f"1 Mar {YEAR} 5pm"}, "closes_at", HOW_MOMENT),
        ({"closes_at": f"1 Mar {YEAR} 25:00"}, "closes_at", "That time does not exist"),
    ],
    ids=["budget-not-a-number", "cap-above-budget", "budget-3-decimals", "cap-3-decimals", "zero-budget",
         "no-budget", "cap-below-startup-maximum", "closes-before-opens", "opens-not-a-date", "closes-month-first",
         "closes-without-time", "closes-12-hour", "closes-at-25"],
)
def test_an_edit_with_bad_input_shows_the_error_beside_the_field_and_changes_nothing(
    client, manager, changes, field, message
):
    call_id = create_through_the_form(client)
    before = stored(call_id)
    before_values = (before.name, before.budget, before.per_initiative_cap, before.opens_at, before.closes_at)

    response = edit_through_the_form(client, call_id, name="Changed name", **changes)

    assert response.status_code == 200
    page = response.get_data(as_text=True)
    block = field_block(page, field)
    assert message in block
    assert f'value="{changes[field]}"' in block  # what was typed stays in the form
    assert 'value="Changed name"' in field_block(page, "name")
    after = stored(call_id)
    assert (after.name, after.budget, after.per_initiative_cap, after.opens_at, after.closes_at) == before_values


def test_an_open_call_cannot_be_edited(client, manager):
    call_id = create_through_the_form(client)
    edit_through_the_form(client, call_id)
    client.post(f"/manage/calls/{call_id}/open")

    response = edit_through_the_form(client, call_id, budget="2,000,000")

    assert response.status_code == 200
    assert "Only a draft call can be edited" in response.get_data(as_text=True)
    assert stored(call_id).budget == Decimal("1200000.00")


# Opening, the public pages, closing ---------------------------------------------------------------


def test_opening_publishes_the_call_with_its_criteria_weights_and_thresholds(app, client, manager):
    call_id = create_through_the_form(client)
    edit_through_the_form(client, call_id)

    response = client.post(f"/manage/calls/{call_id}/open")

    assert response.status_code == 302
    assert location_path(response) == f"/manage/calls/{call_id}"
    call = stored(call_id)
    assert call.status == CallStatus.OPEN
    assert call.opened_at is not None

    public = app.test_client()
    listing = public.get("/calls").get_data(as_text=True)
    assert "Winelands Contest" in listing
    assert f'href="/calls/{call_id}"' in listing
    detail = public.get(f"/calls/{call_id}")
    assert detail.status_code == 200
    page = html.unescape(detail.get_data(as_text=True))
    assert f"1 Mar {YEAR}, 17:00 SAST" in page
    assert f"1 Feb {YEAR}, 09:00 SAST" in page
    assert "EUR 1,200,000.00" in page
    assert "EUR 200,000.00" in page
    weights = {"cooperation": "0.5", "first_activities": "0.5", "composition": "0.4"}
    for criterion in call.criteria:
        expected = weights.get(criterion.key, "0.4")
        assert re.search(
            re.escape(f"<strong>{criterion.title}</strong></td>")
            + re.escape(f'<td class="num">{expected}</td><td class="num">3</td>'),
            page,
        ), criterion.key
    assert "at least <strong>10</strong> in total" in page


def test_opening_without_dates_is_refused_with_a_message(client, manager):
    call_id = create_through_the_form(client)

    response = client.post(f"/manage/calls/{call_id}/open", follow_redirects=True)

    assert "Set the opening and closing times before opening the call." in response.get_data(as_text=True)
    assert stored(call_id).status == CallStatus.DRAFT


def test_opening_without_csrf_token_is_refused(client, manager):
    call_id = create_through_the_form(client)
    edit_through_the_form(client, call_id)

    response = client.post(f"/manage/calls/{call_id}/open", csrf=False)

    assert response.status_code == 400
    assert stored(call_id).status == CallStatus.DRAFT


def test_a_draft_call_is_not_found_for_the_public_and_applicants(app, client, manager, make_user, login):
    call_id = create_through_the_form(client)
    edit_through_the_form(client, call_id)

    anonymous = app.test_client()
    assert anonymous.get(f"/calls/{call_id}").status_code == 404
    assert "Winelands Contest" not in anonymous.get("/calls").get_data(as_text=True)
    applicant = app.test_client()
    login(make_user("ann@example.org"), client_=applicant)
    assert applicant.get(f"/calls/{call_id}").status_code == 404
    assert client.get(f"/calls/{call_id}").status_code == 200  # the manager previews it


def test_a_call_that_does_not_exist_is_not_found(client):
    assert client.get("/calls/4711").status_code == 404


def test_closing_by_hand(app, client, manager):
    call_id = create_through_the_form(client)
    edit_through_the_form(client, call_id)
    client.post(f"/manage/calls/{call_id}/open")

    response = client.post(f"/manage/calls/{call_id}/close")

    assert response.status_code == 302
    call = stored(call_id)
    assert call.status == CallStatus.CLOSED
    assert call.closed_by == "boss@example.org"
    assert call.closed_at is not None
    page = client.get(f"/manage/calls/{call_id}").get_data(as_text=True)
    assert "by boss@example.org" in page
    listing = app.test_client().get("/calls").get_data(as_text=True)
    assert "No call is open now." in listing
    assert "Winelands Contest" in listing.split("Past calls")[1]


def test_closing_a_draft_by_hand_is_refused_with_a_message(client, manager):
    call_id = create_through_the_form(client)

    response = client.post(f"/manage/calls/{call_id}/close", follow_redirects=True)

    assert "only an open call can be closed" in response.get_data(as_text=True)
    assert stored(call_id).status == CallStatus.DRAFT


def test_closing_by_another_role_is_forbidden(app, client, manager, make_user, login):
    call_id = create_through_the_form(client)
    edit_through_the_form(client, call_id)
    client.post(f"/manage/calls/{call_id}/open")
    reviewer = app.test_client()
    login(make_user("rev@example.org", Role.REVIEWER), client_=reviewer)

    assert reviewer.post(f"/manage/calls/{call_id}/close").status_code == 403
    assert stored(call_id).status == CallStatus.OPEN
