"""The initiative pages, all on the one blueprint ``funding``:

- ``initiatives``: the initiatives one may see, and one initiative's page;
- ``disbursements``: the tranches that pay a grant (request a start-up or matching-grant tranche, approve,
  reject, record the payment);
- ``funding_requests``: submitting a funding request and judging it;
- ``cofinancing``: recording the members' co-financing, verifying or rejecting it, its evidence;
- ``facilitation``: the facilitation fund's claims (the lead's claim form, the claim's page, verifying or refusing
  it, its costs' evidence);
- ``_common``: what those pages share (the initiative's page with its matching grants and external-share chart).

Managers, fund administrators and applicants (their groups' initiatives) read them; managers and fund
administrators act on disbursements; only a fund administrator records a payment (the service's rule). A
reviewer sees none (403 on the list, 404 on an initiative). Each view loads, checks access through the services,
validates its form, calls one service and commits once.
"""

from flask import Blueprint

bp = Blueprint("funding", __name__)

# The route modules register their views on ``bp`` when imported.
from programme.funding.views import (  # noqa: E402
    cofinancing,
    disbursements,
    facilitation,
    funding_requests,
    initiatives,
)

__all__ = ["bp", "cofinancing", "disbursements", "facilitation", "funding_requests", "initiatives"]
