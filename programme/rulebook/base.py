"""What every part of the rules schema shares: the strict model base and the exact-decimal field types.

The schema of a call (`schema.py`) and the modules of the programme designs beside it import from here, so that
each design keeps its options in a module of its own without importing the schema that gathers them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

Share = Annotated[Decimal, Field(ge=0, le=1)]
PositiveMoney = Annotated[Decimal, Field(gt=0)]


class Strict(BaseModel):
    """A rules section: unknown keys refused (a misspelt key is an error, not a default), values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)
