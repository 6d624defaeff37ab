"""Login for the back office: Flask-Login sessions, hashed passwords, a login page.

A session names its user by the user's session token (User.get_id), so signing out ends it on the
server. Every sign-in attempt checks one password hash, a dummy one for an unknown username, so
the answer takes as long for a username that exists as for one that does not.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from blinker import Namespace
from flask import Blueprint, Flask, current_app, flash, redirect, render_template, request, url_for
from flask_login import LoginManager, current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.security import check_password_hash, generate_password_hash
from werkzeug.wrappers import Response
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired

from .models import User, db

login_manager = LoginManager()
login_manager.login_view = "auth.login"
bp = Blueprint("auth", __name__, template_folder="templates")


class LoginForm(FlaskForm):
    username = StringField("Username", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


# Sent once per password check, with the hash's method ("scrypt:32768:8:1"): what a sign-in
# costs, observable without timing it.
password_checked = Namespace().signal("password-checked")
# The hash an unknown username is checked against: same method and cost as a real one.
DUMMY_HASH = generate_password_hash("no such user: this hash matches no password")


@login_manager.user_loader
def load_user(session_token: str) -> User | None:
    return db.session.scalar(db.select(User).filter_by(session_token=session_token))


def authenticate(username: str, password: str) -> User | None:
    """The user with this username and password, else None; one hash check either way."""
    user = db.session.scalar(db.select(User).filter_by(username=username))
    stored = user.password_hash if user is not None else DUMMY_HASH
    matches = check_password_hash(stored, password)
    password_checked.send(current_app._get_current_object(), method=stored.split("$", 1)[0])
    return user if user is not None and matches else None


def _safe_next(target: str | None) -> str:
    """Only same-site paths are followed after login."""
    if target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/"):
            return target
    return url_for("admin.index")


@bp.route("/login", methods=["GET", "POST"])
def login() -> str | Response:
    if current_user.is_authenticated:
        return redirect(_safe_next(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(form.username.data or "", form.password.data or "")
        if user is not None:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        flash("Unknown username or wrong password.", "error")
    return render_template("login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout() -> Response:
    current_user.end_sessions()  # this cookie, and any copy of it, names nobody now
    db.session.commit()
    logout_user()
    return redirect(url_for("auth.login"))


@bp.route("/")
def home() -> Response:
    return redirect(url_for("admin.index"))


def init_auth(app: Flask) -> None:
    login_manager.init_app(app)
    app.register_blueprint(bp)
