"""The benchmarking pages: shared KPIs, one KPI's ranking, publication of names, the KPI-matrix export."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("benchmarking", __name__)
