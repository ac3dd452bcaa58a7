"""The loan book (filtered, sorted, paginated) and its Excel export."""

from __future__ import annotations

from typing import Any

from flask import render_template, request, url_for
from flask_login import login_required

from programme.core.access import Role, require_role
from programme.core.security import bounded_int
from programme.core.web import actor, now, page_arg, send_workbook
from programme.dashboard.cache import data_version
from programme.loans import export, services
from programme.loans.models import (
    LoanStatus,
)
from programme.loans.services import portfolio
from programme.loans.views import bp
from programme.loans.views._common import _today


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
    book = portfolio.loan_book(filters, actor=actor(), page=page, version=data_version(today=_today()))
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
