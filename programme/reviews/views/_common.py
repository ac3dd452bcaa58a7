"""What the review pages share: loading a manager's call or review with its access check, paging of the
long lists, the programme's time zone (``core.web``'s), and the frame of a manager's page.
Private to ``programme.reviews.views``."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from flask import render_template

from programme.calls import services as calls
from programme.calls.models import Call
from programme.core.access import Role, require_role
from programme.core.forms import ActionForm
from programme.core.texts import lazy_gettext as _l
from programme.core.web import actor, now
from programme.core.web import page_arg as page_arg  # the page asked for, from core.web
from programme.core.web import programme_zone as programme_zone  # the views' zone, from core.web
from programme.reviews import services
from programme.reviews.domain import display
from programme.reviews.models import Review

#: Rows per page of the review's long lists (assignments, scores, calibration, ranking).
REVIEW_PAGE_SIZE = 100
#: How a proposal is ranked, in words (``ranked_words`` gives them in the language being answered in).
RANKED_AS = {"funded": _l("ranked above the funding line"), "reserve": _l("ranked on the reserve list"),
             "not_fundable": _l("not fundable"), "not_scored": _l("not scored")}


def ranked_words() -> dict[str, str]:
    """How a proposal is ranked, in words, in the language being answered in."""
    return {key: str(words) for key, words in RANKED_AS.items()}


def managed_call(call_id: int) -> Call:
    """The call of a manager's review page: 403 for anyone but a programme manager, 404 for an unknown id."""
    return calls.get_call_for_management(call_id, actor=actor())


def read_call(call_id: int) -> Call:
    """The call of a page that reads its ranking and decisions: programme managers and auditors (who change
    nothing); 403 for anyone else, 404 for an unknown id."""
    return calls.get_call_for_oversight(call_id, actor=actor())


def manages() -> bool:
    """Whether the actor manages the review (else it only reads: no form, no link to a manager's page)."""
    return actor().has_role(Role.PROGRAMME_MANAGER)


def managed_review(review_id: int) -> Review:
    """A review, for the manager's actions on it: 403 for anyone but a programme manager, 404 for an unknown id."""
    require_role(actor(), Role.PROGRAMME_MANAGER)
    return services.get_review(review_id, actor=actor())


def page_size() -> int:
    return REVIEW_PAGE_SIZE


def page_count(count: int) -> int:
    return max(1, math.ceil(count / REVIEW_PAGE_SIZE))


def on_page(items: Sequence[Any], page: int) -> Sequence[Any]:
    return items[(page - 1) * REVIEW_PAGE_SIZE:page * REVIEW_PAGE_SIZE]


def manage_page(template: str, call: Call, **context: Any) -> str:
    """A page of the call's review: what every one of them needs besides its own content."""
    return render_template(f"reviews/manage/{template}", call=call, scoring=services.scoring_of(call),
                           action_form=ActionForm(), now=now(), display=display, manages=manages(), **context)
