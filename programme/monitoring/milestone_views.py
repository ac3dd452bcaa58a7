"""Milestone reviews of an initiative: the history and the manager's decision form."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("milestones", __name__)
