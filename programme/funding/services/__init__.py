"""Operations on the money of initiatives, one module per flow:

- ``initiatives``: listing and loading initiatives, their start date and programme years, and their life (opened
  when a call's decisions are published, moved on or ended at a milestone review): ``STAGES``, ``CLOSED``;
- ``disbursements``: a grant paid in tranches (request, approve, reject, record the payment), the call's budget
  in the ledger, a grant's position and the lists of tranches;
- ``caps``: the caps on a matching-grant tranche (``tranche_limits``), the matchable co-financing, and the
  refusal of a tranche over a cap;
- ``funding_requests``: submitting a funding request and judging it (an approved grant part becomes a matching
  grant);
- ``cofinancing``: the members' co-financing contributions, their evidence and their verification;
- ``facilitation``: the facilitation fund's claims (submitted by the group's lead with evidence, verified into a
  tranche of the facilitation grant, or refused) and its position; ``facilitation_caps``: the limits of a claim's
  payment (share, ceiling, the year's external share, the overall cap);
- ``matching``: the matching grants' positions and the external-share chart of the initiative's page;
- ``_common``: what the flow modules share (private to this package).

Every operation takes the actor and the time explicitly, checks permission, changes state, writes the
audit log, flushes and never commits. The calculations are in ``funding.domain``. Callers use the package:
``from programme.funding import services as funding``.
"""

from programme.funding.domain import GrantPosition
from programme.funding.models import HOLDING
from programme.funding.services._common import HANDLERS, people_named
from programme.funding.services.caps import (
    capitalised,
    lock_initiative,
    matchable_of,
    programme_money_of,
    refuse_over_initiative_cap,
    tranche_limits,
)
from programme.funding.services.cofinancing import (
    contributions_awaiting,
    contributions_folder,
    contributions_of,
    get_contribution,
    may_record_contributions,
    record_contribution,
    reject_contribution,
    verify_contribution,
)
from programme.funding.services.disbursements import (
    approve_disbursement,
    awaiting,
    budget_call,
    disbursements_of,
    get_disbursement,
    grant_position,
    paid_from_ledger,
    people_of,
    positions_of,
    record_payment,
    reject_disbursement,
    request_disbursement,
)
from programme.funding.services.facilitation import (
    CostItemInput,
    claims_folder,
    claims_of,
    facilitation_position,
    get_claim,
    get_claim_item,
    may_claim,
    refuse_claim,
    submit_claim,
    verify_claim,
)
from programme.funding.services.facilitation_caps import claim_limits, facilitation_grant, facilitation_rules
from programme.funding.services.funding_requests import (
    funding_requests_awaiting,
    funding_requests_of,
    get_funding_request,
    judge_funding_request,
    may_submit_requests,
    submit_funding_request,
)
from programme.funding.services.initiatives import (
    CLOSED,
    STAGES,
    InitiativeList,
    InitiativeRow,
    change_initiative_stage,
    get_initiative,
    initiative_list,
    initiatives_after,
    initiatives_for,
    initiatives_of_proposals,
    later_stages,
    open_initiative,
    started_on,
    terminate_initiative,
    year_of,
)
from programme.funding.services.matching import (
    InitiativeFigures,
    MatchingPosition,
    Person,
    initiative_figures,
    matching_grants_of,
    matching_positions,
    matching_positions_of,
    names_of,
    share_chart,
)

__all__ = [
    # initiatives
    "CLOSED", "STAGES", "InitiativeList", "InitiativeRow", "change_initiative_stage", "get_initiative",
    "initiative_list", "initiatives_after", "initiatives_for", "initiatives_of_proposals", "later_stages",
    "open_initiative", "started_on", "terminate_initiative", "year_of",
    # disbursements
    "HANDLERS", "HOLDING", "GrantPosition", "approve_disbursement", "awaiting", "budget_call", "disbursements_of",
    "get_disbursement", "grant_position", "paid_from_ledger", "people_of", "positions_of", "record_payment",
    "reject_disbursement", "request_disbursement",
    # caps
    "capitalised", "lock_initiative", "matchable_of", "programme_money_of", "refuse_over_initiative_cap",
    "tranche_limits",
    # funding requests
    "funding_requests_awaiting", "funding_requests_of", "get_funding_request", "judge_funding_request",
    "may_submit_requests", "submit_funding_request",
    # co-financing
    "contributions_awaiting", "contributions_folder", "contributions_of", "get_contribution",
    "may_record_contributions", "people_named", "record_contribution", "reject_contribution", "verify_contribution",
    # the facilitation fund
    "CostItemInput", "claim_limits", "claims_folder", "claims_of", "facilitation_grant", "facilitation_rules",
    "facilitation_position", "get_claim", "get_claim_item", "may_claim", "refuse_claim", "submit_claim",
    "verify_claim",
    # matching grants
    "MatchingPosition", "matching_grants_of", "matching_positions", "share_chart",
    # the initiative's page
    "InitiativeFigures", "Person", "initiative_figures", "matching_positions_of", "names_of",
]
