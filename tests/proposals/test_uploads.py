"""Attachments: good uploads are stored under random names inside the proposal's folder; bad ones (too large,
wrong type, content that is not what the name says, empty, names that climb out of the folder) write nothing."""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from pathlib import Path

import pytest

from programme.core.access import AccessDenied, NotFound, Role, RuleViolation
from programme.core.audit import AuditEntry
from programme.core.files import display_name, stored_path
from programme.extensions import db
from programme.proposals import services
from programme.proposals.models import Attachment, AttachmentKind
from tests.proposals.builders import CLOSES, NOW, count

PDF = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
LIMIT = 1024 * 1024


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


@pytest.fixture
def root(tmp_path) -> Path:
    return tmp_path / "uploads"


@pytest.fixture
def folder(root, proposal) -> Path:
    return services.attachments_folder(root, proposal)


def upload(proposal, actor, root, data: bytes, filename: str | None, *, max_bytes: int = LIMIT, now=NOW,
           kind: AttachmentKind = AttachmentKind.LETTER_OF_COMMITMENT) -> Attachment:
    return services.add_attachment(proposal, kind=kind, stream=io.BytesIO(data), filename=filename,
                                   upload_root=root, max_bytes=max_bytes, actor=actor, now=now)


def files_under(path: Path) -> set[Path]:
    return {p for p in path.rglob("*") if p.is_file()} if path.exists() else set()


def assert_inside(folder: Path, attachment: Attachment, extension: str) -> Path:
    path = folder / attachment.stored_name
    assert path.resolve().parent == folder.resolve()
    assert re.fullmatch(rf"[0-9a-f]{{32}}\.{extension}", attachment.stored_name)
    assert stored_path(folder, attachment.stored_name) == path.resolve()
    return path


def test_the_folder_is_the_proposals_own_under_the_upload_root(root, proposal):
    assert services.attachments_folder(root, proposal) == root / "proposals" / str(proposal.id)


def test_a_pdf_is_stored_under_a_random_name_and_audited(proposal, lead, root, folder):
    attachment = upload(proposal, lead, root, PDF, "Letter of commitment (signed).pdf")
    db.session.commit()

    path = assert_inside(folder, attachment, "pdf")
    assert path.read_bytes() == PDF
    assert files_under(root) == {path}
    assert attachment.original_name == "Letter_of_commitment_signed.pdf"
    assert (attachment.kind, attachment.content_type) == (AttachmentKind.LETTER_OF_COMMITMENT, "application/pdf")
    assert (attachment.size_bytes, attachment.sha256) == (len(PDF), hashlib.sha256(PDF).hexdigest())
    assert (attachment.uploaded_by_id, attachment.uploaded_at, attachment.removed_at) == (lead.id, NOW, None)
    assert proposal.live_attachments == [attachment]
    assert services.build_snapshot(proposal)["attachments"] == [{
        "id": attachment.id, "kind": "letter_of_commitment", "name": "Letter_of_commitment_signed.pdf",
        "size": len(PDF), "sha256": attachment.sha256, "content_type": "application/pdf"}]
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "proposal.attachment_added"))
    assert (entry.actor_id, entry.object_id) == (lead.id, proposal.id)
    assert entry.details_dict == {"attachment_id": attachment.id, "name": "Letter_of_commitment_signed.pdf",
                                  "sha256": attachment.sha256}


def test_a_docx_is_stored_with_its_office_type(proposal, lead, root, folder):
    data = docx_bytes()
    assert data.startswith(b"PK\x03\x04")

    attachment = upload(proposal, lead, root, data, "Statutes.DOCX", kind=AttachmentKind.STATUTES)
    db.session.commit()

    path = assert_inside(folder, attachment, "docx")
    assert path.read_bytes() == data
    assert attachment.content_type == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert (attachment.kind, attachment.original_name) == (AttachmentKind.STATUTES, "Statutes.DOCX")


