"""The budget's checks on the applicant's pages: a draft keeps what was typed, however far over, and the page says so
plainly beside the field, in the confirmation and in the sidebar's checklist; the budget section is not ticked;
submitting is refused with the same words. The figures for the live script are in data- attributes; the section
forms are marked for the unsaved-changes warning."""

from __future__ import annotations

import html
import json
import re
from decimal import Decimal

import pytest

from programme.core.access import Role
from programme.extensions import db
from programme.proposals import services
from programme.proposals.domain import BUDGET_MESSAGES
from programme.proposals.models import Proposal, ProposalVersion
from tests.proposals.builders import CLOSES, NOW, activity_data, complete_proposal, count, line_data

OVER_MAXIMUM = "EUR 60,000.00 requested is more than the call's start-up maximum of EUR 50,000.00."
OVER_BUDGET = "EUR 60,000.00 requested is more than the budget total of EUR 40,000.00."
LINES_OVER = ("The budget lines add up to EUR 42,000.00, EUR 2,000.00 more than the EUR 40,000.00 the first "
              "activities cost: the two totals must be equal.")


@pytest.fixture(autouse=True)
def during_the_call(clock):
    clock(NOW)


@pytest.fixture
def lead(make_user):
    return make_user("lead@vaal.example.org", Role.APPLICANT)


@pytest.fixture
def draft(call, group, lead, login):
    """A complete, eligible draft (activities 24,000 + 16,000, the same in budget lines, 30,000 requested), its
    lead logged in."""
    proposal = complete_proposal(call, group, lead)
    db.session.commit()
    login(lead)
    return proposal


def _text(page: str) -> str:
    return html.unescape(" ".join(re.sub(r"<[^>]+>", " ", page).split()))


def _element(page: str, pattern: str) -> str:
    """The first element whose start tag matches `pattern`, up to its closing tag (no nesting of the same tag)."""
    match = re.search(rf"<(\w+)[^>]*{pattern}[^>]*>.*?</\1>", page, re.S)
    assert match, f"no element matching {pattern!r}"
    return match.group(0)


def _warnings(page: str, kind: str) -> list[str]:
    box = _element(page, f'data-budget-warnings="{kind}"')
    return [html.unescape(m) for m in re.findall(r'<p class="field-warning">(.*?)</p>', box)]


def _flash(page: str) -> str:
    return _text(_element(page, 'class="flash flash-'))


def _sidebar(page: str) -> str:
    return _element(page, 'class="sections"')


def _budget_tab_done(page: str) -> bool:
    tab = re.search(r'<a href="/proposals/\d+/budget"[^>]*>(.*?)</a>', _sidebar(page), re.S)
    assert tab
    return 'class="mark ok"' in tab.group(1)


def test_an_amount_over_the_limits_is_kept_and_said_beside_the_field(client, draft):
    assert _budget_tab_done(client.get(f"/proposals/{draft.id}/budget").get_data(as_text=True))

    response = client.post(f"/proposals/{draft.id}/budget/requested", data={"requested_amount": "60,000.00"},
                           follow_redirects=True)
    page = response.get_data(as_text=True)

    # Saved as typed: a draft may be over.
    db.session.expire_all()
    assert db.session.get(Proposal, draft.id).requested_amount == Decimal("60000.00")
    # The confirmation says plainly that it is saved and why the call does not accept it.
    assert 'class="flash flash-warning"' in page
    assert _flash(page) == (f"The amount requested is saved. The call does not accept the budget as it is: "
                            f"{OVER_MAXIMUM} {OVER_BUDGET}")
    # Beside the field, in its form, each figure named; the field points to them.
    form = _element(page, 'action="/proposals/[0-9]+/budget/requested"')
    assert _warnings(form, "requested") == [OVER_MAXIMUM, OVER_BUDGET]
    assert re.search(r'<input[^>]*aria-describedby="requested-warnings"[^>]*data-budget-input="requested"|'
                     r'<input[^>]*data-budget-input="requested"[^>]*aria-describedby="requested-warnings"', form)
    # The section is not ticked; the sidebar's checklist lists the rule not met with its reason.
    assert not _budget_tab_done(page)
    sidebar = _text(_sidebar(page))
    assert "1 rule not met" in sidebar
    assert f"Amount requested within the call's limits {OVER_MAXIMUM} {OVER_BUDGET}" in sidebar
    assert "Before the deadline" not in sidebar  # only the rules not met
    # Submitting is refused with the same words, and nothing is frozen.
    refused = client.post(f"/proposals/{draft.id}/submit", data={"confirmed": "yes"}, follow_redirects=True)
    assert f"The proposal is not eligible yet: {OVER_MAXIMUM} {OVER_BUDGET}" in _text(refused.get_data(as_text=True))
    assert count(ProposalVersion) == 0


