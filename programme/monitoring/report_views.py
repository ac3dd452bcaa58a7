"""Self-evaluation reports: the list of an initiative's reports and one report's form."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reports", __name__)
