"""The revolving funds and their loans: the funds, a fund's page (position, balance chart, capitalisations,
loans), making a loan (with a preview of its schedule), the loan book (filtered, sorted, paginated, with its
Excel export), a loan's page (schedule with payments, repayments, events; record a repayment, reschedule,
write off, refund a credit; its schedule in Excel) and the bank-statement import.

Managers and fund administrators see every fund and loan, applicants their own groups' (another group's is a
404), reviewers none (403 on the lists, 404 on a fund or loan). Only fund administrators see and use the money
forms (the services check it too). Each view loads, checks access, validates its form, calls one service and
commits once; a refusal is shown beside the field it names, with what was typed kept.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from dateutil.relativedelta import relativedelta
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from programme.core.access import Role, require_role
from programme.core.forms import ActionForm, choices
from programme.core.money import format_money
from programme.core.security import bounded_int
from programme.core.timezone import programme_today
from programme.core.web import actor, attempt, now, page_arg, programme_zone, send_workbook
from programme.extensions import db
from programme.funding import services as funding
from programme.loans import export, services
from programme.loans.forms import (
    CapitaliseForm,
    DecisionForm,
    LoanForm,
    RefundForm,
    RepaymentForm,
    RescheduleForm,
    StatementForm,
    WriteOffForm,
    rate_of,
)
from programme.loans.models import (
    BankStatementImport,
    Loan,
    LoanApproval,
    LoanStatus,
    RevolvingFund,
    StatementStatus,
)
from programme.loans.schedule import LoanTerms, build_schedule
from programme.loans.services import approvals, portfolio, statements

bp = Blueprint("loans", __name__)

#: The fields of the new-loan form that make its schedule (what a preview needs).
SCHEDULE_FIELDS = ("principal", "annual_rate", "term_periods", "grace_periods", "grace", "frequency", "method",
                   "first_due")


def _today() -> date:
    return programme_today(programme_zone())


def _administers() -> bool:
    return actor().has_role(Role.FUND_ADMINISTRATOR)


def _administered_fund(fund_id: int) -> RevolvingFund:
    """A fund to act on: 404 if one may not see it, 403 if one may see it but is not a fund administrator."""
    fund = services.get_fund(fund_id, actor=actor())
    require_role(actor(), Role.FUND_ADMINISTRATOR)
    return fund


def _administered_loan(loan_id: int) -> Loan:
    loan = services.get_loan(loan_id, actor=actor())
    require_role(actor(), Role.FUND_ADMINISTRATOR)
    return loan


# Funds -----------------------------------------------------------------------------------------------------------


@bp.route("/funds")
@login_required
def funds():
    summaries = portfolio.funds_overview(actor=actor())
    me = actor()
    waiting = None
    if any(me.has_role(r) for r in approvals.APPROVERS):
        waiting = len(services.pending_approvals(actor=me, for_me=True))
        if me.has_role(Role.FUND_ADMINISTRATOR):
            waiting += sum(statements.may_apply(s, me) for s in statements.waiting_statements(actor=me))
    return render_template("loans/funds.html", summaries=summaries, administers=_administers(),
                           waiting_for_you=waiting)


def _fund_page(fund: RevolvingFund, *, capitalise_form: CapitaliseForm | None = None, status: int = 200):
    today = _today()
    position = portfolio.fund_position(fund, cash=services.fund_cash(fund), as_of=today)
    points = portfolio.balance_series(fund)
    loans, loan_count = portfolio.loans_of(fund)
    administers = _administers()
    if administers and capitalise_form is None:
        capitalise_form = CapitaliseForm(formdata=None, data={"value_date": today})
    return render_template(
        "loans/fund.html", fund=fund, initiative=fund.initiative, position=position,
        chart=portfolio.balance_chart(points, as_of=today, currency=fund.currency),
        table=portfolio.table_points(points), capitalisations=services.capitalisations_of(fund), loans=loans,
        loan_count=loan_count, administers=administers, capitalise_form=capitalise_form,
        **_approvals_shown(fund=fund),
    ), status


def _approvals_shown(**which: Any) -> dict[str, Any]:
    """The pending four-eyes requests (of a loan or a fund) for the page, to managers and fund administrators."""
    me = actor()
    if not any(me.has_role(r) for r in approvals.APPROVERS):
        return {"pending": [], "may_decide": lambda a: False, "decision_form": None, "summary": None}
    return {"pending": services.pending_approvals(actor=me, **which),
            "may_decide": lambda a: services.may_decide(a, me), "decision_form": DecisionForm(formdata=None),
            "summary": approvals.approval_summary}


@bp.route("/funds/<int:fund_id>")
@login_required
def fund(fund_id: int):
    return _fund_page(services.get_fund(fund_id, actor=actor()))


@bp.route("/initiatives/<int:initiative_id>/fund", methods=["GET", "POST"])
@login_required
def initiative_fund(initiative_id: int):
    """The initiative's revolving fund: a redirect to its page; a fund administrator opens it if it has none."""
    initiative = funding.get_initiative(initiative_id, actor=actor())
    if request.method == "POST":
        require_role(actor(), Role.FUND_ADMINISTRATOR)
    existing = services.existing_fund(initiative)
    if existing is not None:
        return redirect(url_for("loans.fund", fund_id=existing.id))
    if request.method == "POST" and ActionForm().validate_on_submit():
        with attempt() as done:
            fund_id = services.open_fund(initiative, actor=actor()).id
        if not done.ok:
            return redirect(url_for("funding.initiative", initiative_id=initiative.id))
        flash(f"The revolving fund of {initiative.reference} is open: capitalise it to lend.", "success")
        return redirect(url_for("loans.fund", fund_id=fund_id))
    return render_template("loans/no_fund.html", initiative=initiative, administers=_administers(),
                           action_form=ActionForm())


