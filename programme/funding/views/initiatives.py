"""The initiatives one may see (filtered from the dashboard's links) and one initiative's page."""

from __future__ import annotations

from flask import render_template, request, url_for
from flask_login import login_required

from programme.core.security import bounded_int
from programme.core.timezone import to_local
from programme.core.web import actor, now, page_arg, programme_zone
from programme.funding import services
from programme.funding.models import InitiativeStatus
from programme.funding.views import bp
from programme.funding.views._common import page


@bp.route("/initiatives")
@login_required
def initiatives():
    # Filters from the dashboard's links (each optional; an unknown value is ignored, not an error).
    status_arg = request.args.get("status", "")
    status = InitiativeStatus(status_arg) if status_arg in {s.value for s in InitiativeStatus} else None
    call_id = request.args.get("call", type=bounded_int) or None
    year = request.args.get("year", type=bounded_int)
    year = year if year is not None and 1 <= year <= 1000 else None
    zone = programme_zone()
    listed = services.initiative_list(actor(), status=status, call_id=call_id, year=year,
                                      today=to_local(now(), zone).date(), timezone=zone, page=page_arg())
    filters = {"status": status, "call": call_id, "year": year}

    def link(page: int) -> str:
        return url_for("funding.initiatives", **{k: v for k, v in filters.items() if v is not None},
                       **({"page": page} if page > 1 else {}))

    return render_template("funding/list.html", listed=listed, filters=filters, link=link,
                           narrowed=any(v is not None for v in filters.values()))


@bp.route("/initiatives/<int:initiative_id>")
@login_required
def initiative(initiative_id: int):
    return page(services.get_initiative(initiative_id, actor=actor()))
