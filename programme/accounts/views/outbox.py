"""The outbox for the programme managers: the mail the programme could not deliver (dead letters) or is not sure
it delivered, with their last error, sending one again, and recording that an uncertain one arrived (core.mail)."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, url_for
from flask_login import login_required
from werkzeug.wrappers import Response

from programme.accounts.views._common import bp
from programme.core import mail
from programme.core.forms import ActionForm
from programme.core.texts import gettext as _
from programme.core.timezone import now
from programme.core.web import actor, attempt
from programme.extensions import db


@bp.route("/notifications/outbox")
@login_required
def outbox() -> str:
    shown = mail.outbox(db.session, actor=actor())
    return render_template("accounts/outbox.html", shown=shown, settings=mail.mail_settings(current_app.config),
                           listed=mail.LISTED)


@bp.route("/notifications/outbox/<int:notification_id>/send-again", methods=["POST"])
@login_required
def send_mail_again(notification_id: int) -> Response:
    if ActionForm().validate_on_submit():
        with attempt() as done:
            note = mail.send_again(db.session, notification_id, actor=actor(), now=now())
        if done.ok:
            flash(_("Back in the queue, to %(email)s: %(subject)s", email=note.email, subject=note.subject), "success")
    return redirect(url_for("accounts.outbox"))


@bp.route("/notifications/outbox/<int:notification_id>/arrived", methods=["POST"])
@login_required
def mail_arrived(notification_id: int) -> Response:
    if ActionForm().validate_on_submit():
        with attempt() as done:
            note = mail.confirm_arrived(db.session, notification_id, actor=actor(), now=now())
        if done.ok:
            flash(_("Recorded as arrived, to %(email)s: %(subject)s", email=note.email, subject=note.subject),
                  "success")
    return redirect(url_for("accounts.outbox"))
