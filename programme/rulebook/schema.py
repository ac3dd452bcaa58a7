"""The schema of a call's rules and of a scorecard template.

Numbers that are money, weights, shares or scores are Decimal: the loader parses
TOML floats as Decimal, so no binary float ever enters the rules.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator

from programme.core.money import is_exact_amount
from programme.core.texts import LazyText
from programme.core.texts import lazy_gettext as _l
from programme.rulebook.base import CriterionTexts, PositiveMoney, Share, Strict, TextLanguage, TitleTexts
from programme.rulebook.facilitation import Facilitation
from programme.rulebook.foresight import RevolvingFundRules
from programme.rulebook.guarantees import Guarantees
from programme.rulebook.stages import Stage, check_stages

#: Kinds of support institution a group may include (DESIGN section 2, issue 2), each with its label for people, in
#: the language it is shown in (``str(label)``).
SUPPORT_INSTITUTION_TYPES: dict[str, LazyText] = {
    "business_association": _l("Business association"),
    "chamber": _l("Chamber of commerce or industry"),
    "training_provider": _l("Training provider"),
    "technology_institute": _l("Technology or research institute"),
    "university": _l("University"),
    "local_government": _l("Local government"),
    "bank": _l("Bank or financial institution"),
    "other": _l("Other support institution"),
}
#: Every organisation type: a firm or one of the support institutions.
ORGANISATION_TYPES: dict[str, LazyText] = {"firm": _l("Firm"), **SUPPORT_INSTITUTION_TYPES}

class CallSection(Strict):
    name: str = Field(min_length=3, max_length=200)
    description: str = ""
    currency: str = Field(pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. EUR")
    budget: PositiveMoney
    per_initiative_cap: PositiveMoney
    timezone: str | None = None
    opens: datetime | None = None
    closes: datetime | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"an IANA time zone such as 'Europe/Berlin' (got {value!r})") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> CallSection:
        for field in ("budget", "per_initiative_cap"):
            if not is_exact_amount(getattr(self, field), self.currency):
                raise ValueError(f"{field}: an amount in whole minor units of {self.currency}")
        if self.per_initiative_cap > self.budget:
            raise ValueError("per_initiative_cap: at most the call's budget")
        if self.opens and self.closes:
            zone = ZoneInfo(self.timezone or "UTC")
            opens, closes = (t if t.tzinfo else t.replace(tzinfo=zone) for t in (self.opens, self.closes))
            if closes <= opens:
                raise ValueError("closes: a time after 'opens'")
        return self


class EligibilitySection(Strict):
    min_members: int = Field(ge=1)
    min_firms: int = Field(ge=0)
    min_support_institutions: int = Field(ge=0)
    allowed_organisation_types: list[str] = Field(min_length=1)
    required_sections: list[str] = Field(default_factory=list)

    @field_validator("allowed_organisation_types")
    @classmethod
    def _known_types(cls, value: list[str]) -> list[str]:
        unknown = [t for t in value if t not in ORGANISATION_TYPES]
        if unknown:
            raise ValueError(f"types among {sorted(ORGANISATION_TYPES)} (unknown: {unknown})")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> EligibilitySection:
        if self.min_firms + self.min_support_institutions > self.min_members:
            raise ValueError("min_members: at least min_firms + min_support_institutions")
        if self.min_firms and "firm" not in self.allowed_organisation_types:
            raise ValueError("allowed_organisation_types: must include 'firm' when min_firms > 0")
        if self.min_support_institutions and not (
            set(self.allowed_organisation_types) & set(SUPPORT_INSTITUTION_TYPES)
        ):
            raise ValueError("allowed_organisation_types: must include a support institution type")
        return self


class Criterion(Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=40)
    title: str = Field(min_length=3, max_length=200)
    guidance: str = Field(min_length=10)
    weight: Decimal = Field(gt=0)
    threshold: Decimal = Field(ge=0)
    #: The title and guidance in the other languages the programme speaks (``rulebook.texts``).
    translations: dict[TextLanguage, CriterionTexts] = Field(default_factory=dict)


class ScoringSection(Strict):
    scale_min: Decimal = Decimal(0)
    scale_max: Decimal = Decimal(5)
    step: Decimal = Field(default=Decimal("0.5"), gt=0)
    overall_threshold: Decimal = Field(ge=0)
    disagreement_limit: Decimal = Field(gt=0)
    reviewers_per_proposal: int = Field(default=3, ge=1, le=20)
    justification_min_length: int = Field(default=30, ge=0)
    # Days before the review deadline on which reviewers with unsubmitted reviews are reminded.
    review_reminder_days: int = Field(default=3, ge=0, le=60)
    tie_break: list[str] = Field(default_factory=list)
    funding_line: Literal["stop", "skip"] = "stop"
    criteria: list[Criterion] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> ScoringSection:
        if self.scale_max <= self.scale_min:
            raise ValueError("scale_max: greater than scale_min")
        if (self.scale_max - self.scale_min) % self.step:
            raise ValueError("step: must divide the scale (scale_max - scale_min) evenly")
        keys = [c.key for c in self.criteria]
        duplicates = sorted({k for k in keys if keys.count(k) > 1})
        if duplicates:
            raise ValueError(f"criteria: each key once (repeated: {duplicates})")
        for index, criterion in enumerate(self.criteria):
            if not self.scale_min <= criterion.threshold <= self.scale_max:
                raise ValueError(
                    f"criteria[{index}].threshold: between {self.scale_min} and {self.scale_max}"
                    f" (got {criterion.threshold})"
                )
        unknown = [k for k in self.tie_break if k not in keys]
        if unknown:
            raise ValueError(f"tie_break: criterion keys among {keys} (unknown: {unknown})")
        if self.overall_threshold > self.max_total:
            raise ValueError(f"overall_threshold: at most the highest total {self.max_total}")
        return self

    @property
    def max_total(self) -> Decimal:
        return sum((c.weight * self.scale_max for c in self.criteria), Decimal(0))


# A stage's criteria are the schema's Criterion (the stages module cannot import the schema that imports it).
Stage.model_rebuild(_types_namespace={"Criterion": Criterion})


class StartupGrant(Strict):
    share: Share = Decimal(1)
    maximum: PositiveMoney
    duration_months: int = Field(ge=1, le=60)


class ExternalShare(Strict):
    """The declining cap on the external share of costs, by programme year."""

    schedule: list[Share] = Field(min_length=1)
    floor: Share = Decimal(0)

    @model_validator(mode="after")
    def _declining(self) -> ExternalShare:
        for year, (before, after) in enumerate(zip(self.schedule, self.schedule[1:], strict=False), start=2):
            if after > before:
                raise ValueError(f"schedule: must not rise from one year to the next (year {year})")
        if self.floor > self.schedule[-1]:
            raise ValueError("floor: at most the schedule's last year")
        return self

    def cap_for_year(self, programme_year: int) -> Decimal:
        """External-share cap for programme year 1, 2, ...; the floor after the schedule ends."""
        if programme_year < 1:
            raise ValueError("programme years start at 1")
        if programme_year <= len(self.schedule):
            return self.schedule[programme_year - 1]
        return self.floor


class Matching(Strict):
    """Programme money per unit of verified co-financing, by programme year (last one repeats)."""

    ratios: list[Annotated[Decimal, Field(gt=0)]] = Field(min_length=1)
    in_kind_max_share: Share = Decimal("0.5")

    def ratio_for_year(self, programme_year: int) -> Decimal:
        if programme_year < 1:
            raise ValueError("programme years start at 1")
        return self.ratios[min(programme_year, len(self.ratios)) - 1]


class Loans(Strict):
    max_rate: Annotated[Decimal, Field(ge=0, le=1)]
    max_term_months: int = Field(ge=1, le=360)
    max_grace_months: int = Field(ge=0, le=60)
    methods: list[Literal["annuity", "equal_principal"]] = Field(min_length=1)
    frequencies: list[Literal["monthly", "quarterly"]] = Field(default=["monthly", "quarterly"], min_length=1)
    rounding: Literal["half_up", "half_even"] = "half_up"
    penalty_rate: Annotated[Decimal, Field(ge=0, le=1)] = Decimal(0)
    #: A new loan of more than this principal is made only when a second person approves it; "all": every loan.
    #: Left out, every loan needs the second approval (four eyes by default).
    second_approval_above: Annotated[Decimal, Field(ge=0, le=10**12)] | Literal["all"] = Field(
        default="all", union_mode="left_to_right",
        description='principal above which a new loan needs a second approval, or "all" for every loan')
    #: Mutual guarantees on the fund's loans (seed 004, para. 42; ``rulebook.guarantees``). Left out: none.
    guarantees: Guarantees | None = None

    @field_validator("second_approval_above", mode="before")
    @classmethod
    def _no_float_threshold(cls, value: object) -> object:
        if isinstance(value, float):
            return Decimal(str(value))
        return value

    def needs_second_approval(self, principal: Decimal) -> bool:
        """Whether a new loan of ``principal`` waits for a second person's approval before it is paid out."""
        return self.second_approval_above == "all" or principal > self.second_approval_above


