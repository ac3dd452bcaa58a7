"""The monitoring pages, one blueprint per flow: `scorecards`, `reports`, `benchmarking`, `milestones`."""
