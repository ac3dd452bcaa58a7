"""Issue 16, item 14: the notification centre. Newest first and paged, unread ones marked, how each message went
out said plainly, secret links never shown; marking one or all read (one's own only); the unread count in the
navigation, counted in one query."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, event, select

from programme.accounts import services
from programme.accounts.services.notifications import PER_PAGE
from programme.core.access import NotFound
from programme.core.notifications import Notification, notify
from programme.extensions import db

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _note(user, subject: str, **kwargs) -> Notification:
    note = notify(db.session, email=user.email, user_id=user.id, subject=subject, body=f"About {subject}.", **kwargs)
    db.session.flush()
    return note


def _nav_count(page: str) -> int | None:
    """The unread count in the navigation's Notifications link (None when it shows none)."""
    link = re.search(r'<a href="/notifications">Notifications(.*?)</a>', page, flags=re.S)
    assert link is not None, "no Notifications link in the navigation"
    badge = re.search(r'class="badge badge-count">(\d+)<span class="visually-hidden"> unread</span>', link.group(1))
    return int(badge.group(1)) if badge else None


def _read_at(note_id: int) -> datetime | None:
    db.session.rollback()
    return db.session.get(Notification, note_id).read_at


def _person(make_user, email: str):
    """A person whose inbox starts empty (the account's welcome message removed)."""
    user = make_user(email)
    db.session.execute(delete(Notification).where(Notification.user_id == user.id))
    db.session.commit()
    return user


@pytest.fixture
def ann(make_user):
    return _person(make_user, "ann@example.org")


@pytest.fixture
def bob(make_user):
    return _person(make_user, "bob@example.org")


# The unread count -------------------------------------------------------------------------------------------------


def test_the_navigation_counts_unread_notifications_and_the_count_goes_down(client, login, ann, bob):
    first, second, _third = (_note(ann, s) for s in ("First", "Second", "Third"))
    _note(bob, "Bob's own")
    db.session.commit()
    login(ann)
    assert _nav_count(client.get("/account").get_data(as_text=True)) == 3

    response = client.post(f"/notifications/{first.id}/read")
    assert response.status_code == 302 and response.headers["Location"].endswith("/notifications")
    page = client.get("/notifications").get_data(as_text=True)
    assert "Marked as read: First" in page
    assert _nav_count(page) == 2

    client.post("/notifications/read")
    page = client.get("/account").get_data(as_text=True)
    assert _nav_count(page) is None
    assert _read_at(second.id) is not None


def test_no_count_for_an_anonymous_visitor_or_with_nothing_unread(client, login, ann):
    page = client.get("/").get_data(as_text=True)
    assert "badge-count" not in page
    login(ann)
    assert _nav_count(client.get("/").get_data(as_text=True)) is None


def test_the_count_is_one_query_per_request(app, client, login, ann):
    _note(ann, "Counted")
    db.session.commit()
    login(ann)
    counts: list[str] = []

    def seen(conn, cursor, statement, parameters, context, executemany) -> None:
        if "count(" in statement.lower() and "notifications" in statement.lower():
            counts.append(statement)

    engine = db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        assert _nav_count(client.get("/account").get_data(as_text=True)) == 1
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    assert len(counts) == 1, counts


# Marking read -----------------------------------------------------------------------------------------------------


def test_mark_one_read_marks_only_that_one(client, login, ann, clock):
    clock(T0)
    one, other = _note(ann, "One"), _note(ann, "Other")
    db.session.commit()
    login(ann)
    client.post(f"/notifications/{one.id}/read")
    assert _read_at(one.id) == T0 and _read_at(other.id) is None
    page = client.get("/notifications").get_data(as_text=True)
    assert page.count('class="badge badge-new"') == 1
    assert f'action="/notifications/{one.id}/read"' not in page
    assert f'action="/notifications/{other.id}/read"' in page


def test_mark_all_read_marks_every_one_of_mine_and_none_of_anothers(client, login, ann, bob):
    mine = [_note(ann, f"Mine {i}").id for i in range(3)]
    bobs = _note(bob, "Bob's").id
    db.session.commit()
    login(ann)
    response = client.post("/notifications/read", follow_redirects=True)
    assert "3 notifications marked as read." in response.get_data(as_text=True)
    assert all(_read_at(i) is not None for i in mine)
    assert _read_at(bobs) is None
    again = client.post("/notifications/read", follow_redirects=True).get_data(as_text=True)
    assert "There was nothing unread." in again


def test_another_persons_notification_is_not_found_and_unchanged(client, login, ann, bob):
    bobs = _note(bob, "Bob's").id
    db.session.commit()
    login(ann)
    for action in ("read", "open"):
        assert client.post(f"/notifications/{bobs}/{action}").status_code == 404
    assert client.post("/notifications/999999/read").status_code == 404
    assert _read_at(bobs) is None