@bp.route("/funds/<int:fund_id>/capitalisations", methods=["POST"])
@login_required
def capitalise(fund_id: int):
    fund = _administered_fund(fund_id)
    form = CapitaliseForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            made = services.capitalise_fund(
                fund, amount=form.amount.data, value_date=form.value_date.data,
                bank_reference=form.bank_reference.data.strip(), note=(form.note.data or "").strip(), actor=actor(),
                now=now(), timezone=programme_zone())
            message = (f"{format_money(made.amount, fund.currency)} put into the fund of {fund.initiative.reference} "
                       f"on {made.value_date.isoformat()}, reference {made.bank_reference}.")
        if done.ok:
            flash(message, "success")
            return redirect(url_for("loans.fund", fund_id=fund_id, _anchor="capitalisations"))
    return _fund_page(fund, capitalise_form=form)


# Making a loan ---------------------------------------------------------------------------------------------------


def _loan_form(fund: RevolvingFund, *, formdata: Any = "post", data: dict | None = None) -> LoanForm:
    form = LoanForm(formdata=None, data=data) if formdata is None else LoanForm()
    form.limit(fund.initiative.call.rules.funding.loans)
    form.borrower_id.choices = choices([(0, "Choose the borrower"), *(
        (o.id, f"{o.name} ({o.kind_label})") for o in fund.initiative.group.organisations)])
    requests = services.loan_requests_of(fund)
    form.funding_request_id.choices = choices([(0, "None"), *(
        (r.id, f"{r.title}: loan of {format_money(r.loan_approved, r.currency)} approved") for r in requests)])
    return form


def _terms(fund: RevolvingFund, form: LoanForm) -> LoanTerms:
    rules = fund.initiative.call.rules.funding.loans
    return LoanTerms(principal=form.principal.data, annual_rate=rate_of(form.annual_rate.data),
                     term_periods=form.term_periods.data, first_due=form.first_due.data, currency=fund.currency,
                     grace_periods=form.grace_periods.data or 0, grace=form.grace.data, frequency=form.frequency.data,
                     method=form.method.data, rounding=rules.rounding)


