"""The API's blueprint, one module per area: ``calls`` and ``figures`` (public), ``proposals`` (the caller's, with
their submitted versions), ``initiatives`` (with grants and tranches; asking for a tranche), ``loans`` (funds, loans
with their schedules and repayments, recording a repayment), ``reports`` (self-evaluation reports and KPI values;
saving and submitting them), ``ledger`` (the trial balance and the journal), ``docs`` (the description and its
viewer). ``_common`` holds the blueprint and what every route shares."""

from programme.api.views import calls, docs, figures, initiatives, ledger, loans, proposals, reports
from programme.api.views._common import bp

__all__ = ["bp", "calls", "docs", "figures", "initiatives", "ledger", "loans", "proposals", "reports"]