def test_marking_read_needs_the_csrf_token(client, login, ann):
    note = _note(ann, "Guarded").id
    db.session.commit()
    login(ann)
    assert client.post(f"/notifications/{note}/read", csrf=False).status_code == 400
    assert client.post("/notifications/read", csrf=False).status_code == 400
    assert _read_at(note) is None


def test_opening_a_link_through_the_centre_marks_it_read_and_follows_it(client, login, ann):
    note = _note(ann, "Your account", link="/account").id
    db.session.commit()
    login(ann)
    page = client.get("/notifications").get_data(as_text=True)
    assert f'action="/notifications/{note}/open"' in page
    response = client.post(f"/notifications/{note}/open")
    assert response.status_code == 302 and response.headers["Location"].endswith("/account")
    assert _read_at(note) is not None


def test_a_link_off_the_site_is_not_followed(client, login, ann):
    note = _note(ann, "Elsewhere", link="https://evil.example/steal").id
    db.session.commit()
    login(ann)
    response = client.post(f"/notifications/{note}/open")
    assert response.headers["Location"].endswith("/notifications")
    assert _read_at(note) is not None


def test_the_services_take_the_actor_and_do_not_commit(app, ann, bob):
    note = _note(bob, "Bob's")
    db.session.commit()
    with pytest.raises(NotFound):
        services.mark_read(note.id, actor=ann, now=T0)
    services.mark_read(note.id, actor=bob, now=T0)
    assert services.mark_all_read(actor=bob, now=T0) == 0
    db.session.rollback()
    assert db.session.get(Notification, note.id).read_at is None


# The page ---------------------------------------------------------------------------------------------------------


def test_how_each_message_went_out_is_said_plainly(app, client, login, ann, clock):
    clock(T0)
    sent = _note(ann, "Sent one")
    sent.sent_at = T0 + timedelta(minutes=5)
    _note(ann, "Unsent one")
    db.session.commit()
    login(ann)
    app.config["MAIL_ENABLED"] = False
    page = client.get("/notifications").get_data(as_text=True)
    assert "not mailed" not in page
    # the date in the programme's format (its time zone): 09:05 UTC is 11:05 in Johannesburg, on 2 March 2026
    assert re.search(r"sent by e-mail on [^<]*2026[^<]*11:05", page), page
    assert page.count("shown here only") == 1 and "waiting to be sent" not in page

    app.config["MAIL_ENABLED"] = True
    page = client.get("/notifications").get_data(as_text=True)
    assert page.count("waiting to be sent") == 1 and "shown here only" not in page
    assert "not mailed" not in page


def test_a_secret_link_is_never_shown(client, login, ann):
    secret = "http://localhost/reset/s3cr3t-t0ken"
    note = _note(ann, "Reset your password", link=secret, link_secret=True).id
    db.session.commit()
    login(ann)
    page = client.get("/notifications").get_data(as_text=True)
    assert "s3cr3t-t0ken" not in page
    assert f'action="/notifications/{note}/open"' not in page
    assert "the link was sent by e-mail only" in page
    response = client.post(f"/notifications/{note}/open")
    assert "s3cr3t" not in response.headers["Location"] and _read_at(note) is not None


def test_newest_first_and_paged(client, login, ann, clock):
    for i in range(PER_PAGE + 3):
        clock(T0 + timedelta(minutes=i))
        _note(ann, f"Message {i:03d}")
    db.session.commit()
    login(ann)
    first = client.get("/notifications").get_data(as_text=True)
    subjects = re.findall(r"notification-subject\">Message (\d{3})", first)
    assert subjects[0] == f"{PER_PAGE + 2:03d}" and len(subjects) == PER_PAGE
    assert subjects == sorted(subjects, reverse=True)
    assert "page 1 of 2" in first and 'href="/notifications?page=2"' in first
    second = client.get("/notifications?page=2").get_data(as_text=True)
    assert re.findall(r"notification-subject\">Message (\d{3})", second) == ["002", "001", "000"]
    # marking read on page 2 comes back to page 2
    note = db.session.scalar(select(Notification).where(Notification.subject == "Message 001"))
    assert f'action="/notifications/{note.id}/read?page=2"' in second
    response = client.post(f"/notifications/{note.id}/read?page=2")
    assert response.headers["Location"].endswith("/notifications?page=2")
    # a page past the last shows the last
    assert "page 2 of 2" in client.get("/notifications?page=99").get_data(as_text=True)


def test_unread_ones_are_marked_visibly(client, login, ann):
    _note(ann, "Fresh")
    read = _note(ann, "Old news")
    read.read_at = T0
    db.session.commit()
    login(ann)
    page = client.get("/notifications").get_data(as_text=True)
    fresh = re.search(r'<li class="notification notification-unread"[^>]*>.*?</li>', page, flags=re.S)
    assert fresh and "Fresh" in fresh.group(0) and "badge-new" in fresh.group(0) and "<strong" in fresh.group(0)
    old = re.search(r'<li class="notification"[^>]*>.*?</li>', page, flags=re.S)
    assert old and "Old news" in old.group(0) and "badge-new" not in old.group(0)