def test_the_overview_checklist_shows_the_budget_rules_once(client, draft):
    client.post(f"/proposals/{draft.id}/budget/requested", data={"requested_amount": "60000"})
    page = client.get(f"/proposals/{draft.id}").get_data(as_text=True)

    assert page.count('<ul class="checklist') == 1  # the page's own, not the sidebar's too
    failed = re.findall(r'<li class="failed">(.*?)</li>', _element(page, 'class="checklist"'), re.S)
    assert [_text(item) for item in failed] == [
        f"✗ Amount requested within the call's limits {OVER_MAXIMUM} {OVER_BUDGET}",
    ]


@pytest.mark.parametrize(("typed", "warned"), [("50,000.00", False), ("50000.01", True)])
def test_exactly_the_maximum_is_fine_at_the_field(client, draft, lead, typed, warned):
    # Activities and lines of 40,000.00 + 20,000.00: the budget is not what limits the request here.
    services.add_activity(draft, activity_data(title="Shared kiln", cost=Decimal("20000.00")), actor=lead, now=NOW)
    services.add_budget_line(draft, line_data(description="Kiln", amount=Decimal("20000.00")), actor=lead, now=NOW)
    db.session.commit()

    page = client.post(f"/proposals/{draft.id}/budget/requested", data={"requested_amount": typed},
                       follow_redirects=True).get_data(as_text=True)

    if warned:
        message = "EUR 50,000.01 requested is more than the call's start-up maximum of EUR 50,000.00."
        assert _warnings(page, "requested") == [message]
        assert _flash(page).endswith(message)
        assert not _budget_tab_done(page)
    else:
        assert _warnings(page, "requested") == []
        assert _flash(page) == "The amount requested is saved."
        assert 'class="flash flash-success"' in page
        assert _budget_tab_done(page)
        assert "✓ Eligible now" in _text(_sidebar(page))


def test_a_budget_line_that_parts_the_lines_from_the_activities_is_said_on_both_pages(client, draft):
    response = client.post(f"/proposals/{draft.id}/budget/lines", data={
        "activity_id": "0", "cost_type": "venues", "description": "Meeting room", "amount": "2,000.00",
    }, follow_redirects=True)
    page = response.get_data(as_text=True)

    assert _flash(page) == f"Budget line added. The call does not accept the budget as it is: {LINES_OVER}"
    add_line = _element(page, 'id="add-line"')
    assert _warnings(add_line, "costs") == [LINES_OVER]
    assert "Budget lines equal the first activities' costs" in _text(_sidebar(page))
    assert not _budget_tab_done(page)

    activities = client.get(f"/proposals/{draft.id}/activities").get_data(as_text=True)
    assert _warnings(activities, "costs") == [LINES_OVER]
    assert re.search(r'<input[^>]*data-budget-input="activity"', activities)

    # An activity that brings the costs level again: saved, and said so without a warning.
    done = client.post(f"/proposals/{draft.id}/activities", data={
        "title": "Meetings", "kind": "facilitation", "description": "", "start_quarter": "1", "end_quarter": "1",
        "cost": "2000",
    }, follow_redirects=True).get_data(as_text=True)
    assert _flash(done) == "Activity 'Meetings' added."
    assert _warnings(done, "costs") == []


