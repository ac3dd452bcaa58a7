"""Operations of the review, one module per flow:

- ``reviewer_pool``: the reviewer pool of a call, expertise, conflicts of interest;
- ``assignment``: the start of the review and its deadline, assignment by hand and automatic, moves, removals;
- ``scoring``: the reviewer's reviews, saving and submitting, reopening, the co-reviewers' scores, consensus;
- ``results``: aggregated scores, the ranking, the results cache, calibration, the overview's figures;
- ``score_table``: the scores page's table (orders, search, rows written out), kept per results version;
- ``ranking_table``: the ranking page's chart, counts and rows, kept per results version;
- ``chart``: the geometry of the ranking chart (inline SVG);
- ``decisions``: decisions, deciding as ranked, publication with its awards, the group's feedback;
- ``reminders``: the scheduled reminders and late-review flags;
- ``queries``: what the review pages read besides the operations;
- ``_common``: what the flow modules share (private to this package).

Every operation takes the actor (and the time) explicitly, checks permission, changes state, writes the
audit log, flushes and never commits. The calculations are in ``reviews.domain``, ``reviews.aggregation``,
``reviews.ranking``, ``reviews.agreement`` and ``reviews.assignment_plan``. Callers use the package:
``from programme.reviews import services as reviews``.
"""

from programme.reviews.services._common import DECIDED, IN_REVIEW, grant_amount, scoring_of
from programme.reviews.services.assignment import (
    AssignmentRow,
    AutoAssignment,
    assign_reviewer,
    assignment_overview,
    auto_assign,
    change_deadline,
    move_assignment,
    proposals_in_review,
    remove_assignment,
    reviewer_loads,
    start_review,
)
from programme.reviews.services.chart import Bar, Chart, ranking_chart
from programme.reviews.services.decisions import (
    CriterionFeedback,
    Feedback,
    decide_as_ranked,
    feedback_for,
    publish_decisions,
    record_decision,
)
from programme.reviews.services.queries import (
    Slice,
    assignment_page,
    conflicted_proposals,
    declarations_page,
    declared_conflicts,
    load_organisations,
    load_proposals,
    proposal_in_review,
    short_of_reviewers,
)
from programme.reviews.services.ranking_table import RankingView, ranking_view
from programme.reviews.services.reminders import flag_late_reviews, remind_reviewers
from programme.reviews.services.results import (
    Calibration,
    CallResults,
    Figures,
    ProposalRow,
    calibration,
    call_results,
    clear_results_cache,
    compute_results,
    results_of,
    review_figures,
)
from programme.reviews.services.reviewer_pool import (
    CANDIDATES_SHOWN,
    ConflictMap,
    ConflictSubject,
    add_reviewer,
    conflict_subject,
    conflicts,
    declarations_of,
    declare_conflict,
    is_conflicted,
    known_sectors,
    organisations_of_call,
    pool,
    pool_entry,
    remove_reviewer,
    reviewer_candidates,
    reviewer_conflicts,
    set_expertise,
    withdraw_conflict,
)
from programme.reviews.services.score_table import SCORE_SORTS, SCORES_PER_PAGE, ScoreLine, ScorePage, score_page
from programme.reviews.services.scoring import (
    CoReview,
    ReviewIncomplete,
    calls_of_reviewer,
    clear_consensus,
    co_reviews,
    consensus_of,
    get_review,
    proposal_reviews,
    record_consensus,
    reopen_review,
    reviewed_version,
    reviews_of,
    save_review,
)

__all__ = [
    # shared
    "DECIDED", "IN_REVIEW", "grant_amount", "scoring_of",
    # pool
    "CANDIDATES_SHOWN", "ConflictMap", "ConflictSubject", "add_reviewer", "conflict_subject", "conflicts",
    "declarations_of", "declare_conflict", "is_conflicted", "known_sectors", "organisations_of_call", "pool",
    "pool_entry", "remove_reviewer", "reviewer_candidates", "reviewer_conflicts", "set_expertise",
    "withdraw_conflict",
    # assignment
    "AssignmentRow", "AutoAssignment", "assign_reviewer", "assignment_overview", "auto_assign", "change_deadline",
    "move_assignment", "proposals_in_review", "remove_assignment", "reviewer_loads", "start_review",
    # scoring
    "CoReview", "ReviewIncomplete", "calls_of_reviewer", "clear_consensus", "co_reviews", "consensus_of",
    "get_review", "proposal_reviews", "record_consensus", "reopen_review", "reviewed_version", "reviews_of",
    "save_review",
    # results
    "Calibration", "CallResults", "Figures", "ProposalRow", "calibration", "call_results", "clear_results_cache",
    "compute_results", "results_of", "review_figures",
    # the ranking page's figures and rows
    "RankingView", "ranking_view",
    # the scores table
    "SCORE_SORTS", "SCORES_PER_PAGE", "ScoreLine", "ScorePage", "score_page",
    # ranking chart
    "Bar", "Chart", "ranking_chart",
    # decisions
    "CriterionFeedback", "Feedback", "decide_as_ranked", "feedback_for", "publish_decisions", "record_decision",
    # reminders
    "flag_late_reviews", "remind_reviewers",
    # queries of the pages
    "Slice", "assignment_page", "conflicted_proposals", "declarations_page", "declared_conflicts",
    "load_organisations", "load_proposals", "proposal_in_review", "short_of_reviewers",
]
