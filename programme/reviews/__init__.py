"""Reviews: reviewers, conflicts, assignment, scoring, aggregation, calibration, ranking and the funding line."""
