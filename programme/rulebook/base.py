"""What every part of the rules schema shares: the strict model base and the exact-decimal field types.

The schema of a call (`schema.py`) and the modules of the programme designs beside it import from here, so that
each design keeps its options in a module of its own without importing the schema that gathers them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

Share = Annotated[Decimal, Field(ge=0, le=1)]
PositiveMoney = Annotated[Decimal, Field(gt=0)]


class Strict(BaseModel):
    """A rules section: unknown keys refused (a misspelt key is an error, not a default), values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


#: The languages a rules file may give its texts in besides English: the programme's (``core.i18n.LANGUAGES``; a
#: test keeps the two in step, the rules being pure). A text left out in a language is read in English.
TextLanguage = Literal["es", "pt"]


class CriterionTexts(Strict):
    """A criterion's texts in another language (``[scoring.criteria.translations.es]``)."""

    title: str | None = Field(default=None, min_length=3, max_length=200)
    guidance: str | None = Field(default=None, min_length=10)


class TitleTexts(Strict):
    """A funding-request criterion's title in another language."""

    title: str = Field(min_length=3)


class StageTexts(Strict):
    """A stage's title and description in another language (``[stages.translations.pt]``)."""

    title: str | None = Field(default=None, min_length=3, max_length=120)
    description: str | None = None


class TargetTexts(Strict):
    """A programme target's title and note in another language (``[targets.translations.es]``)."""

    title: str | None = Field(default=None, min_length=3, max_length=200)
    note: str | None = None
