"""The home page: open calls for everyone, and each role's next steps."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template, request
from flask_login import current_user

from programme.accounts import services as accounts
from programme.calls import services as calls
from programme.calls.models import CallStatus
from programme.core.access import Role
from programme.core.timezone import programme_today
from programme.core.web import actor, now, programme_zone
from programme.dashboard import work
from programme.extensions import csrf, limiter
from programme.funding import services as funding
from programme.ledger import checks as ledger_checks
from programme.loans import services as loans
from programme.monitoring.services import reports
from programme.proposals import services as proposals
from programme.reviews import services as reviews

bp = Blueprint("home", __name__)


@bp.route("/")
def index():
    moment = now()
    current = [c for c in calls.public_calls() if c.phase(moment) in ("open", "upcoming")]
    groups = accounts.groups_of(current_user) if current_user.is_authenticated else []
    invitations = accounts.pending_invitations_for(current_user) if current_user.is_authenticated else []
    mine = proposals.proposals_of(actor()) if current_user.is_authenticated and current_user.has_role(Role.APPLICANT) \
        else []
    review_calls, outstanding = [], []
    if current_user.is_authenticated and current_user.has_role(Role.REVIEWER):
        review_calls = reviews.calls_of_reviewer(actor())
        outstanding = [r for r in reviews.reviews_of(actor())
                       if not r.submitted and r.call.status == CallStatus.REVIEWING]
    administers = current_user.is_authenticated and current_user.has_role(Role.FUND_ADMINISTRATOR)
    manages = current_user.is_authenticated and current_user.has_role(Role.PROGRAMME_MANAGER)
    awaiting = funding.awaiting(actor=actor()) if administers else []
    to_verify = funding.contributions_awaiting(actor=actor()) if administers else []
    to_judge = funding.funding_requests_awaiting(actor=actor()) if manages else []
    overdue_reports = reports.reports_awaiting(actor=actor(), limit=20) if manages or administers else []
    to_file = reports.reports_to_file(actor=actor()) if current_user.is_authenticated \
        and current_user.has_role(Role.APPLICANT) else []
    in_review = work.calls_in_review(actor=actor()) if manages else []
    submitted = work.recent_submissions(actor=actor(), now=moment) if manages else []
    undelivered_mail = work.undelivered_mail(actor=actor()) if manages else 0
    queue = work.administrator_queue(actor=actor()) if administers else None
    drafts = work.drafts_to_finish(actor=actor(), now=moment) if mine else []
    audits = current_user.is_authenticated and current_user.has_role(Role.AUDITOR)
    ledger_check = ledger_checks.latest_check() if audits else (None, 0)
    approvals = loans.pending_approvals(actor=actor(), for_me=True) if administers else []
    return render_template("home.html", calls=current, groups=groups, invitations=invitations, proposals=mine,
                           review_calls=review_calls, outstanding=outstanding, awaiting=awaiting,
                           to_verify=to_verify, to_judge=to_judge, overdue_reports=overdue_reports,
                           to_file=to_file, in_review=in_review, submitted=submitted, queue=queue,
                           approvals=approvals, recent_days=work.RECENT_DAYS, undelivered_mail=undelivered_mail,
                           drafts=drafts, audits=audits, ledger_check=ledger_check[0],
                           entries_since_check=ledger_check[1], today=programme_today(programme_zone()), now=moment)


@bp.route("/healthz")
@limiter.exempt
@csrf.exempt
def health():
    """For a load balancer: 200 {"status": "ok"} when the database answers and (in production mode) the scheduler
    holding the lock beat its heartbeat lately, else 503 {"status": "unavailable"}; no login, and no detail to
    the public. A logged-in programme manager asking ``?detail=1`` sees which check failed."""
    from programme.core.health import check

    problems = check(current_app)
    body: dict = {"status": "unavailable" if problems else "ok"}
    if request.args.get("detail") == "1" and current_user.is_authenticated \
            and current_user.has_role(Role.PROGRAMME_MANAGER):
        body["problems"] = problems
    response = jsonify(body)
    response.status_code = 503 if problems else 200
    response.headers["Cache-Control"] = "no-store"
    return response