@bp.route("/funds/<int:fund_id>/loans/new", methods=["GET", "POST"])
@login_required
def new_loan(fund_id: int):
    fund = _administered_fund(fund_id)
    today = _today()
    schedule = None
    if request.method == "GET":
        form = _loan_form(fund, formdata=None, data={
            "disbursed_on": today, "first_due": today + relativedelta(months=1), "grace_periods": 0,
            "annual_rate": None})
    else:
        form = _loan_form(fund)
        if form.preview.data and not form.make.data:
            # A preview needs only the terms: the other fields' errors wait for "Make the loan".
            form.validate()
            for name in set(form._fields) - set(SCHEDULE_FIELDS) - {"csrf_token"}:
                form[name].errors = []
            if not any(form[name].errors for name in SCHEDULE_FIELDS):
                try:
                    schedule = build_schedule(_terms(fund, form))
                except ValueError as exc:
                    flash(f"The schedule cannot be built: {exc}.", "error")
        elif form.validate_on_submit():
            with attempt(form) as done:
                loan = services.make_loan(
                    fund, borrower_id=form.borrower_id.data, principal=form.principal.data,
                    annual_rate=rate_of(form.annual_rate.data), term_periods=form.term_periods.data,
                    grace_periods=form.grace_periods.data or 0, grace=form.grace.data,
                    frequency=form.frequency.data, method=form.method.data, first_due=form.first_due.data,
                    disbursed_on=form.disbursed_on.data, bank_reference=form.bank_reference.data.strip(),
                    purpose=form.purpose.data.strip(), funding_request_id=form.funding_request_id.data or None,
                    actor=actor(), now=now(), timezone=programme_zone())
                if isinstance(loan, LoanApproval):
                    target = url_for("loans.fund", fund_id=fund.id, _anchor="approvals")
                    message = (f"A loan of {format_money(loan.amount, fund.currency)} is waiting for a second "
                               "person's approval: nothing is paid out until then.")
                else:
                    target = url_for("loans.loan", loan_id=loan.id)
                    message = (f"Loan {loan.number} of {format_money(loan.principal, loan.currency)} made to "
                               f"{loan.borrower.name}.")
            if done.ok:
                flash(message, "success")
                return redirect(target)
    return render_template("loans/new_loan.html", fund=fund, initiative=fund.initiative, form=form,
                           schedule=schedule, rules=fund.initiative.call.rules.funding.loans,
                           cash=services.fund_cash(fund))


# The loan book ---------------------------------------------------------------------------------------------------


def _book_filter() -> portfolio.LoanBookFilter:
    args = request.args
    status, bucket, sort = args.get("status", ""), args.get("bucket", ""), args.get("sort", "number")
    return portfolio.LoanBookFilter(
        fund_id=args.get("fund", type=bounded_int) or None,
        status=status if status in {s.value for s in LoanStatus} else None,
        bucket=bucket if bucket in portfolio.BUCKET_FILTERS else None,
        search=(args.get("q") or "").strip()[:100] or None,
        sort=sort if sort in portfolio.SORTS else "number",
        descending=args.get("desc") == "1",
    )


@bp.route("/loans")
@login_required
def loan_book():
    filters = _book_filter()
    page = page_arg()
    book = portfolio.loan_book(filters, actor=actor(), page=page)
    query = {"fund": filters.fund_id, "status": filters.status, "bucket": filters.bucket, "q": filters.search,
             "sort": filters.sort if filters.sort != "number" else None, "desc": "1" if filters.descending else None}

    def link(**changes: Any) -> str:
        merged = {**query, **changes}
        return url_for("loans.loan_book", **{k: v for k, v in merged.items() if v})

    def sort_link(key: str) -> str:
        descending = filters.sort == key and not filters.descending
        return link(sort=key if key != "number" else None, desc="1" if descending else None, page=None)

    fund_choices = portfolio.fund_choices(actor=actor())
    return render_template("loans/book.html", book=book, filters=filters, link=link, sort_link=sort_link,
                           statuses=list(LoanStatus), buckets=portfolio.BUCKET_FILTERS, fund_choices=fund_choices,
                           exports=portfolio.sees_all(actor()))


@bp.route("/loans.xlsx")
@login_required
def loan_book_export():
    require_role(actor(), Role.PROGRAMME_MANAGER, Role.FUND_ADMINISTRATOR, Role.AUDITOR)
    fund_id = request.args.get("fund", type=bounded_int) or None
    if fund_id is not None:
        services.get_fund(fund_id, actor=actor())
    today = _today()
    stamp = now().strftime("%Y%m%d-%H%M")
    return send_workbook(lambda target: export.write_loan_book(target, as_of=today, fund_id=fund_id),
                          f"loan-book-{stamp}.xlsx")


# A loan ----------------------------------------------------------------------------------------------------------


def _prefixed(form: Any, prefix: str) -> Any:
    """Give a form's fields ids of their own (several forms on the loan page share field names)."""
    for name, field in form._fields.items():
        if name != "csrf_token":
            field.id = f"{prefix}-{name}"
            field.label.field_id = field.id
    return form


def _loan_page(loan: Loan, *, forms: dict[str, Any] | None = None, opened: str = "", status: int = 200):
    today = _today()
    administers = _administers()
    shown: dict[str, Any] = {}
    if administers:
        shown = {
            "repayment": RepaymentForm(formdata=None, data={"value_date": today}),
            "reschedule": RescheduleForm(formdata=None, data={"grace_periods": 0}),
            "write_off": WriteOffForm(formdata=None, data={"on_date": today}),
            "refund": RefundForm(formdata=None, data={"value_date": today}),
        }
        shown.update(forms or {})
        for name in ("reschedule", "write_off", "refund"):
            _prefixed(shown[name], name.replace("_", "-"))
    rows = services.schedule_with_payments(loan, as_of=today)
    return render_template(
        "loans/loan.html", loan=loan, fund=loan.fund, initiative=loan.fund.initiative,
        current=[row for row in rows if not row.superseded], superseded=[row for row in rows if row.superseded],
        repayments=services.repayments_of(loan), events=services.events_of(loan), administers=administers,
        forms=shown, opened=opened, today=today, **_approvals_shown(loan=loan),
    ), status


