"""The review pages, all on the one blueprint ``reviews``:

- ``manage``: the programme manager's overview (start, deadline, publication), the reviewer pool, the
  assignments;
- ``scores``: the scores, one proposal's reviews with consensus, reopening and decision, the calibration;
- ``ranking``: the ranking with its funding line and chart, deciding as ranked, the Excel exports;
- ``reviewer``: the reviewer's calls, expertise, conflicts of interest and the scoring page;
- ``_common``: what those pages share.

Each view loads, checks access through the services, validates its form, calls one service and commits once.
"""

from flask import Blueprint

bp = Blueprint("reviews", __name__)

# The route modules register their views on ``bp`` when imported.
from programme.reviews.views import manage, ranking, reviewer, scores  # noqa: E402

__all__ = ["bp", "manage", "ranking", "reviewer", "scores"]
