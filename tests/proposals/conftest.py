"""Fixtures for proposal tests: an open call, a lead applicant with an eligible group, a complete draft."""

from __future__ import annotations

import pytest

from programme.core.access import Role
from programme.extensions import db
from tests.proposals.builders import complete_proposal, make_call, make_group


@pytest.fixture
def call(app):
    call = make_call()
    db.session.commit()
    return call


@pytest.fixture
def lead(make_user):
    return make_user("lead@vaal.example", Role.APPLICANT)


@pytest.fixture
def group(lead):
    group = make_group(lead)
    db.session.commit()
    return group


@pytest.fixture
def proposal(call, group, lead):
    proposal = complete_proposal(call, group, lead)
    db.session.commit()
    return proposal
