"""The monitoring forms, one module per flow: `scorecards`, `reports`, `benchmarking`, `milestones`."""
