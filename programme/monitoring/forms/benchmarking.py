"""The forms of the benchmark publication buttons."""

from __future__ import annotations

from programme.core.forms import ActionForm


class PublishForm(ActionForm):
    """Publish the initiatives' names on a KPI's benchmark."""


class WithdrawForm(ActionForm):
    """Withdraw the publication of a KPI's names."""
