"""Scores, the scoring rules as plain values and exact numbers (pure: no Flask, no database).

Definitions (DESIGN section 3, issue 4):

- A **score** is a number on the call's scale: from ``scale_min`` to ``scale_max`` in whole ``step`` s
  (0 to 5 in half points by default). :meth:`ScoreScale.check` refuses anything else with a message
  fit for a form.
- **Exact arithmetic.** Raw scores, weights, thresholds, consensus scores and money are ``Decimal``; no
  float ever enters, and Decimal sums and products run in a context that traps any rounding. A mean of
  three scores (``11/3``) has no exact decimal form, so the mean, the counted score, the total and the
  calibration offsets are exact ``fractions.Fraction`` s (the sum, minimum, maximum and spread of
  submitted scores stay Decimal). Every decision (thresholds, disagreement flag, ranking order, ties)
  is taken on exact values: two totals that are mathematically equal are a tie and go to the
  tie-break, which rounding the means would break (``3.6667 + 3`` against ``3.3333 + 3.3333``).
  :func:`display` rounds for pages and exports only: ``DISPLAY_PLACES`` (2) decimal places, half away
  from zero, as a ``Decimal``.
- **Aggregation** of one proposal (means, spreads, consensus, total, fundable) is in
  :mod:`programme.reviews.aggregation`; **ranking** and the **funding line** in :mod:`programme.reviews.ranking`.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from decimal import Context, Decimal, DivisionByZero, Inexact, InvalidOperation, Overflow
from fractions import Fraction
from functools import cached_property
from typing import Any, Literal

from programme.core.money import MoneyError, symbols_in_use, to_decimal
from programme.core.texts import gettext as _
from programme.rulebook.schema import ScoringSection

#: Decimal places of a derived score on pages and in exports (display only: decisions use the exact value).
DISPLAY_PLACES = 2

ReviewerId = Hashable
ProposalId = int | str
#: A score as accepted by the calculations: a Decimal from a form or the database, or an exact Fraction.
Number = Decimal | Fraction | int
FundingLine = Literal["stop", "skip"]
FUNDING_LINES: tuple[str, ...] = ("stop", "skip")

ZERO = Fraction(0)
#: Decimal arithmetic on scores and money is exact: sums and products of short decimals never need
#: rounding at this precision, and the Inexact trap would say so if they did.
EXACT_CONTEXT = Context(prec=200, traps=[Inexact, InvalidOperation, DivisionByZero, Overflow])


class ScoreError(ValueError):
    """A score, review or consensus that the rules do not accept."""


def exact(value: Any) -> Fraction:
    """The exact rational value of a Decimal, Fraction or int; floats and booleans are refused."""
    if isinstance(value, bool | float):
        raise ScoreError(f"scores are exact numbers, never floats or booleans (got {value!r})")
    if isinstance(value, Fraction):
        return value
    if isinstance(value, int):
        return Fraction(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ScoreError(f"{value} is not a finite number")
        return Fraction(value)
    raise ScoreError(f"cannot use {type(value).__name__} as a score")


def ratio(value: Decimal | Fraction, count: int) -> Fraction:
    """``value / count`` as an exact fraction."""
    numerator, denominator = value.as_integer_ratio()
    return Fraction(numerator, denominator * count)


def display(value: Number | None, places: int = DISPLAY_PLACES) -> Decimal | None:
    """A score rounded half up to ``places`` decimals, for display only (``None`` stays ``None``)."""
    if value is None:
        return None
    number = exact(value)
    scaled = abs(number) * 10**places
    whole = scaled.numerator // scaled.denominator
    if scaled - whole >= Fraction(1, 2):
        whole += 1
    return Decimal(-whole if number < 0 else whole).scaleb(-places)


def plain_number(value: Decimal) -> str:
    """A Decimal without trailing zeros or exponent: 5.0 -> '5', 0.50 -> '0.5'."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


# ---------------------------------------------------------------------------------------------
# Scores