class FundingRequestCriterion(Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    title: str = Field(min_length=3)
    translations: dict[TextLanguage, TitleTexts] = Field(default_factory=dict)


class FundingSection(Strict):
    startup_grant: StartupGrant
    external_share: ExternalShare
    matching: Matching
    loans: Loans
    request_criteria: list[FundingRequestCriterion] = Field(default_factory=list)
    #: The facilitation fund (seed 003, section 8), optional: a call without it has none.
    facilitation: Facilitation | None = None
    #: Revolving-fund foresight (the fund plan: projection, utilisation standard, cash floor), optional.
    revolving_fund: RevolvingFundRules | None = None


class MonitoringSection(Strict):
    report_frequency_months: int = Field(ge=1, le=24)
    reminder_days: int = Field(default=14, ge=0, le=90)
    report_due_days: int = Field(default=30, ge=0, le=120, description="days after a period ends to file its report")
    scorecard: str = Field(min_length=1, description="key of a scorecard template in rules/scorecards/")


class CallRules(Strict):
    call: CallSection
    eligibility: EligibilitySection
    scoring: ScoringSection
    funding: FundingSection
    monitoring: MonitoringSection
    #: A staged call's stages (seed 004, section 4; ``rulebook.stages``). Left out: a call in one stage.
    stages: list[Stage] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> CallRules:
        currency = self.call.currency
        grant = self.funding.startup_grant
        if not is_exact_amount(grant.maximum, currency):
            raise ValueError(f"funding.startup_grant.maximum: whole minor units of {currency}")
        if grant.maximum > self.call.per_initiative_cap:
            raise ValueError("funding.startup_grant.maximum: at most call.per_initiative_cap")
        guarantees = self.funding.loans.guarantees
        if guarantees is not None and (problem := guarantees.exposure_error(currency)):
            raise ValueError(problem)
        facilitation = self.funding.facilitation
        if facilitation is not None:
            if not is_exact_amount(facilitation.ceiling, currency):
                raise ValueError(f"funding.facilitation.ceiling: whole minor units of {currency}")
            if facilitation.ceiling > self.call.per_initiative_cap:
                raise ValueError("funding.facilitation.ceiling: at most call.per_initiative_cap")
        foresight, loans = self.funding.revolving_fund, self.funding.loans
        if foresight is not None:  # the projection must not model loans the fund may not make
            if foresight.new_loan_rate > loans.max_rate:
                raise ValueError(f"funding.revolving_fund.new_loan_rate: at most funding.loans.max_rate"
                                 f" ({loans.max_rate}), got {foresight.new_loan_rate}")
            # Left out, the term is the default's or the longest the loans allow, whichever is shorter
            # (``loans.services.foresight.rules_of_call``): only a term written in the file is refused.
            if "new_loan_term_months" in foresight.model_fields_set \
                    and foresight.new_loan_term_months > loans.max_term_months:
                raise ValueError(f"funding.revolving_fund.new_loan_term_months: at most funding.loans.max_term_months"
                                 f" ({loans.max_term_months}), got {foresight.new_loan_term_months}")
        if self.stages is not None:
            check_stages(self)
        return self


class KpiTexts(Strict):
    """A template KPI's texts in another language (``[perspectives.factors.kpis.translations.es]``): its name, its
    unit where the unit is words ("firms"; "EUR" and "%" are left out, so read as written) and its source. The
    lengths are those of a scorecard's KPI (``monitoring.models.ScorecardKpi``), which the texts are copied into."""

    name: str | None = Field(default=None, min_length=3, max_length=200)
    unit: str | None = Field(default=None, min_length=1, max_length=60)
    source: str | None = Field(default=None, min_length=3)


class HeadingTexts(Strict):
    """A perspective's or a critical success factor's title in another language."""

    title: str = Field(min_length=3, max_length=200)


class ScorecardTexts(Strict):
    """A scorecard template's name and description in another language (``[scorecard.translations.pt]``)."""

    name: str | None = Field(default=None, min_length=3)
    description: str | None = Field(default=None, min_length=10)


class Kpi(Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)
    name: str = Field(min_length=3)
    unit: str = Field(min_length=1)
    direction: Literal["higher", "lower"]
    source: str = Field(min_length=3)
    baseline: Decimal | None = None
    target: Decimal | None = None
    #: The name, unit and source in the other languages the programme speaks (``rulebook.texts``).
    translations: dict[TextLanguage, KpiTexts] = Field(default_factory=dict)


class SuccessFactor(Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)
    title: str = Field(min_length=3)
    kpis: list[Kpi] = Field(min_length=1, max_length=3)
    translations: dict[TextLanguage, HeadingTexts] = Field(default_factory=dict)


class Perspective(Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)
    title: str = Field(min_length=3)
    factors: list[SuccessFactor] = Field(min_length=1)
    translations: dict[TextLanguage, HeadingTexts] = Field(default_factory=dict)


class ScorecardSection(Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)
    name: str = Field(min_length=3)
    source: str = Field(min_length=3)
    description: str = ""
    translations: dict[TextLanguage, ScorecardTexts] = Field(default_factory=dict)


class ScorecardTemplate(Strict):
    scorecard: ScorecardSection
    perspectives: list[Perspective] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_keys(self) -> ScorecardTemplate:
        seen: set[str] = set()
        for p, perspective in enumerate(self.perspectives):
            for f, factor in enumerate(perspective.factors):
                for k, kpi in enumerate(factor.kpis):
                    if kpi.key in seen:
                        raise ValueError(
                            f"perspectives[{p}].factors[{f}].kpis[{k}].key:"
                            f" a KPI key used once in a template (repeated: {kpi.key!r})"
                        )
                    seen.add(kpi.key)
        return self
