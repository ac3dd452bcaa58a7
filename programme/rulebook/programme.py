"""The programme's own rules (seed 000: a programme is evaluated by the standards it sets itself): a rules file of
its own kind, ``rules/programme.toml``, with a ``[programme]`` table and the programme-level ``[[targets]]``.

Each target names one of the figures the dashboard already works out (``PROGRAMME_FIGURES``: the dashboard maps
each key to its figure, ``programme.dashboard.targets``), a direction (``at_least`` or ``at_most``), a value, and
optionally a value per calendar year (``by_year``: the target for the figure in that year; other years take
``value``), with a note citing the paper it comes from. Pure: no Flask, no database.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from pydantic import Field, field_validator, model_validator

from programme.rulebook.base import Strict, TargetTexts, TextLanguage

FigureKind = Literal["share", "ratio", "count"]


@dataclass(frozen=True)
class FigureSpec:
    """A figure a target may name: its title, what kind of number it is (a share between 0 and 1, a ratio of
    0 or more, a whole count) and whether the dashboard gives it per currency."""

    key: str
    title: str
    kind: FigureKind
    per_currency: bool


#: The figures a programme target may name, in the order the dashboard shows them.
PROGRAMME_FIGURES: dict[str, FigureSpec] = {spec.key: spec for spec in (
    FigureSpec("co_financing_leveraged", "Co-financing leveraged per unit of programme money paid", "ratio", True),
    FigureSpec("self_funding_share", "Initiatives still running after their external-share schedule ended",
               "share", False),
    FigureSpec("par30", "Portfolio at risk over 30 days (PAR30)", "share", True),
    FigureSpec("reports_on_time", "Self-evaluation reports in on time", "share", False),
    FigureSpec("recovery_rate", "Recovery rate of the revolving funds' loans", "share", True),
    FigureSpec("write_off_recovery", "Money recovered on written-off loans", "share", True),
    FigureSpec("initiatives_over_cap", "Running initiatives over their external-share cap this year", "count",
               False),
)}

FIRST_YEAR, LAST_YEAR = 2000, 2100


def _check_value(figure: str, value: Decimal, where: str) -> None:
    """Raise ``ValueError("<where>: expectation")`` when ``value`` is not a possible value of ``figure``."""
    spec = PROGRAMME_FIGURES.get(figure)
    if spec is None:
        return  # the figure itself is reported
    if not value.is_finite() or value < 0:
        raise ValueError(f"{where}: a number of 0 or more for figure {figure!r} (got {value})")
    if spec.kind == "share" and value > 1:
        raise ValueError(f"{where}: a share between 0 and 1 for figure {figure!r} (got {value})")
    if spec.kind == "count" and value != value.to_integral_value():
        raise ValueError(f"{where}: a whole number for figure {figure!r} (got {value})")


class ProgrammeSection(Strict):
    name: str = Field(min_length=3, max_length=200)
    description: str = ""
    #: The step of each target's trend on the dashboard: the figure at each quarter's or each year's end.
    trend: Literal["quarter", "year"] = "quarter"


class Target(Strict):
    figure: str
    title: str | None = Field(default=None, min_length=3, max_length=200)
    direction: Literal["at_least", "at_most"]
    value: Decimal
    by_year: dict[str, Decimal] = Field(default_factory=dict)
    note: str = ""
    #: The title and note in the other languages the programme speaks (a text left out is read in English).
    translations: dict[TextLanguage, TargetTexts] = Field(default_factory=dict)

    def title_in(self, language: str) -> str | None:
        """The title the rules give the target, in ``language`` where they give it so (None: no title given)."""
        given = self.translations.get(language)  # type: ignore[call-overload]
        return (given.title if given is not None and given.title else None) or self.title

    def note_in(self, language: str) -> str:
        given = self.translations.get(language)  # type: ignore[call-overload]
        return (given.note if given is not None and given.note else None) or self.note

    @field_validator("figure")
    @classmethod
    def _known_figure(cls, value: str) -> str:
        if value not in PROGRAMME_FIGURES:
            raise ValueError(f"one of {sorted(PROGRAMME_FIGURES)} (got {value!r})")
        return value

    @model_validator(mode="after")
    def _possible_values(self) -> Target:
        _check_value(self.figure, self.value, "value")
        for year, value in self.by_year.items():
            if not year.isdigit() or not FIRST_YEAR <= int(year) <= LAST_YEAR:
                raise ValueError(f"by_year.{year}: a calendar year between {FIRST_YEAR} and {LAST_YEAR} as the key")
            _check_value(self.figure, value, f"by_year.{year}")
        return self

    @property
    def spec(self) -> FigureSpec:
        return PROGRAMME_FIGURES[self.figure]

    @property
    def label(self) -> str:
        return self.title or self.spec.title

    def value_in(self, year: int) -> Decimal:
        """The target for the figure in calendar ``year``: its ``by_year`` value, else ``value``."""
        return self.by_year.get(str(year), self.value)

    def met_by(self, actual: Decimal, year: int) -> bool:
        """Whether ``actual`` meets the target of ``year`` (a figure equal to the target meets it)."""
        wanted = self.value_in(year)
        return actual >= wanted if self.direction == "at_least" else actual <= wanted


class ProgrammeRules(Strict):
    programme: ProgrammeSection
    targets: list[Target] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_target_per_figure(self) -> ProgrammeRules:
        seen: set[str] = set()
        for index, target in enumerate(self.targets):
            if target.figure in seen:
                raise ValueError(f"targets[{index}].figure: each figure targeted once ({target.figure!r} is twice)")
            seen.add(target.figure)
        return self
