"""Pages kept per person and per version of the data (issue 15, ``core.changes`` and ``core.pages``).

Every commit that writes leaves one data-change mark, whatever wrote (an object added, changed or deleted, a bulk
update, a text statement); a transaction that only reads, or one rolled back, leaves none. A kept page is answered
again only to the person it was rendered for, while no commit changed anything and the clock's slice is the same;
a change a user makes shows at the next request; a page that showed a flashed message is never kept; the form
tokens in a kept page are the current session's own."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, text, update

from programme.accounts.models import User
from programme.core import changes
from programme.core.access import Role
from programme.core.kept import forget_all
from programme.core.pages import KEPT_PAGES, TOKEN_PLACEHOLDER
from programme.extensions import db
from programme.loans import services
from tests.loans.world import FIRST_DUE, NOW, LoanWorld, loginable_loan_world

D = Decimal


@pytest.fixture(autouse=True)
def frozen(clock, app):
    clock(NOW)
    app.config["PROGRAMME_TIMEZONE"] = "UTC"


@pytest.fixture
def w() -> LoanWorld:
    return loginable_loan_world()


def _marks() -> int:
    return len(db.session.execute(select(changes.DataChange.id)).all())


def statements_of(app, client, path: str) -> tuple[int, str]:
    """How many SQL statements a GET ran, and its page."""
    from sqlalchemy import event

    seen: list[str] = []

    def count(*_args) -> None:
        seen.append("x")

    engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(path)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return len(seen), response.get_data(as_text=True)


def without_tokens(page: str) -> str:
    """A form's token is signed with the time: two requests a second apart carry different ones."""
    return re.sub(r'[\w-]{20,}\.[\w-]{4,}\.[\w-]{20,}', "", page)


# The marks --------------------------------------------------------------------------------------------------------

def test_every_kind_of_write_leaves_one_mark_and_reading_leaves_none(app, make_user):
    user = make_user("marks@example.org")
    start = _marks()

    db.session.execute(select(User).where(User.id == user.id)).scalar_one()
    db.session.commit()
    assert _marks() == start, "a transaction that only read"

    db.session.get(User, user.id).name = "Changed by the ORM"
    db.session.commit()
    assert _marks() == start + 1

    db.session.execute(update(User).where(User.id == user.id).values(name="Changed in bulk"))
    db.session.commit()
    assert _marks() == start + 2

    db.session.execute(text("UPDATE users SET name = 'Changed by text' WHERE id = :id"), {"id": user.id})
    db.session.commit()
    assert _marks() == start + 3

    db.session.get(User, user.id).name = "Rolled back"
    db.session.flush()
    db.session.rollback()
    db.session.commit()
    assert _marks() == start + 3, "a rolled-back write"

    db.session.get(User, user.id).name = db.session.get(User, user.id).name  # set to what it was: no change
    db.session.commit()
    assert _marks() == start + 3


def test_a_write_no_page_shows_can_leave_no_mark(app, make_user):
    user = make_user("unmarked@example.org")
    start = _marks()
    db.session.get(User, user.id).name = "A heartbeat, say"
    changes.unmarked(db.session)
    db.session.commit()
    assert _marks() == start
    db.session.get(User, user.id).name = "The next commit is marked again"
    db.session.commit()
    assert _marks() == start + 1


def test_the_version_moves_at_each_commit_that_writes(app, make_user):
    before = changes.version()
    assert changes.version() == before
    make_user("version@example.org")
    assert changes.version() != before


def test_the_daily_prune_keeps_the_newest_marks_and_the_version(app, make_user):
    for _ in range(5):
        db.session.add(changes.DataChange())
    db.session.commit()
    newest = db.session.execute(select(changes.DataChange.id).order_by(changes.DataChange.id.desc())).scalars().first()
    original, changes.KEEP = changes.KEEP, 2
    try:
        changes.prune(db.session)
        db.session.commit()
    finally:
        changes.KEEP = original
    left = db.session.execute(select(changes.DataChange.id)).scalars().all()
    assert max(left) > newest and newest in left and newest - 2 not in left


# The kept pages ---------------------------------------------------------------------------------------------------

def test_a_page_opened_again_is_answered_from_what_was_kept(app, client, login, w):
    login(w.admin.email)
    first_count, first = statements_of(app, client, f"/loans/{w.loan.id}")
    again_count, again = statements_of(app, client, f"/loans/{w.loan.id}")
    assert without_tokens(again) == without_tokens(first)
    # The session's user and the data version: nothing of the page is worked out again.
    assert again_count == 1 < first_count