def test_removing_a_line_says_what_it_leaves_out_of_line(client, draft):
    line = draft.budget_lines[1]  # 16,000.00
    page = client.post(f"/proposals/{draft.id}/budget/{line.id}/remove", follow_redirects=True).get_data(as_text=True)
    assert _flash(page) == (
        "Budget line removed. The call does not accept the budget as it is: The budget lines add up to "
        "EUR 24,000.00, EUR 16,000.00 less than the EUR 40,000.00 the first activities cost: the two totals must be "
        "equal. EUR 30,000.00 requested is more than the budget total of EUR 24,000.00.")


def test_the_page_carries_the_figures_for_the_live_script(client, draft):
    page = client.get(f"/proposals/{draft.id}/budget").get_data(as_text=True)

    figures = re.search(r"<div hidden data-budget-figures([^>]*)>", page)
    assert figures
    attributes = {name: html.unescape(value) for name, value in re.findall(r'(data-[\w-]+)="([^"]*)"',
                                                                           figures.group(1))}
    assert json.loads(attributes.pop("data-messages")) == BUDGET_MESSAGES
    assert attributes == {
        "data-currency": "EUR", "data-minor-unit": "2", "data-maximum": "5000000", "data-cap": "25000000",
        "data-share": "1/1", "data-share-text": "100 %", "data-requested": "3000000", "data-budget": "4000000",
        "data-activities": "4000000", "data-lines": "2",
    }
    for script in ("budget.js", "unsaved.js"):
        assert re.search(rf'<script src="/static/{script}[^"]*" defer></script>', page)
    assert re.search(r'<input[^>]*data-budget-input="requested"', page)
    assert re.search(r'<input[^>]*data-budget-input="line"', page)
    totals = _text(_element(page, "data-budget-totals"))
    assert totals.startswith("Requested EUR 30,000.00 · at most EUR 50,000.00 (the call's start-up maximum) · "
                             "budget total EUR 40,000.00")


def test_edit_forms_carry_the_amount_they_replace(client, draft):
    line, activity = draft.budget_lines[0], draft.activities[1]
    line_page = client.get(f"/proposals/{draft.id}/budget/{line.id}").get_data(as_text=True)
    assert re.search(r'<form method="post"[^>]*data-unsaved-warning[^>]*data-budget-replaces="2400000"', line_page)
    activity_page = client.get(f"/proposals/{draft.id}/activities/{activity.id}").get_data(as_text=True)
    assert re.search(r'<form method="post"[^>]*data-unsaved-warning[^>]*data-budget-replaces="1600000"',
                     activity_page)


@pytest.mark.parametrize("section", ["cluster", "objectives", "activities", "budget", "indicators", "attachments"])
def test_every_section_form_is_marked_for_the_unsaved_changes_warning(client, draft, section):
    page = client.get(f"/proposals/{draft.id}/{section}").get_data(as_text=True)
    forms = re.findall(r'<form method="post"(?![^>]*class="inline")[^>]*>', page)
    forms = [f for f in forms if "/remove" not in f and "/logout" not in f and "/language" not in f]
    assert forms
    assert all("data-unsaved-warning" in form and 'data-unsaved-warning="unsaved"' not in form for form in forms)


def test_a_form_shown_again_after_a_refusal_counts_as_unsaved(client, draft):
    page = client.post(f"/proposals/{draft.id}/budget/requested", data={"requested_amount": "12,5"}
                       ).get_data(as_text=True)
    assert "Write the cents after a point" in page
    assert re.search(r'<form[^>]*budget/requested[^>]*data-unsaved-warning="unsaved"', page, re.S)
    db.session.expire_all()
    assert db.session.get(Proposal, draft.id).requested_amount == Decimal("30000.00")


def test_after_the_deadline_the_warnings_stay_on_the_read_only_page(client, draft, lead, clock, login):
    services.set_requested_amount(draft, Decimal("60000.00"), actor=lead, now=NOW)
    db.session.commit()
    clock(CLOSES)
    login(lead)  # the session of the day before has expired

    page = client.get(f"/proposals/{draft.id}/budget").get_data(as_text=True)

    assert "budget/requested" not in page  # no form any more
    assert _warnings(page, "requested") == [OVER_MAXIMUM, OVER_BUDGET]
    assert "data-budget-figures" not in page
