"""The proposal pages, all on the one blueprint ``proposals``:

- ``lifecycle``: starting a group's proposal, the group's proposals, a proposal's overview, submitting,
  withdrawing, a submitted version as it was submitted;
- ``sections``: the cluster, the objectives, the first activities and the indicators, each saved on its own;
- ``budget``: the amount requested, the budget lines and the co-financing commitments;
- ``attachments``: uploading, removing and downloading attachments;
- ``manage``: a programme manager's list of a call's submissions, its Excel export, the eligibility override;
- ``_common``: what those pages share (loading with the access check, the frame of a proposal's page with its
  live eligibility, the overview).

Each view loads, checks access through the services, validates its form, calls one service and commits once.
"""

from flask import Blueprint

bp = Blueprint("proposals", __name__)

# The route modules register their views on ``bp`` when imported.
from programme.proposals.views import attachments, budget, lifecycle, manage, sections  # noqa: E402

__all__ = ["attachments", "bp", "budget", "lifecycle", "manage", "sections"]
