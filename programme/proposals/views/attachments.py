"""The attachments of a draft: uploaded, removed from the draft (submitted versions keep them), downloaded."""

from __future__ import annotations

from flask import current_app, flash, redirect, send_file, url_for
from flask_login import login_required

from programme.core.files import stored_path
from programme.core.texts import gettext as _
from programme.core.web import actor, attempt, now
from programme.proposals import services
from programme.proposals.forms import AttachmentForm
from programme.proposals.models import AttachmentKind
from programme.proposals.views import bp
from programme.proposals.views._common import load, proposal_page, remove_item


@bp.route("/proposals/<int:proposal_id>/attachments", methods=["GET", "POST"])
@login_required
def attachments(proposal_id: int):
    proposal = load(proposal_id)
    form = AttachmentForm()
    max_bytes = current_app.config["MAX_ATTACHMENT_BYTES"]
    if form.validate_on_submit():
        upload = form.file.data
        with attempt(form) as done:
            attachment = services.add_attachment(
                proposal, kind=AttachmentKind(form.kind.data), stream=upload.stream, filename=upload.filename,
                upload_root=current_app.config["UPLOAD_FOLDER"], max_bytes=max_bytes, actor=actor(), now=now(),
            )
        if done.ok:
            flash(_("'%(name)s' uploaded.", name=attachment.original_name), "success")
            return redirect(url_for("proposals.attachments", proposal_id=proposal.id))
    return proposal_page("proposals/attachments.html", proposal, form=form, max_megabytes=max_bytes / (1024 * 1024))


@bp.route("/proposals/<int:proposal_id>/attachments/<int:attachment_id>/remove", methods=["POST"])
@login_required
def remove_attachment(proposal_id: int, attachment_id: int):
    return remove_item(
        proposal_id, attachment_id, services.remove_attachment,
        _("Attachment removed from the draft (submitted versions keep it)."), "proposals.attachments",
    )


@bp.route("/proposals/<int:proposal_id>/attachments/<int:attachment_id>")
@login_required
def download(proposal_id: int, attachment_id: int):
    proposal = services.get_proposal(proposal_id, actor=actor())
    attachment = services.get_attachment(proposal, attachment_id)
    folder = services.attachments_folder(current_app.config["UPLOAD_FOLDER"], proposal)
    response = send_file(stored_path(folder, attachment.stored_name), as_attachment=True,
                         download_name=attachment.original_name, mimetype=attachment.content_type)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
