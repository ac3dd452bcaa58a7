"""The API's description (OpenAPI 3.1, generated from the routes) and the page that shows it."""

from __future__ import annotations

from flask import jsonify, render_template, url_for

from programme.api.spec import description, reference
from programme.api.views._common import bp
from programme.core.security import CONTENT_SECURITY_POLICY

#: The viewer sets style attributes as it draws; this page alone allows them (still no inline script).
VIEWER_POLICY = CONTENT_SECURITY_POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")


@bp.get("/openapi.json")
def openapi():
    """The API's description, OpenAPI 3.1, written from the routes' declared shapes (public)."""
    return jsonify(description())


@bp.get("/docs")
def docs():
    """The API's page for people: what it offers, how to authenticate, an example, and every operation with its
    fields and answers (drawn on the server from the description: readable without script, by keyboard and by
    screen readers)."""
    return render_template("api/docs.html", spec_url=url_for("api.openapi"), operations=reference())


@bp.get("/docs/viewer")
def viewer():
    """The description in Swagger UI (vendored), to try requests from the browser. Its markup is Swagger UI's own,
    which falls short of the accessibility checks the programme's pages pass; the reference on /api/v1/docs holds
    the same content."""
    page = render_template("api/viewer.html", spec_url=url_for("api.openapi"))
    return page, 200, {"Content-Security-Policy": VIEWER_POLICY}
