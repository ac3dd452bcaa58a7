"""The facilitation fund's services (seed 003, section 8): a claim of facilitation costs with evidence, submitted by
the group's lead, verified by a fund administrator who did not submit it into a tranche of the facilitation grant,
approved by another person and paid through the ledger; refused one cent over each limit and accepted at it."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from programme.core.access import AccessDenied, NotFound, Role, RuleViolation
from programme.extensions import db
from programme.funding import services
from programme.funding.models import (
    ClaimStatus,
    Disbursement,
    DisbursementStatus,
    FacilitationClaim,
    GrantKind,
)
from programme.funding.services.shares import current_year_shares
from programme.ledger.checks import check_ledger, check_loans
from programme.ledger.models import JournalEntry
from tests.funding.conftest import Funded
from tests.funding.facilitation import DAY, NOW, D, claim, cost, paid_claim, set_rule
from tests.reviews.world import user


def _refused(f: Funded, tmp_path, *costs, amount: str) -> RuleViolation:
    with pytest.raises(RuleViolation) as refused:
        claim(f, *costs, amount=amount, upload_root=tmp_path)
    return refused.value


def test_a_claim_is_verified_approved_and_paid_through_the_ledger(funded: Funded, tmp_path) -> None:
    f = funded
    made = paid_claim(f, cost("1200.00"), cost("300.00", row=1, kind="venue", description="Hall for the meeting"),
                      upload_root=tmp_path)
    assert made.status == ClaimStatus.VERIFIED and made.costs == D("1500.00")
    assert made.amount == D("750.00")  # left empty: the share (50 %) of the costs
    assert [i.kind for i in made.items] == ["facilitator", "venue"]
    d = db.session.get(Disbursement, made.disbursement_id)
    assert d.status == DisbursementStatus.PAID and d.grant.kind == GrantKind.FACILITATION
    assert d.requested_by_id == f.admin.id and d.approved_by_id == f.admin2.id
    assert d.grant.committed == D("20000.00") and d.journal_entry_id is not None
    assert services.paid_from_ledger(f.initiative) == D("750.00")
    assert check_ledger() == [] and check_loans() == []
    position = services.facilitation_position(f.initiative, now=NOW, timezone="UTC")
    assert (position.ceiling, position.costs_claimed, position.claimed, position.paid, position.remaining) == (
        D("20000.00"), D("1500.00"), D("750.00"), D("750.00"), D("19250.00"))
    assert position.window_ends == date(2028, 6, 1) and position.months_left == 9


def test_verified_or_paid_twice_changes_nothing(funded: Funded, tmp_path) -> None:
    f = funded
    made = paid_claim(f, upload_root=tmp_path)
    entries = db.session.scalar(select(func.count()).select_from(JournalEntry))
    again = services.verify_claim(made, actor=f.admin, now=NOW, timezone="UTC")
    d = db.session.get(Disbursement, made.disbursement_id)
    services.record_payment(d, value_date=NOW.date(), bank_reference="BANK-FAC-1", actor=f.admin, now=NOW,
                            timezone="UTC")
    assert again.disbursement_id == made.disbursement_id
    assert db.session.scalar(select(func.count()).select_from(Disbursement)
                             .where(Disbursement.grant_id == d.grant_id)) == 1
    assert db.session.scalar(select(func.count()).select_from(JournalEntry)) == entries
    assert services.paid_from_ledger(f.initiative) == D("500.00")


# --- the limits: one cent over refused, at the limit accepted -----------------------------------------------


def test_the_share_of_the_costs(funded: Funded, tmp_path) -> None:
    f = funded
    refused = _refused(f, tmp_path, cost("1000.00"), amount="500.01")
    assert refused.field == "amount"
    assert refused.message == ("The facilitation fund pays 50 % of the costs: at most EUR 500.00 of EUR 1,000.00; "
                               "EUR 500.01 is too much.")
    assert claim(f, cost("1000.00"), amount="500.00", upload_root=tmp_path).amount == D("500.00")


def test_the_ceiling_of_the_fund(funded: Funded, tmp_path) -> None:
    f = funded
    set_rule(f, "ceiling = 20_000.00", "ceiling = 1_000.00")
    paid_claim(f, cost("1200.00"), upload_root=tmp_path)  # 600.00 paid
    refused = _refused(f, tmp_path, cost("1000.00"), amount="400.01")
    assert "ceiling of EUR 1,000.00 allows at most EUR 400.00 more" in refused.message
    assert claim(f, cost("1000.00"), amount="400.00", upload_root=tmp_path).amount == D("400.00")


def test_the_ceiling_is_checked_again_when_a_claim_is_verified(funded: Funded, tmp_path) -> None:
    f = funded
    set_rule(f, "ceiling = 20_000.00", "ceiling = 1_000.00")
    first = claim(f, cost("1200.00"), upload_root=tmp_path)  # 600.00
    second = claim(f, cost("1000.00"), upload_root=tmp_path)  # 500.00: each fits alone
    services.verify_claim(first, actor=f.admin, now=NOW, timezone="UTC")
    with pytest.raises(RuleViolation, match="allows at most EUR 400.00 more"):
        services.verify_claim(second, actor=f.admin, now=NOW, timezone="UTC")


def test_the_years_external_share_cap(funded: Funded, tmp_path) -> None:
    f = funded
    set_rule(f, "schedule = [1.00, 0.75, 0.50, 0.25]", "schedule = [0.40, 0.40, 0.30, 0.25]")
    # 40 % of the claim's costs: the members pay the other 60 % themselves
    refused = _refused(f, tmp_path, cost("1000.00"), amount="400.01")
    assert "year-1 external-share cap of 40 % allows at most EUR 400.00" in refused.message
    made = claim(f, cost("1000.00"), amount="400.00", upload_root=tmp_path)
    # left empty, the amount is the most every limit allows
    assert claim(f, cost("1000.00"), upload_root=tmp_path).amount == D("400.00")
    services.verify_claim(made, actor=f.admin, now=NOW, timezone="UTC")
    share_row = services.share_chart(f.initiative, now=NOW, timezone="UTC")[0]
    assert share_row.cofinancing == D("600.00")  # the members' own part counts as their money
    # the dashboard reads the same figure (one statement for every initiative)
    start = services.started_on(f.initiative, "UTC")
    shares = current_year_shares({f.initiative.id: (start, f.initiative.call.rules.funding.external_share)},
                                 today=NOW.date())
    assert shares[f.initiative.id].cofinancing == D("600.00")


def test_the_overall_cap_per_initiative(funded: Funded, tmp_path) -> None:
    f = funded
    services.request_disbursement(f.grant, amount="30000.00", purpose="Start-up", actor=f.manager, now=NOW,
                                  timezone="UTC")
    f.initiative.call.per_initiative_cap = D("30400.00")
    db.session.flush()
    refused = _refused(f, tmp_path, cost("1000.00"), amount="400.01")
    assert "overall cap of EUR 30,400.00 per initiative allows at most EUR 400.00 more" in refused.message
    assert claim(f, cost("1000.00"), amount="400.00", upload_root=tmp_path).amount == D("400.00")


def test_the_caps_are_checked_again_at_approval_and_payment(funded: Funded, tmp_path) -> None:
    f = funded
    made = claim(f, cost("1000.00"), upload_root=tmp_path)
    services.verify_claim(made, actor=f.admin, now=NOW, timezone="UTC")
    f.initiative.call.per_initiative_cap = D("400.00")
    db.session.flush()
    d = db.session.get(Disbursement, made.disbursement_id)
    with pytest.raises(RuleViolation, match="overall cap of EUR 400.00"):
        services.approve_disbursement(d, actor=f.admin2, now=NOW, timezone="UTC")


# --- dates, evidence, who --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("on", "says"), [
    (date(2028, 6, 1), "is after the facilitation fund's window ended on 2028-05-31"),
    (date(2027, 5, 31), "is before the initiative started on 2027-06-01"),
    (date(2027, 9, 2), "is in the future"),
])
def test_a_cost_outside_the_first_year_is_refused_naming_the_items_field(funded: Funded, tmp_path, on,
                                                                         says) -> None:
    f = funded
    now = NOW if on != date(2028, 6, 1) else NOW.replace(year=2028)
    with pytest.raises(RuleViolation) as refused:
        claim(f, cost("100.00"), cost("100.00", row=1, on=on), upload_root=tmp_path, now=now)
    assert refused.value.field == "items-1-incurred_on"
    assert refused.value.message.startswith("Cost 2: ") and says in refused.value.message
    assert db.session.scalar(select(func.count()).select_from(FacilitationClaim)) == 0


def test_the_window_follows_the_rules_months(funded: Funded, tmp_path) -> None:
    f = funded
    set_rule(f, "months = 12", "months = 2")
    assert claim(f, cost(on=date(2027, 7, 31)), upload_root=tmp_path).costs == D("1000.00")
    with pytest.raises(RuleViolation, match="window ended on 2027-07-31"):
        claim(f, cost(on=DAY), upload_root=tmp_path)


def test_evidence_is_required_for_every_cost(funded: Funded, tmp_path) -> None:
    f = funded
    with pytest.raises(RuleViolation) as refused:
        claim(f, cost(), cost(row=1, filename=None), upload_root=tmp_path)
    assert refused.value.field == "items-1-file" and "upload the evidence" in refused.value.message
    with pytest.raises(RuleViolation) as bad:
        claim(f, cost(filename="invoice.pdf", content=b"not a pdf"), upload_root=tmp_path)
    assert bad.value.field == "items-0-file" and bad.value.message.startswith("Cost 1: 'invoice.pdf'")
    assert not list((tmp_path / "facilitation").rglob("*.pdf"))  # nothing kept of a refused claim


def test_a_kind_the_rules_do_not_pay_is_refused(funded: Funded, tmp_path) -> None:
    f = funded
    set_rule(f, 'cost_kinds = ["facilitator", "venue", "catering", "transport", "research"]',
             'cost_kinds = ["facilitator"]')
    with pytest.raises(RuleViolation) as refused:
        claim(f, cost(kind="catering"), upload_root=tmp_path)
    assert refused.value.field == "items-0-kind"


def test_no_cost_no_claim(funded: Funded, tmp_path) -> None:
    f = funded
    with pytest.raises(RuleViolation) as refused:
        claim(f, cost(amount="", description="", on=None, filename=None), upload_root=tmp_path)
    assert refused.value.field == "items-0-description"


def test_only_the_groups_lead_claims(funded: Funded, tmp_path) -> None:
    f = funded
    for someone in (f.admin, f.manager):
        with pytest.raises(AccessDenied):
            claim(f, upload_root=tmp_path, by=someone)
    with pytest.raises(NotFound):
        claim(f, upload_root=tmp_path, by=f.reviewer)


def test_four_eyes_the_submitter_never_verifies_and_the_verifier_never_approves(funded: Funded, tmp_path) -> None:
    f = funded
    f.applicant.roles.append(type(f.admin.roles[0])(role=Role.FUND_ADMINISTRATOR))
    db.session.flush()
    made = claim(f, upload_root=tmp_path)
    with pytest.raises(AccessDenied, match="You submitted this claim"):
        services.verify_claim(made, actor=f.applicant, now=NOW, timezone="UTC")
    with pytest.raises(AccessDenied, match="You submitted this claim"):
        services.refuse_claim(made, reason="No.", actor=f.applicant, now=NOW)
    services.verify_claim(made, actor=f.admin, now=NOW, timezone="UTC")
    d = db.session.get(Disbursement, made.disbursement_id)
    with pytest.raises(AccessDenied):
        services.approve_disbursement(d, actor=f.admin, now=NOW, timezone="UTC")
    services.approve_disbursement(d, actor=f.admin2, now=NOW, timezone="UTC")
    assert d.status == DisbursementStatus.APPROVED


def test_a_facilitation_tranche_is_requested_only_by_verifying_a_claim(funded: Funded, tmp_path) -> None:
    f = funded
    made = paid_claim(f, upload_root=tmp_path)
    grant = db.session.get(Disbursement, made.disbursement_id).grant
    with pytest.raises(RuleViolation, match="by verifying the group's claim"):
        services.request_disbursement(grant, amount="1.00", purpose="More", actor=f.manager, now=NOW,
                                      timezone="UTC")


def test_a_refused_claim_never_counts(funded: Funded, tmp_path) -> None:
    f = funded
    made = claim(f, upload_root=tmp_path)
    with pytest.raises(RuleViolation) as no_reason:
        services.refuse_claim(made, reason=" ", actor=f.admin, now=NOW)
    assert no_reason.value.field == "reason"
    services.refuse_claim(made, reason="The invoice names another group.", actor=f.admin, now=NOW)
    with pytest.raises(RuleViolation, match="only a submitted claim can be verified"):
        services.verify_claim(made, actor=f.admin2, now=NOW, timezone="UTC")
    position = services.facilitation_position(f.initiative, now=NOW, timezone="UTC")
    assert position.claimed == D("0.00") and position.remaining == D("20000.00")


def test_a_call_without_the_section_has_no_fund(funded: Funded, tmp_path) -> None:
    f = funded
    call = f.initiative.call
    start = call.rules_source.index("[funding.facilitation]")
    end = call.rules_source.index("[funding.loans]")
    set_rule(f, call.rules_source[start:end], "")
    assert services.facilitation_position(f.initiative, now=NOW, timezone="UTC") is None
    assert not services.may_claim(f.initiative, f.applicant)
    with pytest.raises(NotFound):
        claim(f, upload_root=tmp_path)


def test_a_second_fund_administrator_enrolled_by_the_lead_cannot_verify(funded: Funded, tmp_path) -> None:
    f = funded
    helper = user("helper@funds.test", Role.FUND_ADMINISTRATOR)
    helper.created_by_id = f.applicant.id
    db.session.flush()
    made = claim(f, upload_root=tmp_path)
    with pytest.raises(AccessDenied):
        services.verify_claim(made, actor=helper, now=NOW, timezone="UTC")


def test_a_tranche_paid_in_the_next_year_meets_that_years_cap(funded: Funded, tmp_path) -> None:
    """Within the declining schedule: verified and approved in year 1 (cap 100 %), paid in year 2 (cap 75 %) where
    the programme year holds no money of the members yet: refused at payment, on the value date."""
    f = funded
    made = claim(f, cost("1000.00"), upload_root=tmp_path)
    services.verify_claim(made, actor=f.admin, now=NOW, timezone="UTC")
    d = db.session.get(Disbursement, made.disbursement_id)
    services.approve_disbursement(d, actor=f.admin2, now=NOW, timezone="UTC")
    later = NOW.replace(year=2028)
    with pytest.raises(RuleViolation) as refused:
        services.record_payment(d, value_date=later.date(), bank_reference="BANK-FAC-Y2", actor=f.admin, now=later,
                                timezone="UTC")
    assert refused.value.message == (
        "The year-2 external-share cap of 75 % allows at most EUR 0.00 for this claim (external money paid or held "
        "EUR 0.00, the members' own money EUR 0.00; this claim's costs are dated in an earlier year): EUR 500.00 "
        "is too much.")
    services.record_payment(d, value_date=date(2028, 5, 31), bank_reference="BANK-FAC-Y1", actor=f.admin,
                            now=later, timezone="UTC")
    assert d.status == DisbursementStatus.PAID
