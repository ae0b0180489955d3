"""Signed-in sessions: each sign-in is a row the server can delete, cookies are Secure over
HTTPS, and HTTPS responses carry HSTS.

Flask's session cookie is signed, not stored: a copy of it stays valid for as long as the
secret key does. So what it (and Flask-Login's remember cookie) carries is
"<user id>:<session key>", and a request is signed in only while the key's UserSession row
exists: deleting the row ends that sign-in, including every copy of its cookies.
"""

import secrets
from datetime import timedelta

from flask import Flask, current_app, g, request, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user, login_user, logout_user
from sqlalchemy import delete, select
from werkzeug.middleware.proxy_fix import ProxyFix

from ..extensions import db, login_manager
from ..models import User, UserSession
from ..timeutil import now_utc

# Browsers remember HSTS for this long (a year, the common choice).
HSTS = "max-age=31536000"


def init_app(app: Flask) -> None:
    proxies = app.config["HERALD_TRUSTED_PROXIES"]
    if proxies:
        # Only then are X-Forwarded-For/-Proto/-Host believed: without a proxy that sets
        # them, anybody could claim HTTPS or any client address.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies,
                                x_host=proxies, x_port=proxies)
    app.session_interface = HttpsAwareSessionInterface()
    app.after_request(_hsts)


def lifetime() -> timedelta:
    """How long a sign-in lasts at most (the remember cookie's lifetime too)."""
    return current_app.config["REMEMBER_COOKIE_DURATION"]


@login_manager.user_loader
def _load_user(value: str) -> User | None:
    user_id, _, key = value.partition(":")
    if not (user_id.isascii() and user_id.isdigit()) or not key:
        return None  # a cookie from before sessions were stored, or a forged one
    row = db.session.scalar(select(UserSession).where(UserSession.key_hash ==
                                                      UserSession.hash(key)))
    if row is None or row.user_id != int(user_id) or row.created_at < now_utc() - lifetime():
        return None
    user = row.user
    user.session_key, user.session_id = key, row.id
    return user


def sign_in(user: User, remember: bool) -> None:
    """A new sign-in for `user` in a fresh session: nothing from before it (the pre-login
    CSRF token included) is carried over."""
    session.clear()
    g.pop("csrf_token", None)  # Flask-WTF caches the request's token here
    # Expired sign-ins open nothing; drop their rows while here.
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id,
                                                 UserSession.created_at < now_utc() - lifetime()))
    user.session_key, user.session_id = add_sign_in(user.id)
    login_user(user, remember=remember, duration=lifetime())


def add_sign_in(user_id: int) -> tuple[str, int]:
    """Store a new sign-in of the user (only its key's hash is kept); returns the key,
    which the session carries as "<user id>:<key>", and the row's id."""
    key = secrets.token_urlsafe(32)
    row = UserSession(user_id=user_id, key_hash=UserSession.hash(key))
    db.session.add(row)
    db.session.commit()
    return key, row.id


def sign_out() -> None:
    """End this browser's sign-in: its row, its session and its remember cookie."""
    if current_user.is_authenticated and current_user.session_id:
        db.session.execute(delete(UserSession).where(UserSession.id == current_user.session_id))
        db.session.commit()
    logout_user()
    # A fresh session for whoever uses this browser next, keeping only Flask-Login's note
    # ("_remember": "clear") that makes its after-request hook delete the remember cookie.
    remember = session.get("_remember")
    session.clear()
    if remember:
        session["_remember"] = remember


def end_all_sessions(user: User) -> int:
    """Sign `user` out everywhere (every browser, this one included); how many ended."""
    result = db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    db.session.commit()
    return result.rowcount


class HttpsAwareSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session; over HTTPS every cookie the response sets is Secure.

    This runs after every after_request hook (Flask saves the session last), so it also
    sees Flask-Login's remember cookie and marks it, in the one place."""

    def save_session(self, app, session, response) -> None:
        super().save_session(app, session, response)
        if not request.is_secure:
            return
        cookies = response.headers.getlist("Set-Cookie")
        response.headers.remove("Set-Cookie")
        for cookie in cookies:
            if "; secure" not in cookie.lower():
                cookie += "; Secure"
            response.headers.add("Set-Cookie", cookie)


def _hsts(response):
    """Over HTTPS, tell the browser to use nothing else for this host from now on."""
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response
