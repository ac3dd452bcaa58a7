"""core.access.require_second_person: four eyes means two real people (issue 14, finding 1)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from programme.core.access import AccessDenied, SystemActor, require_second_person


@dataclass
class _Person:
    id: int | None
    created_by_id: int | None = None


def test_another_person_may_approve() -> None:
    require_second_person(_Person(1), _Person(2), "the write-off")
    require_second_person(None, _Person(2), "the write-off")  # the system asked: any named person approves


@pytest.mark.parametrize(("requester", "approver", "says"), [
    (_Person(1), _Person(1), "You asked for the write-off"),
    (_Person(1), _Person(2, created_by_id=1), "Your account was created by the person who asked"),
    (_Person(2, created_by_id=1), _Person(1), "You created the account of the person who asked"),
    (_Person(1), SystemActor("cli"), "needs the approval of a named person"),
])
def test_one_person_cannot_act_as_two(requester, approver, says: str) -> None:
    with pytest.raises(AccessDenied, match=says):
        require_second_person(requester, approver, "the write-off")
