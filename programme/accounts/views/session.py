"""Registration and address verification, login and logout, enrolment and reset links, the account page."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from programme.accounts import services
from programme.accounts.forms import ChangePasswordForm, EmailForm, LoginForm, RegisterForm, SetPasswordForm
from programme.accounts.views._common import bp, known_device_for, link_to, remember_device, start_session
from programme.core.forms import ActionForm
from programme.core.texts import gettext as _
from programme.core.web import actor, attempt, commit, safe_next
from programme.extensions import limiter


def _posted_email_key(prefix: str) -> str:
    return f"{prefix}:" + services.normalise_email(request.form.get("email", ""))


def _login_account_key() -> str:
    return _posted_email_key("login-account")


def _known_device() -> bool:
    return known_device_for(request.form.get("email", ""))


def _failed(response) -> bool:
    return response.status_code != 302


def _hours(key: str) -> timedelta:
    return timedelta(hours=current_app.config[key])


# Registration and verification ----------------------------------------------------------------------------------


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["REGISTER_LIMIT_PER_ADDRESS"], methods=["POST"])
@limiter.limit(lambda: current_app.config["REGISTER_LIMIT_PER_EMAIL"], methods=["POST"],
               key_func=lambda: _posted_email_key("register"))
def register():
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = RegisterForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            services.register_applicant(
                email=form.email.data, name=form.name.data, password=form.password.data,
                link=link_to("accounts.verify_email"), valid_for=_hours("VERIFY_LINK_HOURS"),
                login_link=url_for("accounts.login", _external=True),
            )
        if done.ok:  # the same answer whether or not the address had an account
            return render_template("accounts/check_mailbox.html", email=services.normalise_email(form.email.data))
    return render_template("accounts/register.html", form=form)


@bp.route("/confirm-address")
@login_required
def confirm_address():
    if current_user.email_verified:
        return redirect(url_for("home.index"))
    return render_template("accounts/confirm_address.html", form=ActionForm())


@bp.route("/confirm-address/resend", methods=["POST"])
@login_required
@limiter.limit(lambda: current_app.config["VERIFY_RESEND_LIMIT"],
               key_func=lambda: f"verify-resend:{getattr(current_user, 'id', None)}")
def resend_verification():
    if ActionForm().validate_on_submit():
        with attempt() as done:
            services.resend_verification(current_user, actor=actor(), link=link_to("accounts.verify_email"),
                                         valid_for=_hours("VERIFY_LINK_HOURS"))
        if done.ok:
            flash(_("A new link is on its way to %(email)s.", email=current_user.email), "success")
    return redirect(url_for("accounts.confirm_address"))


@bp.route("/verify/<token>", methods=["GET", "POST"])
def verify_email(token: str):
    """GET shows the button (a mail scanner that opens the link uses nothing); POST proves the address."""
    user = services.verification_user(token)
    form = ActionForm()
    if form.validate_on_submit():
        services.verify_email(token)
        commit()
        flash(_("Your e-mail address is confirmed."), "success")
        if current_user.is_authenticated and current_user.id == user.id:
            return redirect(url_for("accounts.groups"))
        return redirect(url_for("accounts.login"))
    return render_template("accounts/verify.html", form=form, email=user.email)


# Login and logout -----------------------------------------------------------------------------------------------


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"], methods=["POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], methods=["POST"], key_func=_login_account_key,
               exempt_when=_known_device, deduct_when=_failed)
def login():
    form = LoginForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        user = services.authenticate(form.email.data, form.password.data)
        if user is None:
            flash(_("The e-mail address or the password is not right."), "error")
        else:
            commit()
            start_session(user)
            return remember_device(redirect(safe_next(form.next.data) or url_for("home.index")), user.email)
    return render_template("accounts/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    if ActionForm().validate_on_submit():
        services.end_sessions(current_user)
        commit()
        logout_user()
        flash(_("You are logged out."), "success")
    return redirect(url_for("home.index"))


# Enrolment and reset links --------------------------------------------------------------------------------------


@bp.route("/enrol/<token>", methods=["GET", "POST"])
def enrol(token: str):
    user = services.enrolment_user(token)
    form = SetPasswordForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            services.complete_enrolment(token, password=form.password.data)
        if done.ok:
            flash(_("Your password is set. Log in with your e-mail address and the new password."), "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/set_password.html", form=form, email=user.email,
                           title=_("Choose your password"), button=_("Set my password"))


@bp.route("/reset", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["RESET_LIMIT_PER_ADDRESS"], methods=["POST"])
@limiter.limit(lambda: current_app.config["RESET_LIMIT_PER_EMAIL"], methods=["POST"],
               key_func=lambda: _posted_email_key("reset"))
def reset_request():
    form = EmailForm()
    if form.validate_on_submit():
        services.request_password_reset(
            form.email.data, link=link_to("accounts.reset_password"),
            valid_for=timedelta(minutes=current_app.config["RESET_LINK_MINUTES"]),
        )
        commit()
        return render_template("accounts/reset_sent.html")
    return render_template("accounts/reset_request.html", form=form)


@bp.route("/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    user = services.reset_user(token)
    form = SetPasswordForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            services.reset_password(token, password=form.password.data)
        if done.ok:
            logout_user()  # every session of the account ended, this browser's too
            flash(_("Your password is changed and every session of your account has ended. Log in again."),
                  "success")
            return redirect(url_for("accounts.login"))
    return render_template("accounts/set_password.html", form=form, email=user.email,
                           title=_("Choose a new password"), button=_("Change my password"))


# The account ----------------------------------------------------------------------------------------------------


def _password_check_key() -> str:
    return f"password-check:{getattr(current_user, 'id', None)}"


@bp.route("/account", methods=["GET", "POST"])
@login_required
@limiter.limit(lambda: current_app.config["PASSWORD_CHECK_LIMIT"], methods=["POST"], key_func=_password_check_key,
               deduct_when=_failed)
def account():
    form = ChangePasswordForm()
    if form.validate_on_submit():
        with attempt(form) as done:
            services.change_password(current_user, current=form.current_password.data, new=form.new_password.data,
                                     actor=actor())
        if done.ok:
            login_user(current_user._get_current_object())  # this session stays; the others end
            flash(_("Your password is changed. Other sessions were logged out."), "success")
            return redirect(url_for("accounts.account"))
    return render_template("accounts/account.html", form=form)

