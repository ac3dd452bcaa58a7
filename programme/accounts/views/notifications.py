"""The notification centre: a person's messages page by page, how each went out, marking them read; and the
unread count every page's navigation shows."""

from __future__ import annotations

from typing import Any

from flask import current_app, flash, g, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from programme.accounts import services
from programme.accounts.views._common import bp
from programme.core import mail
from programme.core.access import Role
from programme.core.forms import ActionForm
from programme.core.texts import gettext as _
from programme.core.texts import ngettext
from programme.core.timezone import now
from programme.core.web import actor, attempt, page_arg, safe_next
from programme.extensions import db


@bp.app_context_processor
def unread_notifications() -> dict[str, Any]:
    """``unread_notifications`` for the navigation: counted once per request (one query), for a logged-in person
    only."""
    if not current_user.is_authenticated:
        return {"unread_notifications": 0}
    if "unread_notifications" not in g:
        g.unread_notifications = services.unread_count(current_user.id)
    return {"unread_notifications": g.unread_notifications}


def _back() -> Response:
    """To the page of the centre the form was on."""
    page = page_arg()
    return redirect(url_for("accounts.notifications", page=page if page > 1 else None))


@bp.route("/notifications")
@login_required
def notifications() -> str:
    shown = services.notifications_page(actor=actor(), page=page_arg())
    undelivered = (mail.undelivered_count(db.session, actor=actor())
                   if current_user.has_role(Role.PROGRAMME_MANAGER) else None)
    return render_template("accounts/notifications.html", shown=shown, undelivered=undelivered,
                           mail_enabled=mail.mail_settings(current_app.config).enabled)


@bp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@login_required
def mark_notification_read(notification_id: int) -> Response:
    if ActionForm().validate_on_submit():
        with attempt() as done:
            note = services.mark_read(notification_id, actor=actor(), now=now())
        if done.ok:
            flash(_("Marked as read: %(subject)s", subject=note.subject), "success")
    return _back()


@bp.route("/notifications/<int:notification_id>/open", methods=["POST"])
@login_required
def open_notification(notification_id: int) -> Response:
    """Open a notification's link from the centre: it is marked read, then the link opens (a link that carries a
    secret is never opened from the app; a link off this site neither)."""
    if ActionForm().validate_on_submit():
        with attempt() as done:
            note = services.mark_read(notification_id, actor=actor(), now=now())
        if done.ok:
            target = None if note.link_secret else safe_next(note.link)
            if target:
                return redirect(target)
            flash(_("Marked as read: %(subject)s", subject=note.subject), "success")
    return _back()


@bp.route("/notifications/read", methods=["POST"])
@login_required
def mark_all_notifications_read() -> Response:
    if ActionForm().validate_on_submit():
        with attempt() as done:
            marked = services.mark_all_read(actor=actor(), now=now())
        if done.ok:
            flash(ngettext("%(num)d notification marked as read.", "%(num)d notifications marked as read.", marked)
                  if marked else _("There was nothing unread."), "success")
    return _back()