def test_a_repayment_shows_at_the_next_request(app, client, login, w):
    login(w.admin.email)
    path = f"/loans/{w.loan.id}"
    before = client.get(path).get_data(as_text=True)
    assert "KEPT-PAGE-REP" not in before
    services.record_repayment(w.loan, amount=D("1000.00"), value_date=FIRST_DUE, bank_reference="KEPT-PAGE-REP",
                              actor=w.admin, now=NOW, timezone="UTC")
    db.session.commit()
    after = client.get(path).get_data(as_text=True)
    assert "KEPT-PAGE-REP" in after
    forget_all()
    assert without_tokens(client.get(path).get_data(as_text=True)) == without_tokens(after)


def test_a_change_not_committed_yet_is_never_hidden_by_a_kept_page(app, client, login, w):
    login(w.admin.email)
    path = f"/loans/{w.loan.id}"
    client.get(path)
    w.loan.purpose = "A purpose changed and not committed yet"
    db.session.flush()
    assert "A purpose changed and not committed yet" in client.get(path).get_data(as_text=True)


def test_each_person_gets_only_their_own_kept_page(app, client, login, make_user, w):
    login(w.admin.email)
    assert client.get("/").status_code == 200
    admins_home = client.get("/").get_data(as_text=True)
    client.post("/logout")
    make_user("kept-other@example.org", Role.APPLICANT, name="Kept Other")
    login("kept-other@example.org")
    home = client.get("/").get_data(as_text=True)
    assert home != admins_home and "Kept Other" in home
    # And a loan page the administrator has opened is not the applicant's to see.
    assert client.get(f"/loans/{w.loan.id}").status_code in (403, 404)


def test_a_kept_page_carries_the_current_sessions_form_token(app, client, login, w):
    """A second browser of the same person is answered the kept page with its own token, and its form posts."""
    login(w.admin.email)
    path = f"/loans/{w.loan.id}"
    first = client.get(path).get_data(as_text=True)
    other = app.test_client()
    login(w.admin.email, client_=other)
    page = other.get(path).get_data(as_text=True)
    assert TOKEN_PLACEHOLDER not in page
    tokens = set(re.findall(r'name="csrf_token" type="hidden" value="([^"]+)"', page))
    assert tokens and tokens.isdisjoint(re.findall(r'name="csrf_token" type="hidden" value="([^"]+)"', first))
    token = tokens.pop()
    posted = other.post(f"/loans/{w.loan.id}/repayments", data={
        "csrf_token": token, "amount": "10.00", "value_date": FIRST_DUE.isoformat(), "bank_reference": "KEPT-TOKEN-1",
    }, csrf=False)
    assert posted.status_code in (302, 200) and b"Form expired" not in posted.data


def test_a_flashed_message_is_shown_once_and_never_kept(app, client, login, w):
    login(w.admin.email)
    path = f"/loans/{w.loan.id}"
    client.get(path)
    with client.session_transaction() as session:
        session["_flashes"] = [("success", "A message said once")]
    assert "A message said once" in client.get(path).get_data(as_text=True)
    assert "A message said once" not in client.get(path).get_data(as_text=True)


def test_the_clock_alone_renews_a_page_after_its_slice(app, client, login, clock, w):
    login(w.admin.email)
    path = f"/loans/{w.loan.id}"
    client.get(path)
    kept_count, _ = statements_of(app, client, path)
    clock(NOW + timedelta(seconds=app.config["PAGE_KEEP_SECONDS"] + 1))
    renewed_count, _ = statements_of(app, client, path)
    assert renewed_count > kept_count


def test_an_idle_session_is_logged_out_not_answered_from_what_was_kept(app, client, login, clock, w):
    login(w.admin.email)
    path = f"/loans/{w.loan.id}"
    assert client.get(path).status_code == 200
    clock(NOW + timedelta(minutes=app.config["SESSION_IDLE_MINUTES"] + 1))
    answer = client.get(path)
    assert answer.status_code == 302 and "/login" in answer.headers["Location"]


def test_a_logged_out_session_is_never_answered_a_kept_page(app, client, login, w):
    login(w.admin.email)
    path = f"/loans/{w.loan.id}"
    assert client.get(path).status_code == 200
    client.post("/logout")
    assert client.get(path).status_code == 302


def test_keeping_can_be_turned_off(app, client, login, w):
    login(w.admin.email)
    path = f"/loans/{w.loan.id}"
    client.get(path)
    app.config["PAGE_KEEP_SECONDS"] = 0
    try:
        first, _ = statements_of(app, client, path)
        second, _ = statements_of(app, client, path)
    finally:
        app.config["PAGE_KEEP_SECONDS"] = 30
    assert first == second > 3


def test_every_kept_page_is_a_view_of_the_app(app):
    for endpoint in KEPT_PAGES:
        assert endpoint in app.view_functions
