"""The audit log page and its Excel export: programme managers and auditors (403 for anyone else). Both read
the same filter from the query string and change nothing (GET only)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template, request, url_for
from flask_login import login_required

from programme.audit import services
from programme.audit.export import write_audit_log
from programme.audit.forms import AuditFilterForm
from programme.core.web import actor, now, page_arg, programme_zone, send_workbook

bp = Blueprint("audit", __name__)

#: The query-string names of the filter, in the order the links write them.
FILTER_FIELDS = ("object_type", "object_id", "person", "action", "date_from", "date_to")


def _filters(form: AuditFilterForm) -> services.AuditFilter:
    return services.AuditFilter(
        object_type=(form.object_type.data or "").strip(), object_id=form.object_id.data,
        person=(form.person.data or "").strip(), action=(form.action.data or "").strip(),
        date_from=form.date_from.data, date_to=form.date_to.data)


def _query_args() -> dict[str, str]:
    return {name: request.args[name] for name in FILTER_FIELDS if request.args.get(name)}


@bp.route("/audit")
@login_required
def index():
    services.require_audit_reader(actor())
    form = AuditFilterForm(formdata=request.args)
    if not form.validate():
        return render_template("audit/index.html", form=form, result=None, links={}, link=None,
                               object_types=services.object_types()), 400
    result = services.audit_page(_filters(form), page=page_arg(), actor=actor(), timezone=programme_zone())
    links = {}
    for entry in result.entries:
        target = services.object_page(entry, actor())
        if target is not None:
            links[entry.id] = url_for(target[0], **target[1])
    args = _query_args()

    def link(**changes: Any) -> str:
        return url_for("audit.index", **{**args, **changes})

    return render_template("audit/index.html", form=form, result=result, links=links, link=link,
                           export_url=url_for("audit.export", **args), object_types=services.object_types())


@bp.route("/audit.xlsx")
@login_required
def export():
    services.require_audit_reader(actor())
    form = AuditFilterForm(formdata=request.args)
    if not form.validate():
        return render_template("audit/index.html", form=form, result=None, links={}, link=None,
                               object_types=services.object_types()), 400
    filters, user, zone = _filters(form), actor(), programme_zone()
    stamp = now().strftime("%Y%m%d-%H%M")
    return send_workbook(lambda target: write_audit_log(target, filters, actor=user, timezone=zone),
                         f"audit-log-{stamp}.xlsx")
