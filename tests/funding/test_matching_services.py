"""Matching grants through the services: funding requests judged against the rules' criteria, co-financing
recorded with evidence and verified once by another person, and the caps on a matching-grant tranche, each at
its boundary (exactly at the cap accepted, one cent over refused), at request, approval and payment; access for
each role."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from programme.core.access import AccessDenied, NotFound, RuleViolation
from programme.core.notifications import Notification
from programme.extensions import db
from programme.funding import services
from programme.funding.models import (
    ContributionStatus,
    DisbursementStatus,
    FundingRequestStatus,
    GrantKind,
    InitiativeStatus,
)
from programme.ledger.balances import balance
from programme.ledger.checks import check_ledger
from programme.ledger.models import AccountKind, JournalEntry
from programme.ledger.posting import get_account
from tests.funding.conftest import Funded
from tests.funding.matching import (
    DAY1,
    DAY2,
    PDF,
    YEAR1,
    YEAR2,
    all_met,
    contribute,
    matching_grant,
    submit_request,
)
from tests.reviews.world import user

D = Decimal


@pytest.fixture
def root(tmp_path):
    return tmp_path / "uploads"


def entries() -> int:
    return db.session.scalar(select(func.count()).select_from(JournalEntry))


def tranche(f: Funded, grant, amount: str, now=YEAR1, by=None):
    return services.request_disbursement(grant, amount=amount, purpose="Fair stand", actor=by or f.manager, now=now,
                                         timezone="UTC")


def paid(f: Funded, grant, amount: str, *, value_date=DAY1, now=YEAR1, reference=None):
    d = tranche(f, grant, amount, now=now)
    services.approve_disbursement(d, actor=f.admin, now=now, timezone="UTC")
    services.record_payment(d, value_date=value_date, bank_reference=reference or f"B-{d.id}", actor=f.admin2,
                            now=now, timezone="UTC")
    return d


# Funding requests --------------------------------------------------------------------------------------------


def test_the_group_submits_and_the_manager_approves_as_asked(funded: Funded):
    f = funded
    request = submit_request(f, grant="50000.00", loan="20000.00", instrument="both")
    assert request.status == FundingRequestStatus.SUBMITTED and request.submitted_by_id == f.applicant.id
    services.judge_funding_request(request, assessments=all_met(f), approve=True, reason="Sound plan.",
                                   actor=f.manager, now=YEAR1)
    assert request.status == FundingRequestStatus.APPROVED and not request.changed
    assert (request.grant_approved, request.loan_approved) == (D("50000.00"), D("20000.00"))
    grant = request.grant
    assert grant.kind == GrantKind.MATCHING and grant.committed == D("50000.00")
    assert grant.basis == "Joint export fair" and grant.initiative_id == f.initiative.id
    assert {a.criterion_key for a in request.assessments} == {
        c.key for c in f.initiative.call.rules.funding.request_criteria}
    notes = db.session.scalars(select(Notification).where(Notification.user_id == f.applicant.id)).all()
    assert any(n.subject == "Funding request approved: Joint export fair" and "Reason: Sound plan." in n.body
               for n in notes)


def test_a_manager_may_submit_and_approve_with_lower_amounts(funded: Funded):
    f = funded
    request = submit_request(f, grant="50000.00", loan="20000.00", instrument="both", by=f.manager)
    with pytest.raises(RuleViolation) as refused:
        services.judge_funding_request(request, assessments=all_met(f), approve=True, reason="Less.",
                                       grant_approved="50000.01", actor=f.manager, now=YEAR1)
    assert refused.value.field == "grant_approved" and "EUR 50,000.00 asked" in refused.value.message
    services.judge_funding_request(request, assessments=all_met(f), approve=True, reason="Less.",
                                   grant_approved="30000.00", loan_approved="0", actor=f.manager, now=YEAR1)
    assert request.changed and request.grant.committed == D("30000.00") and request.loan_approved == D("0.00")


def test_a_loan_only_approval_makes_no_grant(funded: Funded):
    f = funded
    request = submit_request(f, grant="0", loan="40000.00", instrument="loan")
    services.judge_funding_request(request, assessments=all_met(f), approve=True, reason="A loan fits.",
                                   actor=f.manager, now=YEAR1)
    assert request.grant_id is None and request.loan_approved == D("40000.00")
    assert services.matching_grants_of(f.initiative) == []


def test_a_rejection_needs_a_reason_and_every_criterion(funded: Funded):
    f = funded
    request = submit_request(f)
    criteria = f.initiative.call.rules.funding.request_criteria
    assert len(criteria) == 4
    partial = all_met(f, False)
    del partial[criteria[1].key]
    with pytest.raises(RuleViolation) as refused:
        services.judge_funding_request(request, assessments=partial, approve=False, reason="No.", actor=f.manager,
                                       now=YEAR1)
    assert refused.value.field == f"met_{criteria[1].key}"
    no_note = {**all_met(f, False), criteria[0].key: (False, " ")}
    with pytest.raises(RuleViolation) as refused:
        services.judge_funding_request(request, assessments=no_note, approve=False, reason="No.", actor=f.manager,
                                       now=YEAR1)
    assert refused.value.field == f"note_{criteria[0].key}"
    with pytest.raises(RuleViolation) as refused:
        services.judge_funding_request(request, assessments=all_met(f, False), approve=False, reason="",
                                       actor=f.manager, now=YEAR1)
    assert refused.value.field == "reason"
    services.judge_funding_request(request, assessments=all_met(f, False), approve=False, reason="Not yet.",
                                   actor=f.manager, now=YEAR1)
    assert request.status == FundingRequestStatus.REJECTED and request.grant_id is None
    assert all(not a.met for a in request.assessments)
    with pytest.raises(RuleViolation, match="rejected already"):
        services.judge_funding_request(request, assessments=all_met(f), approve=True, reason="Changed my mind.",
                                       actor=f.manager, now=YEAR1)


@pytest.mark.parametrize(("instrument", "grant", "loan", "field"), [
    ("matching_grant", "0", "0", "grant_asked"),
    ("matching_grant", "100.00", "100.00", "loan_asked"),
    ("loan", "100.00", "100.00", "grant_asked"),
    ("both", "100.00", "0", "loan_asked"),
    ("both", "60000.00", "40000.01", "grant_asked"),   # above the cost of 100,000.00
    ("nothing", "100.00", "0", "instrument"),
    ("matching_grant", "10.001", "0", "grant_asked"),
    ("matching_grant", "-5", "0", "grant_asked"),
])
def test_requests_that_break_the_rules_are_refused_on_their_field(funded: Funded, instrument, grant, loan, field):
    with pytest.raises(RuleViolation) as refused:
        submit_request(funded, grant=grant, loan=loan, instrument=instrument)
    assert refused.value.field == field


def test_the_asked_amounts_may_equal_the_cost(funded: Funded):
    request = submit_request(funded, grant="60000.00", loan="40000.00", instrument="both")
    assert request.grant_asked + request.loan_asked == request.cost


def test_a_terminated_initiative_cannot_submit(funded: Funded):
    funded.initiative.status = InitiativeStatus.TERMINATED
    with pytest.raises(RuleViolation, match="terminated"):
        submit_request(funded)


def test_who_may_submit_and_judge(funded: Funded):
    f = funded
    with pytest.raises(AccessDenied):
        submit_request(f, by=f.admin)
    with pytest.raises(NotFound):
        submit_request(f, by=f.reviewer)
    stranger = user("stranger@group.test")
    with pytest.raises(NotFound):
        submit_request(f, by=stranger)
    request = submit_request(f)
    for who, error in ((f.admin, AccessDenied), (f.applicant, AccessDenied), (f.reviewer, AccessDenied),
                       (stranger, AccessDenied)):
        with pytest.raises(error):
            services.judge_funding_request(request, assessments=all_met(f), approve=True, reason="Yes.", actor=who,
                                           now=YEAR1)
    with pytest.raises(NotFound):
        services.get_funding_request(request.id, actor=stranger)
    with pytest.raises(NotFound):
        services.get_funding_request(request.id, actor=f.reviewer)
    assert services.get_funding_request(request.id, actor=f.admin) is request
    assert services.funding_requests_of(f.initiative, actor=f.applicant) == [request]


def test_commitments_are_capped_per_initiative_at_the_boundary(funded: Funded):
    f = funded  # the start-up grant commits 30,000.00 of the cap of 250,000.00
    over = submit_request(f, grant="220000.01", cost="300000.00")
    with pytest.raises(RuleViolation) as refused:
        services.judge_funding_request(over, assessments=all_met(f), approve=True, reason="Yes.", actor=f.manager,
                                       now=YEAR1)
    assert refused.value.field == "grant_approved"
    assert "above the overall cap of EUR 250,000.00 per initiative: at most EUR 220,000.00 more" in (
        refused.value.message)
    services.judge_funding_request(over, assessments=all_met(f), approve=True, reason="Yes, capped.",
                                   grant_approved="220000.00", actor=f.manager, now=YEAR1)
    assert over.grant.committed == D("220000.00")


# Co-financing ------------------------------------------------------------------------------------------------


def test_a_contribution_counts_once_verified_by_another_person(funded: Funded, root):
    f = funded
    grant = matching_grant(f)
    made = contribute(f, grant, "10000.00", upload_root=root, by=f.admin, verify=False)
    assert made.status == ContributionStatus.RECORDED and made.evidence_name == "receipt.pdf"
    assert (root / "cofinancing" / str(f.initiative.id) / made.evidence_stored_name).read_bytes() == PDF
    assert services.matchable_of(grant, timezone="UTC").matchable == D("0.00")
    with pytest.raises(AccessDenied, match="You recorded this contribution"):
        services.verify_contribution(made, actor=f.admin, now=YEAR1)
    with pytest.raises(AccessDenied):
        services.verify_contribution(made, actor=f.manager, now=YEAR1)
    services.verify_contribution(made, actor=f.admin2, now=YEAR1)
    assert made.status == ContributionStatus.VERIFIED and made.verified_by_id == f.admin2.id
    entry = made.journal_entry_id
    before = entries()
    services.verify_contribution(made, actor=f.admin2, now=YEAR1)  # again: nothing changes
    assert entries() == before and made.journal_entry_id == entry
    received = get_account(AccountKind.COFINANCING_RECEIVED, "initiative", f.initiative.id)
    members = get_account(AccountKind.MEMBER_CONTRIBUTIONS, "initiative", f.initiative.id)
    assert balance(received) == D("10000.00") == balance(members)
    key = db.session.get(JournalEntry, entry).idempotency_key
    assert key == f"cofinancing:{made.id}:verified"
    assert services.matchable_of(grant, timezone="UTC").matchable == D("10000.00")
    assert check_ledger() == []


def test_a_contribution_counts_for_its_own_grant_only(funded: Funded, root):
    f = funded
    first, second = matching_grant(f), matching_grant(f)
    contribute(f, first, "8000.00", upload_root=root)
    assert services.matchable_of(first, timezone="UTC").matchable == D("8000.00")
    assert services.matchable_of(second, timezone="UTC").matchable == D("0.00")


def test_a_rejected_contribution_never_counts(funded: Funded, root):
    f = funded
    grant = matching_grant(f)
    made = contribute(f, grant, "5000.00", upload_root=root, verify=False)
    with pytest.raises(RuleViolation) as refused:
        services.reject_contribution(made, reason=" ", actor=f.admin, now=YEAR1)
    assert refused.value.field == "reason"
    services.reject_contribution(made, reason="The invoice is not signed.", actor=f.admin, now=YEAR1)
    assert made.status == ContributionStatus.REJECTED
    with pytest.raises(RuleViolation, match="only a recorded contribution can be verified"):
        services.verify_contribution(made, actor=f.admin2, now=YEAR1)
    assert services.matchable_of(grant, timezone="UTC").matchable == D("0.00") and entries() == 0


def test_a_verified_contribution_cannot_be_rejected(funded: Funded, root):
    f = funded
    made = contribute(f, matching_grant(f), "5000.00", upload_root=root)
    with pytest.raises(RuleViolation, match="only a recorded contribution can be rejected"):
        services.reject_contribution(made, reason="Too late.", actor=f.admin2, now=YEAR1)


def test_the_in_kind_cap_through_the_services(funded: Funded, root):
    f = funded  # the shipped rules: in kind at most half of what is counted
    grant = matching_grant(f)
    contribute(f, grant, "3000.00", upload_root=root)
    contribute(f, grant, "5000.00", kind="in_kind", upload_root=root)
    got = services.matchable_of(grant, timezone="UTC")
    assert (got.cash, got.in_kind, got.in_kind_counted, got.matchable) == (
        D("3000.00"), D("5000.00"), D("3000.00"), D("6000.00"))


@pytest.mark.parametrize(("changes", "field"), [
    ({"amount": "0"}, "amount"), ({"amount": "12.345"}, "amount"), ({"kind": "shares"}, "kind"),
    ({"on": date(2027, 5, 31)}, "contributed_on"), ({"on": date(2027, 9, 2)}, "contributed_on"),
    ({"filename": "receipt.exe"}, "file"), ({"content": b"not a pdf"}, "file"), ({"content": b""}, "file"),
])
def test_a_bad_contribution_is_refused_on_its_field_and_nothing_is_stored(funded: Funded, root, changes, field):
    f = funded
    grant = matching_grant(f)
    with pytest.raises(RuleViolation) as refused:
        contribute(f, grant, changes.get("amount", "100.00"), kind=changes.get("kind", "cash"),
                   on=changes.get("on", DAY1), filename=changes.get("filename", "receipt.pdf"),
                   content=changes.get("content", PDF), upload_root=root, verify=False)
    assert refused.value.field == field
    folder = root / "cofinancing" / str(f.initiative.id)
    assert not folder.exists() or list(folder.iterdir()) == []


def test_the_contributor_is_a_member_of_the_group(funded: Funded, root):
    f = funded
    grant = matching_grant(f)
    member = f.initiative.group.organisations[0]
    made = services.record_contribution(
        grant, kind="cash", amount="100.00", contributed_on=DAY1, description="Cash", contributor_id=member.id,
        stream=io.BytesIO(PDF), filename="a.pdf", upload_root=root, max_bytes=10000, actor=f.applicant, now=YEAR1,
                                        timezone="UTC")
    assert made.contributor_id == member.id
    with pytest.raises(RuleViolation) as refused:
        services.record_contribution(
            grant, kind="cash", amount="100.00", contributed_on=DAY1, description="Cash", contributor_id=10 ** 6,
            stream=io.BytesIO(PDF), filename="a.pdf", upload_root=root, max_bytes=10000, actor=f.applicant,
            now=YEAR1, timezone="UTC")
    assert refused.value.field == "contributor_id"


def test_who_may_record_and_see_contributions(funded: Funded, root):
    f = funded
    grant = matching_grant(f)
    stranger = user("stranger@group.test")
    with pytest.raises(AccessDenied):
        contribute(f, grant, "100.00", upload_root=root, by=f.manager, verify=False)
    for who in (stranger, f.reviewer):
        with pytest.raises(NotFound):
            contribute(f, grant, "100.00", upload_root=root, by=who, verify=False)
    made = contribute(f, grant, "100.00", upload_root=root, by=f.admin, verify=False)
    for who in (stranger, f.reviewer):
        with pytest.raises(NotFound):
            services.get_contribution(made.id, actor=who)
    assert services.get_contribution(made.id, actor=f.applicant) is made
    assert services.contributions_of(f.initiative, actor=f.manager) == [made]
    with pytest.raises(AccessDenied):
        services.verify_contribution(made, actor=f.applicant, now=YEAR1)


def test_a_terminated_initiative_records_no_contribution(funded: Funded, root):
    f = funded
    grant = matching_grant(f)
    f.initiative.status = InitiativeStatus.TERMINATED
    with pytest.raises(RuleViolation, match="terminated"):
        contribute(f, grant, "100.00", upload_root=root, verify=False)


# The caps on a tranche, each at its boundary ---------------------------------------------------------------


def test_the_ratio_cap_at_its_boundary(funded: Funded, root):
    f = funded
    grant = matching_grant(f)
    with pytest.raises(RuleViolation) as refused:
        tranche(f, grant, "0.01")
    assert refused.value.field == "amount"
    assert refused.value.message.startswith("The matching ratio allows at most EUR 0.00 more on this grant")
    contribute(f, grant, "10000.00", upload_root=root)
    first = tranche(f, grant, "4000.00")
    with pytest.raises(RuleViolation, match="at most EUR 6,000.00 more on this grant"):
        tranche(f, grant, "6000.01")
    tranche(f, grant, "6000.00")
    services.reject_disbursement(first, reason="Split differently.", actor=f.admin, now=YEAR1)
    tranche(f, grant, "4000.00")


def test_the_year_ratio_applies_to_each_contributions_year(funded: Funded, root):
    f = funded  # ratios 1, 1, 0.75, 0.5: a contribution in year 3 is matched at 0.75
    grant = matching_grant(f)
    contribute(f, grant, "1000.00", upload_root=root, on=date(2029, 7, 1), now=YEAR2.replace(year=2029))
    assert services.matchable_of(grant, timezone="UTC").matchable == D("750.00")


def test_the_year_cap_at_its_boundary(funded: Funded, root):
    f = funded
    grant = matching_grant(f, "100000.00")
    contribute(f, grant, "30000.00", upload_root=root, on=DAY1)           # year 1
    contribute(f, grant, "3000.00", upload_root=root, on=DAY2, now=YEAR2)  # year 2
    # year 1 is at 100 %: no year limit; the ratio allows 33,000.00
    paid(f, grant, "15000.00", value_date=DAY1, now=YEAR1)
    # year 2 at 75 %: P = 0, C = 3,000: at most 0.75 x 3,000 / 0.25 = 9,000
    limits = services.tranche_limits(grant, day=YEAR2.date(), at_payment=False, timezone="UTC")
    assert (limits.year, limits.year_cap, limits.year_programme, limits.year_cofinancing) == (
        2, D("0.75"), D("0.00"), D("3000.00"))
    with pytest.raises(RuleViolation) as refused:
        tranche(f, grant, "9000.01", now=YEAR2)
    assert refused.value.message == (
        "The year-2 external-share cap of 75 % allows at most EUR 9,000.00 more this year (paid or held "
        "EUR 0.00, co-financing EUR 3,000.00): EUR 9,000.01 is too much.")
    held = tranche(f, grant, "5000.00", now=YEAR2)
    with pytest.raises(RuleViolation, match="allows at most EUR 4,000.00 more this year"):
        tranche(f, grant, "4000.01", now=YEAR2)
    last = tranche(f, grant, "4000.00", now=YEAR2)
    assert {held.status, last.status} == {DisbursementStatus.REQUESTED}


def test_the_year_cap_is_checked_again_at_payment_with_the_value_dates_year(funded: Funded, root):
    f = funded
    grant = matching_grant(f, "100000.00")
    contribute(f, grant, "20000.00", upload_root=root, on=DAY1)
    contribute(f, grant, "3000.00", upload_root=root, on=DAY2, now=YEAR2)
    # two tranches approved in year 1 (100 %), paid in year 2 (75 %: at most 9,000.00)
    first, second = tranche(f, grant, "6000.00"), tranche(f, grant, "3000.01")
    for d in (first, second):
        services.approve_disbursement(d, actor=f.admin, now=YEAR1, timezone="UTC")
    services.record_payment(first, value_date=DAY2, bank_reference="B-1", actor=f.admin2, now=YEAR2, timezone="UTC")
    before = entries()
    with pytest.raises(RuleViolation) as refused:
        services.record_payment(second, value_date=DAY2, bank_reference="B-2", actor=f.admin2, now=YEAR2,
                                timezone="UTC")
    assert "The year-2 external-share cap of 75 % allows at most EUR 3,000.00 more this year (paid or held " \
           "EUR 6,000.00, co-financing EUR 3,000.00)" in refused.value.message
    assert entries() == before and second.status == DisbursementStatus.APPROVED
    # paid with a value date in year 1 (at 100 %) it fits
    services.record_payment(second, value_date=DAY1, bank_reference="B-2", actor=f.admin2, now=YEAR2, timezone="UTC")
    assert second.status == DisbursementStatus.PAID
    assert check_ledger() == []


def test_the_year_cap_is_checked_again_at_approval(funded: Funded, root):
    f = funded
    grant = matching_grant(f, "100000.00", now=YEAR2)
    contribute(f, grant, "20000.00", upload_root=root, on=DAY1, now=YEAR2)
    contribute(f, grant, "3000.00", upload_root=root, on=DAY2, now=YEAR2)
    d = tranche(f, grant, "9000.00", now=YEAR2)
    services.reject_disbursement(d, reason="Again", actor=f.admin, now=YEAR2)
    d = tranche(f, grant, "9000.00", now=YEAR2)
    # the year turns: in year 3 (50 %) with no co-financing dated in it, nothing is allowed
    with pytest.raises(RuleViolation, match="The year-3 external-share cap of 50 % allows at most EUR 0.00"):
        services.approve_disbursement(d, actor=f.admin, now=YEAR2.replace(year=2029), timezone="UTC")
    services.approve_disbursement(d, actor=f.admin, now=YEAR2, timezone="UTC")
    assert d.status == DisbursementStatus.APPROVED


def test_a_value_date_before_the_start_is_refused(funded: Funded, root):
    f = funded
    grant = matching_grant(f)
    contribute(f, grant, "1000.00", upload_root=root)
    d = tranche(f, grant, "1000.00")
    services.approve_disbursement(d, actor=f.admin, now=YEAR1, timezone="UTC")
    with pytest.raises(RuleViolation) as refused:
        services.record_payment(d, value_date=date(2027, 5, 31), bank_reference="B-9", actor=f.admin2, now=YEAR1,
                                timezone="UTC")
    assert refused.value.field == "value_date" and "before" in refused.value.message


def test_the_overall_cap_at_its_boundary(funded: Funded, root):
    f = funded  # cap 250,000.00; the start-up grant's 30,000.00 is held in full
    grant = matching_grant(f, "220000.00")
    contribute(f, grant, "230000.00", upload_root=root)
    startup = services.request_disbursement(f.grant, amount="30000.00", purpose="All of it", actor=f.manager,
                                            now=YEAR1, timezone="UTC")
    assert startup.amount == D("30000.00")
    tranche(f, grant, "200000.00")
    # the commitment leaves 20,000.00, the overall cap 20,000.00: one cent over is refused by the overall cap
    # once the commitment is raised
    grant.committed = D("230000.00")  # a bigger commitment than the cap allows, to reach the overall cap first
    with pytest.raises(RuleViolation) as refused:
        tranche(f, grant, "20000.01")
    assert refused.value.message.startswith(
        "The overall cap of EUR 250,000.00 per initiative allows at most EUR 20,000.00 more "
        "(EUR 230,000.00 is requested, approved or paid on the initiative's grants or put into its revolving "
        "fund)")
    tranche(f, grant, "20000.00")


def test_the_commitment_at_its_boundary(funded: Funded, root):
    f = funded
    grant = matching_grant(f, "5000.00")
    contribute(f, grant, "9000.00", upload_root=root)
    with pytest.raises(RuleViolation, match="EUR 5,000.00 is left of the matching grant of EUR 5,000.00"):
        tranche(f, grant, "5000.01")
    tranche(f, grant, "5000.00")


def test_the_position_and_the_chart(funded: Funded, root):
    f = funded
    grant = matching_grant(f, "100000.00")
    contribute(f, grant, "20000.00", upload_root=root, on=DAY1)
    contribute(f, grant, "3000.00", upload_root=root, on=DAY2, now=YEAR2)
    paid(f, grant, "15000.00", value_date=DAY1, now=YEAR1)
    paid(f, grant, "1000.00", value_date=DAY2, now=YEAR2)
    (position,) = services.matching_positions(f.initiative, now=YEAR2, timezone="UTC")
    assert position.matchable.matchable == D("23000.00") and position.position.paid == D("16000.00")
    assert position.limits.ratio_room == D("7000.00") and position.limits.year_room == D("8000.00")
    assert position.limits.most == D("7000.00") and position.request.grant_id == grant.id
    chart = services.share_chart(f.initiative, now=YEAR2, timezone="UTC")
    assert [(r.year, r.cap, r.share) for r in chart] == [
        (1, D("1.00"), D("0.4286")), (2, D("0.75"), D("0.2500")), (3, D("0.50"), None), (4, D("0.25"), None)]
