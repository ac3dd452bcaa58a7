"""The forms of the scorecard page: start it from a template, add a KPI of the group's own, change a KPI, drop
one with a reason."""

from __future__ import annotations

from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField, widgets
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from programme.core.forms import FiniteDecimalField, ProgrammeForm, at_most_places, choices
from programme.core.texts import lazy_gettext as _l
from programme.monitoring.models import DIRECTION_LABELS, Direction

DIRECTIONS = [(d.value, DIRECTION_LABELS[d.value]) for d in Direction]


def direction_choices() -> list:
    return choices(DIRECTIONS)
NUMBER_HELP = _l("A number with at most 4 decimal places, a point before the decimals (1250 or 12.5); may be left "
                 "empty.")


class KpiNumberField(FiniteDecimalField):
    """A baseline or target: a decimal (never a float) typed in a text box."""

    widget = widgets.TextInput()
    limit = Decimal(10) ** 14  # Numeric(18, 4)


def _number(label: object) -> KpiNumberField:
    return KpiNumberField(label, places=None, validators=[Optional(), at_most_places(4)], description=NUMBER_HELP,
                          render_kw={"inputmode": "decimal", "autocomplete": "off"})


class StartForm(ProgrammeForm):
    template = SelectField(_l("Template"), validators=[InputRequired(message=_l("Choose a template."))])


class KpiFields(ProgrammeForm):
    name = StringField(_l("Name"), validators=[DataRequired(message=_l("Give the KPI's name.")),
                                               Length(max=200, message=_l("Write at most 200 characters."))])
    unit = StringField(_l("Unit"), validators=[DataRequired(message=_l("Give the KPI's unit.")),
                                               Length(max=60, message=_l("Write at most 60 characters."))],
                       description=_l("What the value counts: EUR, firms, percent, events…"))
    direction = SelectField(_l("Direction"), choices=direction_choices,
                            validators=[InputRequired(message=_l("Say whether higher or lower is better."))])
    source = TextAreaField(_l("Source"), validators=[DataRequired(message=_l("Say where the value comes from.")),
                                                     Length(max=2000, message=_l("Write at most 2,000 characters."))])
    baseline = _number(_l("Baseline"))
    target = _number(_l("Target"))


class AddKpiForm(KpiFields):
    factor = SelectField(_l("Critical success factor"),
                         validators=[InputRequired(message=_l("Choose a critical success factor."))])


class EditKpiForm(KpiFields):
    pass


class DropForm(ProgrammeForm):
    reason = TextAreaField(_l("Why it is dropped"), validators=[
        DataRequired(message=_l("Say why the KPI is dropped.")),
        Length(max=2000, message=_l("Write at most 2,000 characters."))])


def row_ids(form: FlaskForm, row: int) -> FlaskForm:
    """Give the fields of a form repeated on each row ids of their own (names stay the same)."""
    for name, field in form._fields.items():
        if name != "csrf_token":
            field.id = f"{name}-{row}"
            field.label.field_id = field.id
    return form
