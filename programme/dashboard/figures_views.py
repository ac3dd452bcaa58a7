"""The programme dashboard for managers, its public version without personal data, and its Excel export."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("figures", __name__)