@bp.route("/loans/<int:loan_id>")
@login_required
def loan(loan_id: int):
    return _loan_page(services.get_loan(loan_id, actor=actor()))


def _back(loan_id: int, anchor: str = "schedule"):
    return redirect(url_for("loans.loan", loan_id=loan_id, _anchor=anchor))


@bp.route("/loans/<int:loan_id>/repayments", methods=["POST"])
@login_required
def repay(loan_id: int):
    loan = _administered_loan(loan_id)
    form = RepaymentForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            repayment = services.record_repayment(
                loan, amount=form.amount.data, value_date=form.value_date.data,
                bank_reference=form.bank_reference.data.strip(), actor=actor(), now=now(), timezone=programme_zone())
            message = (f"{format_money(repayment.amount, loan.currency)} received on {loan.number} on "
                       f"{repayment.value_date.isoformat()}, reference {repayment.bank_reference}.")
        if done.ok:
            flash(message, "success")
            return _back(loan_id)
    return _loan_page(loan, forms={"repayment": form}, opened="repayment")


@bp.route("/loans/<int:loan_id>/reschedule", methods=["POST"])
@login_required
def reschedule(loan_id: int):
    loan = _administered_loan(loan_id)
    form = RescheduleForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            services.reschedule_loan(
                loan, term_periods=form.term_periods.data, first_due=form.first_due.data,
                reason=form.reason.data.strip(), actor=actor(), now=now(), annual_rate=rate_of(form.annual_rate.data),
                grace_periods=form.grace_periods.data or 0, grace=form.grace.data, method=form.method.data or None,
                timezone=programme_zone())
            number = loan.number
        if done.ok:
            flash(f"Loan {number} rescheduled: the unpaid instalments are replaced by the new schedule.", "success")
            return _back(loan_id)
    return _loan_page(loan, forms={"reschedule": form}, opened="reschedule")


@bp.route("/loans/<int:loan_id>/write-off", methods=["POST"])
@login_required
def write_off(loan_id: int):
    loan = _administered_loan(loan_id)
    form = WriteOffForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            asked = services.request_write_off(loan, reason=form.reason.data.strip(), on_date=form.on_date.data,
                                               actor=actor(), now=now(), timezone=programme_zone())
            message = (f"The write-off of {loan.number} ({format_money(asked.amount, loan.currency)}) is waiting "
                       "for a second person's approval.")
        if done.ok:
            flash(message, "success")
            return _back(loan_id, "approvals")
    return _loan_page(loan, forms={"write_off": form}, opened="write_off")


@bp.route("/loans/<int:loan_id>/refund", methods=["POST"])
@login_required
def refund(loan_id: int):
    loan = _administered_loan(loan_id)
    form = RefundForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            asked = services.request_credit_refund(loan, bank_reference=form.bank_reference.data.strip(),
                                                   value_date=form.value_date.data, reason=form.reason.data.strip(),
                                                   actor=actor(), now=now(), timezone=programme_zone())
            message = (f"The refund of {format_money(asked.amount, loan.currency)} of credit to {loan.borrower.name} "
                       "is waiting for a second person's approval.")
        if done.ok:
            flash(message, "success")
            return _back(loan_id, "approvals")
    return _loan_page(loan, forms={"refund": form}, opened="refund")


@bp.route("/loans/<int:loan_id>/schedule.xlsx")
@login_required
def schedule_export(loan_id: int):
    loan = services.get_loan(loan_id, actor=actor())
    return send_workbook(lambda target: export.write_loan_schedule(target, loan), f"{loan.number}-schedule.xlsx")


# Bank statements -------------------------------------------------------------------------------------------------


def _statements_page(form: StatementForm, *, check: statements.StatementCheck | None = None,
                     applied: BankStatementImport | None = None, summary: Any = None,
                     stored: BankStatementImport | None = None):
    imports, count = statements.recent_imports(actor=actor())
    waiting = statements.waiting_statements(actor=actor())
    me = actor()
    return render_template("loans/statements.html", form=form, check=check, applied=applied, summary=summary,
                           imports=imports, import_count=count, stored=stored, waiting=waiting,
                           may_apply=lambda statement: statements.may_apply(statement, me),
                           decision_form=DecisionForm(formdata=None))


