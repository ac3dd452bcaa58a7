"""Operations on proposals, one module per flow:

- ``drafts``: loading proposals, a group's start of its proposal, and the draft's cluster, objectives, first
  activities and indicators;
- ``budget``: the budget lines, the amount requested and the co-financing commitments;
- ``attachments``: uploading, removing and finding the draft's attachments;
- ``submitting``: the snapshot of the draft, its budget's checks, its eligibility, submitting a version,
  withdrawing, the versions;
- ``submissions``: the programme manager's eligibility override, list of a call's submissions, total requested
  and export rows;
- ``_common``: what the flow modules share (private to this package).

Each takes the actor explicitly and flushes; the view, command or job commits. Callers use the package:
``from programme.proposals import services``.
"""

from programme.proposals.services.attachments import (
    add_attachment,
    attachments_folder,
    get_attachment,
    remove_attachment,
)
from programme.proposals.services.budget import (
    BudgetLineData,
    CoFinancingData,
    add_budget_line,
    add_cofinancing,
    remove_budget_line,
    remove_cofinancing,
    set_requested_amount,
    update_budget_line,
)
from programme.proposals.services.drafts import (
    ActivityData,
    ClusterSection,
    IndicatorData,
    add_activity,
    add_indicator,
    get_proposal,
    get_proposal_for_edit,
    proposals_for_group_and_call,
    proposals_of,
    remove_activity,
    remove_indicator,
    start_proposal,
    update_activity,
    update_cluster,
    update_objectives,
)
from programme.proposals.services.stages import stage_path
from programme.proposals.services.submissions import (
    EXPORT_COLUMNS,
    SORTS,
    SubmissionFilter,
    SubmissionsPage,
    iter_submissions,
    list_submissions,
    override_eligibility,
    requested_total,
    submissions_page,
)
from programme.proposals.services.submitting import (
    budget_check,
    build_snapshot,
    eligibility,
    get_version,
    live_eligibility,
    recorded_verdict,
    submit,
    withdraw,
)

__all__ = [
    # drafts
    "ActivityData", "ClusterSection", "IndicatorData", "add_activity", "add_indicator", "get_proposal",
    "get_proposal_for_edit", "proposals_for_group_and_call", "proposals_of", "remove_activity", "remove_indicator",
    "start_proposal", "update_activity", "update_cluster", "update_objectives",
    # budget
    "BudgetLineData", "CoFinancingData", "add_budget_line", "add_cofinancing", "remove_budget_line",
    "remove_cofinancing", "set_requested_amount", "update_budget_line",
    # attachments
    "add_attachment", "attachments_folder", "get_attachment", "remove_attachment",
    # submitting
    "budget_check", "build_snapshot", "eligibility", "get_version", "live_eligibility", "recorded_verdict", "submit",
    "withdraw",
    # a staged call
    "stage_path",
    # the manager's view
    "EXPORT_COLUMNS", "SORTS", "SubmissionFilter", "SubmissionsPage", "iter_submissions", "list_submissions",
    "override_eligibility", "requested_total", "submissions_page",
]
