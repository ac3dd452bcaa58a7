"""Rules files: their schema and loader. Pure: no Flask, no database."""

from programme.rulebook.loader import (
    RulesError,
    RulesProblem,
    call_rules_by_digest,
    load_call_rules,
    load_programme_rules,
    load_rules_file,
    load_scorecard_template,
    parse_call_rules,
    parse_programme_rules,
    parse_scorecard_template,
)
from programme.rulebook.programme import PROGRAMME_FIGURES, ProgrammeRules
from programme.rulebook.schema import (
    ORGANISATION_TYPES,
    SUPPORT_INSTITUTION_TYPES,
    CallRules,
    ScorecardTemplate,
)

__all__ = [
    "ORGANISATION_TYPES",
    "PROGRAMME_FIGURES",
    "ProgrammeRules",
    "SUPPORT_INSTITUTION_TYPES",
    "CallRules",
    "RulesError",
    "RulesProblem",
    "ScorecardTemplate",
    "load_call_rules",
    "load_programme_rules",
    "parse_programme_rules",
    "load_rules_file",
    "load_scorecard_template",
    "call_rules_by_digest",
    "parse_call_rules",
    "parse_scorecard_template",
]
