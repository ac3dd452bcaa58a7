"""A call's rules in the language of whoever reads them (issue 19).

A rules file is written in English and may give its published texts in the programme's other languages, beside each
text:

    [[scoring.criteria]]
    key = "cooperation"
    title = "Quality of co-operation among the members"
    guidance = "..."
    [scoring.criteria.translations.es]
    title = "Calidad de la cooperación entre los miembros"
    guidance = "..."

for the scoring criteria (title, guidance), the funding-request criteria (title) and the stages (title, description).
A scorecard template does the same for its name and description, its perspectives' and critical success factors'
titles and its KPIs' names, units and sources (``localized_template``).
``localized`` gives the rules with those texts in one language, each text left out read in English; everything else
(keys, weights, thresholds, money, dates) is the same object's. Nothing here reads a request: the caller says which
language (``calls.models.Call.rules`` says the one being answered in).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeVar, get_args

from pydantic import BaseModel

from programme.rulebook.base import TextLanguage

if TYPE_CHECKING:  # the schema imports the base this module reads
    from programme.rulebook.schema import CallRules, ScorecardTemplate

#: The languages a rules file may carry texts in besides English.
TEXT_LANGUAGES: tuple[str, ...] = get_args(TextLanguage)

#: A rules item with ``translations`` (a perspective, a factor, the scorecard section).
T = TypeVar("T", bound=BaseModel)

_kept: dict[tuple[int, str], tuple[CallRules, CallRules]] = {}
_kept_lock = threading.Lock()


def _in(items: Sequence[Any] | None, language: str, texts: tuple[str, ...]) -> list[Any] | None:
    """Each item (a criterion, a stage) with its texts in ``language`` where its translations give them."""
    if items is None:
        return None
    changed = []
    for item in items:
        given = item.translations.get(language)
        update = {name: getattr(given, name) for name in texts if given is not None and getattr(given, name)}
        if getattr(item, "criteria", None) is not None:  # a stage's own criteria
            update["criteria"] = _in(item.criteria, language, ("title", "guidance"))
        changed.append(item.model_copy(update=update) if update else item)
    return changed


def has_texts_in(rules: CallRules, language: str) -> bool:
    """Whether the rules give any of their texts in ``language``."""
    groups = [rules.scoring.criteria, rules.funding.request_criteria, rules.stages or []]
    groups += [stage.criteria for stage in rules.stages or [] if stage.criteria]
    return any(language in item.translations for group in groups for item in group)


def localized(rules: CallRules, language: str) -> CallRules:
    """The rules with their criteria's and stages' texts in ``language`` (English where a text is not given, and the
    same rules for English or a file without that language). Kept per rules object and language (the rules are
    frozen; callers keep them by digest)."""
    if language not in TEXT_LANGUAGES or not has_texts_in(rules, language):
        return rules
    key = (id(rules), language)
    found = _kept.get(key)
    if found is not None and found[0] is rules:  # the entry holds the rules: their id is not reused meanwhile
        return found[1]
    scoring = rules.scoring.model_copy(update={"criteria": _in(rules.scoring.criteria, language,
                                                               ("title", "guidance"))})
    funding = rules.funding.model_copy(update={"request_criteria": _in(rules.funding.request_criteria, language,
                                                                       ("title",))})
    changed = rules.model_copy(update={"scoring": scoring, "funding": funding,
                                       "stages": _in(rules.stages, language, ("title", "description"))})
    with _kept_lock:
        if len(_kept) >= 256:
            _kept.clear()
        _kept[key] = (rules, changed)
    return changed


def template_has_texts_in(template: ScorecardTemplate, language: str) -> bool:
    """Whether a scorecard template gives any of its texts in ``language``."""
    items: list[Any] = [template.scorecard]
    for perspective in template.perspectives:
        items.append(perspective)
        for factor in perspective.factors:
            items += [factor, *factor.kpis]
    return any(language in item.translations for item in items)


def localized_template(template: ScorecardTemplate, language: str) -> ScorecardTemplate:
    """The scorecard template with its texts in ``language``: the scorecard's name and description, the
    perspectives' and factors' titles, the KPIs' names, units and sources (English where a text is not given; the
    same template for English or a template without that language). Keys, directions and numbers are the same."""
    if language not in TEXT_LANGUAGES or not template_has_texts_in(template, language):
        return template
    perspectives = []
    for perspective in template.perspectives:
        factors = [_one(factor, language, ("title",)).model_copy(
                       update={"kpis": _in(factor.kpis, language, ("name", "unit", "source"))})
                   for factor in perspective.factors]
        perspectives.append(_one(perspective, language, ("title",)).model_copy(update={"factors": factors}))
    return template.model_copy(update={"scorecard": _one(template.scorecard, language, ("name", "description")),
                                       "perspectives": perspectives})


def _one(item: T, language: str, texts: tuple[str, ...]) -> T:
    """One item with its texts in ``language`` where its translations give them."""
    given = item.translations.get(language)  # type: ignore[attr-defined]
    update = {name: getattr(given, name) for name in texts if given is not None and getattr(given, name)}
    return item.model_copy(update=update) if update else item