@bp.route("/bank-statements", methods=["GET", "POST"])
@login_required
def bank_statements():
    require_role(actor(), Role.FUND_ADMINISTRATOR)
    form = StatementForm()
    if request.method == "GET" or not form.validate_on_submit():
        return _statements_page(form)
    upload = form.statement.data
    check = statements.check_statement(upload.stream, upload.filename or "statement.xlsx", actor=actor(), now=now(),
                                       timezone=programme_zone())
    if not check.ok:
        db.session.rollback()
        return _statements_page(form, check=check)
    summary = check.summary
    with attempt(flash_unplaced=False) as done:  # a refusal is listed with the statement's other errors
        stored = statements.store_checked_statement(check, actor=actor(), now=now())
        stored_id = stored.id
    if not done.ok:
        check.errors.append(done.message)
        return _statements_page(form, check=check)
    kept = db.session.get(BankStatementImport, stored_id) if stored_id is not None else stored
    if kept is None or kept.status != StatementStatus.CHECKED:  # nothing new in it: applied before
        return _statements_page(StatementForm(formdata=None), check=check, applied=kept or stored, summary=summary)
    return _statements_page(StatementForm(formdata=None), check=check, summary=summary, stored=kept)


@bp.route("/bank-statements/<int:statement_id>/apply", methods=["POST"])
@login_required
def apply_statement(statement_id: int):
    statement = statements.get_statement(statement_id, actor=actor())
    if ActionForm().validate_on_submit():
        with attempt() as done:
            applied = statements.apply_statement(statement, actor=actor(), now=now(), timezone=programme_zone())
            message = (f"{applied.filename} applied: {applied.applied} row(s), "
                       f"{format_money(applied.total, '')} received.")
        if done.ok:
            flash(message, "success")
    return redirect(url_for("loans.bank_statements"))


@bp.route("/bank-statements/<int:statement_id>/reject", methods=["POST"])
@login_required
def reject_statement(statement_id: int):
    statement = statements.get_statement(statement_id, actor=actor())
    form = DecisionForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            statements.reject_statement(statement, reason=form.reason.data.strip(), actor=actor(), now=now())
        if done.ok:
            flash(f"{statement.filename} rejected: nothing of it was applied.", "success")
    else:
        flash("Give the reason for the rejection.", "error")
    return redirect(url_for("loans.bank_statements"))


# Four eyes: requests waiting for a second person -----------------------------------------------------------------


@bp.route("/loan-approvals")
@login_required
def loan_approvals():
    """The write-offs, refunds and new loans waiting for a second person; "waiting for your approval" first."""
    me = actor()
    pending = services.pending_approvals(actor=me)
    mine = [a for a in pending if services.may_decide(a, me)]
    others = [a for a in pending if a not in mine]
    waiting_statements = statements.waiting_statements(actor=me) if me.has_role(Role.FUND_ADMINISTRATOR) else []
    return render_template("loans/approvals.html", mine=mine, others=others, summary=approvals.approval_summary,
                           may_all=lambda a: True, may_none=lambda a: False,
                           decision_form=DecisionForm(formdata=None), action_form=ActionForm(),
                           waiting_statements=waiting_statements)


def _after_decision(approval: LoanApproval):
    if approval.loan_id is not None:
        return redirect(url_for("loans.loan", loan_id=approval.loan_id, _anchor="events"))
    return redirect(url_for("loans.loan_approvals"))


@bp.route("/loan-approvals/<int:approval_id>/approve", methods=["POST"])
@login_required
def approve(approval_id: int):
    approval = services.get_approval(approval_id, actor=actor())
    if ActionForm().validate_on_submit():
        with attempt() as done:
            decided = services.approve(approval, actor=actor(), now=now(), timezone=programme_zone())
            message = f"Approved and posted: {approvals.approval_summary(decided)}."
        if done.ok:
            flash(message, "success")
    return _after_decision(approval)


@bp.route("/loan-approvals/<int:approval_id>/reject", methods=["POST"])
@login_required
def reject(approval_id: int):
    approval = services.get_approval(approval_id, actor=actor())
    form = DecisionForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            services.reject(approval, reason=form.reason.data.strip(), actor=actor(), now=now())
        if done.ok:
            flash("Rejected: nothing was posted.", "success")
    else:
        flash("Give the reason for the rejection.", "error")
    return _after_decision(approval)