def test_a_file_of_exactly_the_limit_is_accepted(proposal, lead, root, folder):
    attachment = upload(proposal, lead, root, PDF, "exact.pdf", max_bytes=len(PDF))
    assert attachment.size_bytes == len(PDF)
    assert (folder / attachment.stored_name).read_bytes() == PDF


def test_the_same_file_twice_gets_two_stored_names(proposal, lead, root, folder):
    first = upload(proposal, lead, root, PDF, "letter.pdf")
    second = upload(proposal, lead, root, PDF, "letter.pdf")
    db.session.commit()

    assert first.stored_name != second.stored_name
    assert first.sha256 == second.sha256
    assert len(files_under(folder)) == 2 and count(Attachment) == 2


REFUSED = {
    "too-large": ("letter.pdf", PDF, 16, "larger than the limit"),
    "one-byte-too-many": ("letter.pdf", PDF, len(PDF) - 1, "larger than the limit"),
    "exe": ("setup.exe", b"MZ\x90\x00" + bytes(60), LIMIT, "not an accepted type"),
    "html": ("letter.html", b"<html><script>alert(1)</script></html>", LIMIT, "not an accepted type"),
    "no-extension": ("statutes", PDF, LIMIT, "not an accepted type"),
    "only-an-extension": (".pdf", PDF, LIMIT, "not an accepted type"),
    "no-name": (None, PDF, LIMIT, "not an accepted type"),
    "pdf-extension-exe-content": ("letter.pdf", b"MZ\x90\x00\x03" + bytes(60), LIMIT, "does not contain what"),
    "docx-extension-pdf-content": ("statutes.docx", PDF, LIMIT, "does not contain what"),
    "pdf-extension-zip-content": ("statutes.pdf", docx_bytes(), LIMIT, "does not contain what"),
    "double-extension": ("letter.pdf.exe", b"MZ" + bytes(10), LIMIT, "not an accepted type"),
    "empty": ("letter.pdf", b"", LIMIT, "is empty"),
    "climbing-without-type": ("../../etc/passwd", b"root:x:0:0", LIMIT, "not an accepted type"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_a_bad_upload_is_refused_and_nothing_is_written(proposal, lead, root, folder, case):
    filename, data, max_bytes, message = REFUSED[case]
    audits = count(AuditEntry)

    with pytest.raises(RuleViolation) as caught:
        upload(proposal, lead, root, data, filename, max_bytes=max_bytes)

    assert caught.value.field == "file"
    assert message in caught.value.message
    db.session.flush()
    assert files_under(root) == set()
    assert count(Attachment) == 0 and count(AuditEntry) == audits
    assert proposal.attachments == []


@pytest.mark.parametrize(("filename", "shown"), [
    ("../../etc/passwd.pdf", "passwd.pdf"),
    ("..\\..\\x.pdf", "x.pdf"),
    ("/abs/path.pdf", "path.pdf"),
    ("../../../../../../tmp/evil.pdf", "evil.pdf"),
    ("C:\\Windows\\System32\\..\\evil.pdf", "evil.pdf"),
    ("....//....//dots.pdf", "dots.pdf"),
])
def test_a_name_that_climbs_out_is_stored_inside_the_folder_under_a_random_name(
        proposal, lead, root, folder, tmp_path, filename, shown):
    before = files_under(tmp_path)

    attachment = upload(proposal, lead, root, PDF, filename)
    db.session.commit()

    path = assert_inside(folder, attachment, "pdf")
    assert files_under(tmp_path) - before == {path}  # the one new file, in the folder
    name = attachment.original_name
    assert "/" not in name and "\\" not in name and not name.startswith(".")
    assert ".." not in name
    assert name == shown == display_name(filename)
    assert not (root / "etc").exists() and not (tmp_path / "evil.pdf").exists()


def test_a_stored_name_that_would_leave_the_folder_is_never_served(proposal, lead, root, folder):
    attachment = upload(proposal, lead, root, PDF, "letter.pdf")
    (root / "secret.pdf").write_bytes(PDF)  # a file outside the proposal's folder

    assert stored_path(folder, attachment.stored_name).read_bytes() == PDF
    for name in ("../secret.pdf", "../../secret.pdf", str(root / "secret.pdf"), "missing.pdf", ""):
        with pytest.raises(NotFound):
            stored_path(folder, name)


@pytest.mark.parametrize("who", ["outsider", "reviewer", "manager"])
def test_others_cannot_upload_and_nothing_is_written(request, make_user, proposal, root, who):
    role = {"outsider": Role.APPLICANT, "reviewer": Role.REVIEWER, "manager": Role.PROGRAMME_MANAGER}[who]
    actor = make_user(f"{who}@elsewhere.example", role)

    with pytest.raises(AccessDenied):
        upload(proposal, actor, root, PDF, "letter.pdf")

    assert files_under(root) == set() and count(Attachment) == 0


@pytest.mark.parametrize("moment", [CLOSES, CLOSES.replace(second=1)], ids=["at-deadline", "one-second-after"])
def test_no_upload_after_the_deadline(proposal, lead, root, moment):
    with pytest.raises(RuleViolation, match="not open for proposals"):
        upload(proposal, lead, root, PDF, "late.pdf", now=moment)
    assert files_under(root) == set() and count(Attachment) == 0


def test_removing_hides_from_the_draft_but_a_submitted_version_keeps_it_and_the_file_stays(
        proposal, lead, root, folder):
    letter = upload(proposal, lead, root, PDF, "letter.pdf")
    statutes = upload(proposal, lead, root, docx_bytes(), "statutes.docx", kind=AttachmentKind.STATUTES)
    version = services.submit(proposal, actor=lead, now=NOW)
    db.session.commit()
    assert [a["name"] for a in version.snapshot["attachments"]] == ["letter.pdf", "statutes.docx"]

    services.remove_attachment(proposal, letter.id, actor=lead, now=NOW)
    db.session.commit()
    db.session.expire_all()

    assert proposal.live_attachments == [statutes]
    assert [a["name"] for a in services.build_snapshot(proposal)["attachments"]] == ["statutes.docx"]
    assert letter.removed_at == NOW
    frozen = services.get_version(proposal, 1)
    assert [(a["id"], a["sha256"]) for a in frozen.snapshot["attachments"]] == [
        (letter.id, letter.sha256), (statutes.id, statutes.sha256)]
    # The file is still there, and a reader of the version can still reach it.
    assert services.get_attachment(proposal, letter.id) is letter
    assert stored_path(folder, letter.stored_name).read_bytes() == PDF
    assert count(Attachment) == 2
    entry = db.session.scalar(db.select(AuditEntry).where(AuditEntry.action == "proposal.attachment_removed"))
    assert (entry.actor_id, entry.details_dict) == (lead.id, {"attachment_id": letter.id})

    # Removed once is removed: a second removal does not find it.
    with pytest.raises(NotFound):
        services.remove_attachment(proposal, letter.id, actor=lead, now=NOW)
    # A new version no longer lists it.
    second = services.submit(proposal, actor=lead, now=NOW.replace(hour=10))
    db.session.commit()
    assert [a["name"] for a in second.snapshot["attachments"]] == ["statutes.docx"]


def test_an_attachment_of_another_proposal_is_not_found_through_ones_own(proposal, lead, root):
    attachment = upload(proposal, lead, root, PDF, "letter.pdf")
    db.session.commit()
    with pytest.raises(NotFound):
        services.get_attachment(proposal, attachment.id + 1)
    with pytest.raises(NotFound):
        services.remove_attachment(proposal, attachment.id + 1, actor=lead, now=NOW)
    assert proposal.live_attachments == [attachment]