@dataclass(frozen=True)
class ScoreScale:
    """The call's scale: ``minimum`` to ``maximum`` in whole steps of ``step``."""

    minimum: Decimal = Decimal(0)
    maximum: Decimal = Decimal(5)
    step: Decimal = Decimal("0.5")

    def __post_init__(self) -> None:
        for name in ("minimum", "maximum", "step"):
            object.__setattr__(self, name, _decimal(getattr(self, name), name))
        if self.step <= 0:
            raise ScoreError("step: greater than 0")
        if self.maximum <= self.minimum:
            raise ScoreError("maximum: greater than minimum")
        if (self.maximum - self.minimum) % self.step:
            raise ScoreError("step: must divide the scale (maximum - minimum) evenly")

    @classmethod
    def from_rules(cls, scoring: ScoringSection) -> ScoreScale:
        return cls(scoring.scale_min, scoring.scale_max, scoring.step)

    @cached_property
    def allowed(self) -> frozenset[Decimal]:
        return frozenset(self.points)

    @property
    def points(self) -> tuple[Decimal, ...]:
        """Every score the scale allows, lowest first (for a form's choices)."""
        count = int((self.maximum - self.minimum) / self.step)
        return tuple(self.minimum + self.step * i for i in range(count + 1))

    def describe(self) -> str:
        mark = symbols_in_use()[0]  # 0.5 in English, 0,5 in Spanish and Portuguese
        low, high, step = (plain_number(v).replace(".", mark) for v in (self.minimum, self.maximum, self.step))
        return _("from %(low)s to %(high)s in steps of %(step)s", low=low, high=high, step=step)

    def check(self, value: Any) -> Decimal:
        """The score as a Decimal if it lies on the scale, else ScoreError with a message for the form.

        Accepts a Decimal, an int or a string such as ``"3.5"``; refuses floats, booleans and text.
        """
        if isinstance(value, bool | float):
            raise ScoreError(_("a score %(scale)s, as an exact number (got %(value)s)", scale=self.describe(),
                               value=repr(value)))
        if isinstance(value, str):
            text = value.strip()
            try:
                number = Decimal(text)
            except InvalidOperation:
                raise ScoreError(_("a number %(scale)s (got %(value)s)", scale=self.describe(),
                                   value=repr(value))) from None
        elif isinstance(value, Decimal | int):
            number = Decimal(value)
        else:
            raise ScoreError(_("a number %(scale)s (got %(value)s)", scale=self.describe(), value=repr(value)))
        if not number.is_finite():
            raise ScoreError(_("a number %(scale)s (got %(value)s)", scale=self.describe(), value=repr(value)))
        if not self.minimum <= number <= self.maximum:
            raise ScoreError(_("a score %(scale)s (got %(value)s, outside the scale)", scale=self.describe(),
                               value=plain_number(number)))
        if (number - self.minimum) % self.step:
            raise ScoreError(_("a score %(scale)s (got %(value)s, not a whole step)", scale=self.describe(),
                               value=plain_number(number)))
        return number


def validate_score(value: Any, scale: ScoreScale) -> Decimal:
    """Shorthand for ``scale.check(value)``."""
    return scale.check(value)


def justification_note(minimum: int, count: int) -> str:
    """What a review lacks when a justification is too short (one of the problems ``check_review`` gives)."""
    return _("a justification of at least %(minimum)s characters is needed (got %(count)s)", minimum=minimum,
             count=count)


def is_justification_note(text: str) -> bool:
    """Whether one of ``check_review``'s problems is about the justification (else it is about the score), in the
    language being answered in."""
    pattern = re.escape(justification_note(0, 0)).replace("0", r"\d+")
    return text.startswith("a justification") or re.fullmatch(pattern, text) is not None


def check_review(
    scores: Mapping[str, Any], justifications: Mapping[str, str], scoring: Scoring, *, min_length: int = 0
) -> dict[str, str]:
    """What stops a review from being submitted, per criterion key (empty: it can be submitted).

    Every criterion needs a score on the scale and a justification of at least ``min_length``
    characters (surrounding blanks not counted). A draft may be saved with problems; only a complete
    review is submitted.
    """
    problems: dict[str, str] = {}
    for key in scoring.keys:
        value = scores.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            problems[key] = _("a score %(scale)s is needed", scale=scoring.scale.describe())
        else:
            try:
                scoring.scale.check(value)
            except ScoreError as error:
                problems[key] = str(error)
        text = (justifications.get(key) or "").strip()
        if len(text) < min_length:
            note = justification_note(min_length, len(text))
            problems[key] = f"{problems[key]}; {note}" if key in problems else note
    return problems


