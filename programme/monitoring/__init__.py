"""Monitoring: each initiative's balanced scorecard (and, later, its self-evaluation reports, benchmarking and
milestone reviews)."""
