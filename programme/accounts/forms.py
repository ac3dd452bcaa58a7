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
from programme.rulebook import ORGANISATION_TYPES

EMAIL = [DataRequired(), Email(message="Enter an e-mail address such as name@example.org."), Length(max=255)]


class RegisterForm(ProgrammeForm):
    name = StringField("Your name", validators=[DataRequired(), Length(min=2, max=200)])
    email = EmailField("E-mail address", validators=EMAIL)
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        "Password again", validators=[DataRequired(), EqualTo("password", message="The two passwords differ.")]
    )


class LoginForm(ProgrammeForm):
    email = EmailField("E-mail address", validators=EMAIL)
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])
    next = HiddenField()


class ChangePasswordForm(ProgrammeForm):
    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField("New password", validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        "New password again", validators=[DataRequired(), EqualTo("new_password", message="The two passwords differ.")]
    )


class AccessTokenForm(ProgrammeForm):
    """A personal access token for a program that uses the API in one's name."""

    name = StringField("Name", validators=[DataRequired(message="Name the token after the program that will use it."),
                                           Length(max=100)],
                       description="The program that will use it, for example \u201cAccounting system\u201d.")
    write = BooleanField("Also act (write)", description="Record repayments, submit a report's KPI values, request "
                         "disbursements, as your roles allow. Left unticked, the token only reads.")
    expires_on = DayField("Expires on", validators=[DataRequired(message="Give the last day the token works.")],
                          description="At most a year from today.")


class LanguageForm(ProgrammeForm):
    """The language switch on every page."""

    language = SelectField("Language", choices=choices(LANGUAGES.items()))
    next = HiddenField()


ROLE_CHOICES = choices((role.value, role.label) for role in Role)


class StaffUserForm(ProgrammeForm):
    name = StringField("Name", validators=[DataRequired(), Length(min=2, max=200)])
    email = EmailField("E-mail address", validators=EMAIL)
    roles = MultiCheckboxField("Roles", choices=ROLE_CHOICES, validators=[DataRequired("Choose at least one role.")])
    organisation_id = SelectField("Own organisation (for conflicts of interest)", coerce=int, default=0)


class SetPasswordForm(ProgrammeForm):
    """The person's own password, set through an enrolment or reset link."""

    password = PasswordField("New password", validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(
        "New password again", validators=[DataRequired(), EqualTo("password", message="The two passwords differ.")]
    )


class EmailForm(ProgrammeForm):
    email = EmailField("E-mail address", validators=EMAIL)


class UserRolesForm(ProgrammeForm):
    roles = MultiCheckboxField("Roles", choices=ROLE_CHOICES, validators=[DataRequired("Choose at least one role.")])
    active = BooleanField("Account active")


class GroupForm(ProgrammeForm):
    name = StringField("Group name", validators=[DataRequired(), Length(min=3, max=200)])
    description = TextAreaField("Who the group is", validators=[Optional(), Length(max=5000)])


class OrganisationForm(ProgrammeForm):
    name = StringField("Name", validators=[DataRequired(), Length(min=2, max=200)])
    kind = SelectField("Type", choices=choices(ORGANISATION_TYPES.items()), validators=[DataRequired()])
    size_class = SelectField(
        "Size class (firms)", choices=choices([("", "—"), *((s.value, s.value.capitalize()) for s in SizeClass)]),
        validators=[Optional()],
    )
    sector = StringField("Sector", validators=[Optional(), Length(max=200)],
                         description="For a firm: what it makes or does.")
    locality = StringField("Locality", validators=[DataRequired(), Length(max=200)])

    def validate_size_class(self, field: SelectField) -> None:
        if self.kind.data == "firm" and not field.data:
            raise ValidationError("A firm needs a size class.")

    def validate_sector(self, field: StringField) -> None:
        if self.kind.data == "firm" and not (field.data or "").strip():
            raise ValidationError("A firm needs a sector.")


class InviteForm(ProgrammeForm):
    email = EmailField("E-mail address of the person to invite", validators=EMAIL)