def _decimal(value: Any, name: str) -> Decimal:
    if isinstance(value, bool | float):
        raise ScoreError(f"{name}: an exact number, never a float or a boolean (got {value!r})")
    try:
        return to_decimal(value)
    except MoneyError as error:
        raise ScoreError(f"{name}: {error}") from None


# ---------------------------------------------------------------------------------------------
# The scoring rules as plain values


@dataclass(frozen=True)
class CriterionSpec:
    """A criterion as the calculations need it: its key, weight and threshold; its title names it for people."""

    key: str
    weight: Decimal
    threshold: Decimal = Decimal(0)
    title: str = ""

    @property
    def name(self) -> str:
        """What people read: the criterion's title (its key only when it has none)."""
        return self.title or self.key

    def __post_init__(self) -> None:
        object.__setattr__(self, "weight", _decimal(self.weight, f"{self.key}.weight"))
        object.__setattr__(self, "threshold", _decimal(self.threshold, f"{self.key}.threshold"))
        if self.weight <= 0:
            raise ScoreError(f"{self.key}: the weight must be greater than 0")
        if self.threshold < 0:
            raise ScoreError(f"{self.key}: the threshold must not be negative")


@dataclass(frozen=True)
class Scoring:
    """The scoring part of a call's rules (``ScoringSection``) as plain values."""

    criteria: tuple[CriterionSpec, ...]
    overall_threshold: Decimal = Decimal(0)
    disagreement_limit: Decimal = Decimal("1.5")
    scale: ScoreScale = field(default_factory=ScoreScale)
    tie_break: tuple[str, ...] = ()
    funding_line: FundingLine = "stop"
    reviewers_per_proposal: int = 3

    def __post_init__(self) -> None:
        object.__setattr__(self, "criteria", tuple(self.criteria))
        object.__setattr__(self, "tie_break", tuple(self.tie_break))
        object.__setattr__(self, "overall_threshold", _decimal(self.overall_threshold, "overall_threshold"))
        object.__setattr__(self, "disagreement_limit", _decimal(self.disagreement_limit, "disagreement_limit"))
        keys = [c.key for c in self.criteria]
        if not keys:
            raise ScoreError("criteria: at least one")
        if len(set(keys)) != len(keys):
            raise ScoreError(f"criteria: each key once (got {keys})")
        unknown = [k for k in self.tie_break if k not in keys]
        if unknown:
            raise ScoreError(f"tie_break: criterion keys among {keys} (unknown: {unknown})")
        if self.funding_line not in FUNDING_LINES:
            raise ScoreError(f"funding_line: one of {FUNDING_LINES} (got {self.funding_line!r})")

    @classmethod
    def from_rules(cls, scoring: ScoringSection) -> Scoring:
        return cls(
            criteria=tuple(CriterionSpec(c.key, c.weight, c.threshold, c.title) for c in scoring.criteria),
            overall_threshold=scoring.overall_threshold,
            disagreement_limit=scoring.disagreement_limit,
            scale=ScoreScale.from_rules(scoring),
            tie_break=tuple(scoring.tie_break),
            funding_line=scoring.funding_line,
            reviewers_per_proposal=scoring.reviewers_per_proposal,
        )

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.criteria)

    def name_of(self, key: str) -> str:
        """The criterion's name for people (its title), from its key; an unknown key stays as it is."""
        return next((c.name for c in self.criteria if c.key == key), key)

    @property
    def total_weight(self) -> Decimal:
        return sum((c.weight for c in self.criteria), Decimal(0))


def id_key(value: Any) -> tuple[int, Any]:
    """Sort key for ids of mixed kinds: integers first by value, then everything else by its text."""
    if isinstance(value, int) and not isinstance(value, bool):
        return (0, value)
    return (1, str(value))
