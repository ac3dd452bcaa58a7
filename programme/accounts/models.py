"""Users, their roles, organisations, applicant groups and invitations."""

from __future__ import annotations

import enum
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from programme.core.access import Role
from programme.core.db import Base, state_enum, utcnow
from programme.core.texts import lazy_gettext as _l
from programme.rulebook import ORGANISATION_TYPES, SUPPORT_INSTITUTION_TYPES


class User(UserMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    # None until the person sets a password through their enrolment link: such an account cannot log in.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # Bumped on logout and password change: every session that carries an older value ends.
    session_version: Mapped[int] = mapped_column(default=1)
    # A staff member's own organisation (a reviewer's employer, for conflicts of interest).
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    # Who created (enrolled) this account; None when the person registered themselves or the system made it.
    # Four eyes: an account never approves what the person who created it requested, nor the reverse.
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # When the person proved the address by a mailed link (or set a password through an enrolment link).
    email_verified_at: Mapped[datetime | None]
    # The language the person chose ("en", "es", "pt"; None: the browser's). Pages, mail and exports use it.
    language: Mapped[str | None] = mapped_column(String(5))

    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )
    organisation: Mapped[Organisation | None] = relationship(foreign_keys=[organisation_id])
    created_by: Mapped[User | None] = relationship(remote_side=[id], foreign_keys=[created_by_id])

    __table_args__ = (CheckConstraint("email = lower(email)", name="email_lowercase"),)

    # Flask-Login: the session id carries the version, so logout everywhere is one increment.
    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return self.active

    @property
    def role_set(self) -> set[Role]:
        return {Role(r.role) for r in self.roles}

    def has_role(self, role: Role) -> bool:
        return role in self.role_set

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None

    @property
    def enrolled(self) -> bool:
        """The person has set a password (an account a manager opened has none until its enrolment link is used)."""
        return self.password_hash is not None

    @property
    def is_staff(self) -> bool:
        return bool(self.role_set - {Role.APPLICANT})

    @property
    def actor_label(self) -> str:
        return self.email

    def can_manage_users(self) -> bool:
        return self.has_role(Role.PROGRAMME_MANAGER)


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[Role] = mapped_column(state_enum(Role, "role"), primary_key=True)
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)

    user: Mapped[User] = relationship(back_populates="roles")


class TokenPurpose(enum.StrEnum):
    ENROL = "enrol"  # a manager opened the account: the person sets their own password
    VERIFY = "verify"  # a person registered: they prove the address
    RESET = "reset"  # a person forgot the password


class AccountToken(Base):
    """A link mailed to an account's address: only the SHA-256 of its random token is stored; it expires, is used
    once, and a fresh one for the same purpose ends the older ones (revoked)."""

    __tablename__ = "account_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[TokenPurpose] = mapped_column(state_enum(TokenPurpose, "purpose"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    __table_args__ = (
        CheckConstraint("NOT (used_at IS NOT NULL AND revoked_at IS NOT NULL)", name="used_or_revoked"),
        CheckConstraint("expires_at > created_at", name="expires_after_creation"),
    )


class TokenScope(enum.StrEnum):
    """What a personal access token lets a program do through the API: ``read`` what its owner may read; ``write``
    also act (record a repayment, submit a report's KPI values, request a disbursement) as its owner may."""

    READ = "read"
    WRITE = "write"


class PersonalAccessToken(Base):
    """A token a person makes on their account page for a program that uses the API in their name (an accounting
    system, a bank integration, a donor's report). Shown once when made; only its SHA-256 is stored, with its first
    characters to recognise it by. It expires, can be revoked, and acts with its owner's roles, never more."""

    __tablename__ = "personal_access_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    #: The first characters of the token, shown in the list so that its owner can tell which one a program holds.
    prefix: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: "read" or "read write".
    scopes: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    __table_args__ = (
        CheckConstraint("scopes IN ('read', 'read write')", name="known_scopes"),
        CheckConstraint("expires_at > created_at", name="expires_after_creation"),
    )

    @property
    def scope_set(self) -> set[TokenScope]:
        return {TokenScope(s) for s in self.scopes.split()}

    def is_usable(self, moment: datetime) -> bool:
        return self.revoked_at is None and moment < self.expires_at

    def can_revoke(self, user: object) -> bool:
        return getattr(user, "id", None) == self.user_id


class RoleRequestStatus(enum.StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class RoleRequest(Base):
    """A manager asks for a staff role (manager, fund administrator, auditor) to be granted to an account; another
    manager (not the requester, not an account either of them created, not the person concerned) decides."""

    __tablename__ = "role_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    role: Mapped[Role] = mapped_column(state_enum(Role, "role"))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[RoleRequestStatus] = mapped_column(
        state_enum(RoleRequestStatus, "status"), default=RoleRequestStatus.PENDING, index=True
    )
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    requested_by: Mapped[User | None] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    __table_args__ = (
        CheckConstraint(
            "(status = 'pending' AND decided_by_id IS NULL AND decided_at IS NULL) OR "
            "(status <> 'pending' AND decided_by_id IS NOT NULL AND decided_at IS NOT NULL)",
            name="decided_when_not_pending",
        ),
        CheckConstraint("decided_by_id IS NULL OR decided_by_id <> user_id", name="not_own_grant"),
    )

    @property
    def is_pending(self) -> bool:
        return self.status == RoleRequestStatus.PENDING


