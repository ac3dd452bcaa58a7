"""The monitoring services, one module per flow: `scorecards` (an initiative's balanced scorecard and its KPIs),
`reports` (self-evaluation reports and their daily schedule), `benchmarking` (shared KPIs compared across
initiatives, and the publication of names) and `milestones` (milestone reviews, which call funding to end or move
on an initiative)."""
