"""Forms for accounts, staff users, applicant groups and organisations."""

from __future__ import annotations

from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, ValidationError

from programme.accounts.models import SizeClass
from programme.core.access import Role
from programme.core.fields import DayField
from programme.core.forms import MultiCheckboxField, ProgrammeForm, choices
from programme.core.i18n import LANGUAGES
from programme.core.texts import LazyText
from programme.core.texts import gettext as _
from programme.core.texts import lazy_gettext as _l
from programme.rulebook import ORGANISATION_TYPES

EMAIL = [DataRequired(), Email(message=_l("Enter an e-mail address such as name@example.org.")), Length(max=255)]
DIFFERENT = _l("The two passwords differ.")


class RegisterForm(ProgrammeForm):
    name = StringField(_l("Your name"), validators=[DataRequired(), Length(min=2, max=200)])
    email = EmailField(_l("E-mail address"), validators=EMAIL)
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("Password again"), validators=[DataRequired(), EqualTo("password", message=DIFFERENT)]
    )


class LoginForm(ProgrammeForm):
    email = EmailField(_l("E-mail address"), validators=EMAIL)
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    next = HiddenField()


class ChangePasswordForm(ProgrammeForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("New password again"), validators=[DataRequired(), EqualTo("new_password", message=DIFFERENT)]
    )


class AccessTokenForm(ProgrammeForm):
    """A personal access token for a program that uses the API in one's name."""

    name = StringField(_l("Name"), validators=[
        DataRequired(message=_l("Name the token after the program that will use it.")), Length(max=100)],
                       description=_l("The program that will use it, for example \u201cAccounting system\u201d."))
    write = BooleanField(_l("Also act (write)"), description=_l(
        "Record repayments, submit a report's KPI values, request disbursements, as your roles allow. Left "
        "unticked, the token only reads."))
    expires_on = DayField(_l("Expires on"), validators=[DataRequired(message=_l("Give the last day the token works."))],
                          description=_l("At most a year from today."))


class LanguageForm(ProgrammeForm):
    """The language switch on every page."""

    language = SelectField(_l("Language"), choices=choices(LANGUAGES.items()))
    next = HiddenField()


def _role_label(role: Role) -> LazyText:
    """A role's label, read when the form is shown (in the language being answered in)."""
    return LazyText(lambda: role.label)


ROLE_CHOICES = choices((role.value, _role_label(role)) for role in Role)


class StaffUserForm(ProgrammeForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(min=2, max=200)])
    email = EmailField(_l("E-mail address"), validators=EMAIL)
    roles = MultiCheckboxField(_l("Roles"), choices=ROLE_CHOICES,
                               validators=[DataRequired(_l("Choose at least one role."))])
    organisation_id = SelectField(_l("Own organisation (for conflicts of interest)"), coerce=int, default=0)


class SetPasswordForm(ProgrammeForm):
    """The person's own password, set through an enrolment or reset link."""

    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        _l("New password again"), validators=[DataRequired(), EqualTo("password", message=DIFFERENT)]
    )


class EmailForm(ProgrammeForm):
    email = EmailField(_l("E-mail address"), validators=EMAIL)


class UserRolesForm(ProgrammeForm):
    roles = MultiCheckboxField(_l("Roles"), choices=ROLE_CHOICES,
                               validators=[DataRequired(_l("Choose at least one role."))])
    active = BooleanField(_l("Account active"))


class GroupForm(ProgrammeForm):
    name = StringField(_l("Group name"), validators=[DataRequired(), Length(min=3, max=200)])
    description = TextAreaField(_l("Who the group is"), validators=[Optional(), Length(max=5000)])


class OrganisationForm(ProgrammeForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(min=2, max=200)])
    kind = SelectField(_l("Type"), choices=choices(
        (kind, label) for kind, label in ORGANISATION_TYPES.items()),
        validators=[DataRequired()])
    size_class = SelectField(
        _l("Size class (firms)"),
        choices=choices([("", "—"), *((s.value, LazyText(lambda s=s: s.label)) for s in SizeClass)]),
        validators=[Optional()],
    )
    sector = StringField(_l("Sector"), validators=[Optional(), Length(max=200)],
                         description=_l("For a firm: what it makes or does."))
    locality = StringField(_l("Locality"), validators=[DataRequired(), Length(max=200)])

    def validate_size_class(self, field: SelectField) -> None:
        if self.kind.data == "firm" and not field.data:
            raise ValidationError(_("A firm needs a size class."))

    def validate_sector(self, field: StringField) -> None:
        if self.kind.data == "firm" and not (field.data or "").strip():
            raise ValidationError(_("A firm needs a sector."))


class InviteForm(ProgrammeForm):
    email = EmailField(_l("E-mail address of the person to invite"), validators=EMAIL)
