"""The review pages (the manager's and the reviewer's); the routes arrive in the next commits."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("reviews", __name__)