OrganisationType = enum.StrEnum("OrganisationType", {k.upper(): k for k in ORGANISATION_TYPES})


def organisation_type_label(kind: str) -> str:
    """An organisation type's label for people (``str``), in the language being answered in."""
    label = ORGANISATION_TYPES.get(kind)
    return str(label) if label is not None else kind


class SizeClass(enum.StrEnum):
    MICRO = "micro"
    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"

    @property
    def label(self) -> str:
        """"Micro", "Small"...: in the language being answered in."""
        return str(_SIZE_CLASS_LABELS[self.value])


_SIZE_CLASS_LABELS = {"micro": _l("Micro"), "small": _l("Small"), "medium": _l("Medium"), "large": _l("Large")}


class Organisation(Base):
    """A firm or a local support institution."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[OrganisationType] = mapped_column(state_enum(OrganisationType, "kind"))
    size_class: Mapped[SizeClass | None] = mapped_column(state_enum(SizeClass, "size_class"))
    sector: Mapped[str | None] = mapped_column(String(200))
    locality: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        # A firm has a size class and a sector; an institution has neither size class.
        CheckConstraint(
            "(kind = 'firm' AND size_class IS NOT NULL AND sector IS NOT NULL) OR "
            "(kind <> 'firm' AND size_class IS NULL)",
            name="firm_fields",
        ),
    )

    @property
    def is_firm(self) -> bool:
        return self.kind == OrganisationType.FIRM

    @property
    def kind_label(self) -> str:
        return organisation_type_label(self.kind.value)

    @property
    def is_support_institution(self) -> bool:
        return self.kind.value in SUPPORT_INSTITUTION_TYPES


class GroupRole(enum.StrEnum):
    LEAD = "lead"
    MEMBER = "member"


class ApplicantGroup(Base):
    """A group of organisations that applies together, with the users who act for it."""

    __tablename__ = "applicant_groups"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    users: Mapped[list[GroupUser]] = relationship(
        back_populates="group", cascade="all, delete-orphan", order_by="GroupUser.joined_at"
    )
    memberships: Mapped[list[GroupOrganisation]] = relationship(
        back_populates="group", cascade="all, delete-orphan", order_by="GroupOrganisation.added_at"
    )
    invitations: Mapped[list[GroupInvitation]] = relationship(
        back_populates="group", cascade="all, delete-orphan", order_by="GroupInvitation.created_at"
    )

    @property
    def organisations(self) -> list[Organisation]:
        return [m.organisation for m in self.memberships]

    @property
    def lead(self) -> User | None:
        return next((gu.user for gu in self.users if gu.role == GroupRole.LEAD), None)

    def role_of(self, user: object) -> GroupRole | None:
        user_id = getattr(user, "id", None)
        return next((gu.role for gu in self.users if gu.user_id == user_id), None)

    # Permission rules. A programme manager reads every group; only the group's users change it.
    def can_view(self, user: object) -> bool:
        if getattr(user, "has_role", None) and user.has_role(Role.PROGRAMME_MANAGER):
            return True
        return self.role_of(user) is not None

    def can_edit(self, user: object) -> bool:
        return self.role_of(user) is not None and user.has_role(Role.APPLICANT)

    def can_manage_members(self, user: object) -> bool:
        return self.role_of(user) == GroupRole.LEAD and user.has_role(Role.APPLICANT)


class GroupUser(Base):
    __tablename__ = "group_users"

    group_id: Mapped[int] = mapped_column(ForeignKey("applicant_groups.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    role: Mapped[GroupRole] = mapped_column(state_enum(GroupRole, "role"))
    joined_at: Mapped[datetime] = mapped_column(default=utcnow)

    group: Mapped[ApplicantGroup] = relationship(back_populates="users")
    user: Mapped[User] = relationship()


class GroupOrganisation(Base):
    """An organisation's membership of an applicant group."""

    __tablename__ = "group_organisations"

    group_id: Mapped[int] = mapped_column(ForeignKey("applicant_groups.id", ondelete="CASCADE"), primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True, index=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    group: Mapped[ApplicantGroup] = relationship(back_populates="memberships")
    organisation: Mapped[Organisation] = relationship(lazy="joined")


class GroupInvitation(Base):
    """An invitation for a person (by e-mail) to act for a group; accepted once, by that address."""

    __tablename__ = "group_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("applicant_groups.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(255), index=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    invited_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    accepted_at: Mapped[datetime | None]
    accepted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None]

    group: Mapped[ApplicantGroup] = relationship(back_populates="invitations")
    invited_by: Mapped[User] = relationship(foreign_keys=[invited_by_id])

    __table_args__ = (
        UniqueConstraint("group_id", "email", name="uq_group_invitations_group_email"),
        CheckConstraint("NOT (accepted_at IS NOT NULL AND revoked_at IS NOT NULL)", name="accepted_or_revoked"),
    )

    @property
    def is_pending(self) -> bool:
        return self.accepted_at is None and self.revoked_at is None
