"""The forms of a self-evaluation report: one value and one note per live KPI of the scorecard (the form class
is made for the report's KPIs), the narrative, what the group learned and what it will change; and the submit
button."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from wtforms import TextAreaField
from wtforms.validators import Length, Optional

from programme.core.forms import ActionForm, ProgrammeForm, at_most_places
from programme.core.texts import gettext as _
from programme.core.texts import lazy_gettext as _l
from programme.monitoring.forms.scorecards import KpiNumberField
from programme.monitoring.models import ScorecardKpi
from programme.monitoring.services.reports import NOTE_MAX, TEXT_MAX, note_field, value_field

VALUE_HELP = _l("A number with at most 4 decimal places, a point before the decimals (1250 or 12.5).")
#: TEXT_MAX and NOTE_MAX, written out.
TEXT_TOO_LONG = _l("Write at most 10,000 characters.")
NOTE_TOO_LONG = _l("Write at most 2,000 characters.")


class KpiValueField(KpiNumberField):
    """A KPI's value for the period, shown as stored (all four places, no rounding to two, no trailing zeros)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("places", None)
        super().__init__(*args, **kwargs)

    def _value(self) -> str:
        if self.raw_data:
            return self.raw_data[0]
        if self.data is None:
            return ""
        return f"{self.data.normalize():f}"


class ReportForm(ProgrammeForm):
    """The texts of a report; ``report_form`` adds the KPIs' fields."""

    narrative = TextAreaField(_l("Narrative"), validators=[Length(max=TEXT_MAX, message=TEXT_TOO_LONG)],
                              description=_l("What happened in the period, in a few paragraphs."))
    learned = TextAreaField(_l("What the group learned"), validators=[Length(max=TEXT_MAX, message=TEXT_TOO_LONG)])
    will_change = TextAreaField(_l("What the group will change"),
                                validators=[Length(max=TEXT_MAX, message=TEXT_TOO_LONG)])

    kpi_ids: list[int] = []

    def kpi_fields(self, kpi_id: int) -> tuple[Any, Any]:
        """The value and note fields of a KPI."""
        return self[value_field(kpi_id)], self[note_field(kpi_id)]

    def values(self) -> dict[int, tuple[Any, str]]:
        """What was typed for each KPI, as the service takes it: {kpi id: (value or None, note)}."""
        return {kpi_id: (self[value_field(kpi_id)].data, self[note_field(kpi_id)].data or "")
                for kpi_id in self.kpi_ids}


def report_form_class(kpis: Iterable[ScorecardKpi]) -> type[ReportForm]:
    """A ReportForm with a value field (``value_<kpi id>``) and a note field (``note_<kpi id>``) for each KPI."""
    kpis = list(kpis)
    attrs: dict[str, Any] = {"kpi_ids": [k.id for k in kpis]}
    for kpi in kpis:
        attrs[value_field(kpi.id)] = KpiValueField(
            f"{kpi.name} ({kpi.unit})", validators=[Optional(), at_most_places(4)], description=VALUE_HELP,
            render_kw={"inputmode": "decimal", "autocomplete": "off"})
        attrs[note_field(kpi.id)] = TextAreaField(
            _("Note on %(name)s", name=kpi.name), validators=[Length(max=NOTE_MAX, message=NOTE_TOO_LONG)],
            description=_("Why the value is missing or what it means (optional when a value is given)."))
    return type("KpiReportForm", (ReportForm,), attrs)


def report_form(kpis: Iterable[ScorecardKpi], **kwargs: Any) -> ReportForm:
    return report_form_class(kpis)(**kwargs)


class SubmitReportForm(ActionForm):
    """Submit the report (it is frozen from then on)."""
