"""Every area's models, imported in one place for Alembic and the test suite."""

from programme.accounts import models as accounts_models
from programme.calls import models as calls_models
from programme.core import audit, changes, notifications, schedule_log
from programme.funding import models as funding_models
from programme.ledger import models as ledger_models
from programme.loans import guarantee_models as loan_guarantee_models
from programme.loans import models as loans_models
from programme.monitoring import models as monitoring_models
from programme.proposals import models as proposals_models
from programme.reviews import models as reviews_models

__all__ = [
    "accounts_models", "audit", "calls_models", "changes", "funding_models", "ledger_models",
    "loan_guarantee_models", "loans_models",
    "monitoring_models", "notifications", "proposals_models", "reviews_models", "schedule_log",
]
