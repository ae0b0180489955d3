"""People, workspaces, their roles and API tokens."""

import hashlib
import secrets
from datetime import datetime, timedelta

from flask import current_app
from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

from ..extensions import db
from .types import UTCDateTime, utcnow

ROLES = ("viewer", "editor", "approver", "admin")


class User(UserMixin, db.Model):
    id = db.Column(db.Integer, primary_key=True)
    email = db.Column(db.String(254), nullable=False, unique=True)
    password_hash = db.Column(db.String(255), nullable=False)
    timezone = db.Column(db.String(64), nullable=False, default="UTC")
    notify_email = db.Column(db.String(254))
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    memberships = db.relationship("Membership", back_populates="user", lazy="selectin")

    # The sign-in this object was loaded through (webapp.sessions sets both): Flask-Login
    # stores get_id() in the session and the remember cookie, so a cookie names its
    # sign-in and dies with it.
    session_key = None  # str
    session_id = None  # int

    def get_id(self) -> str:
        return f"{self.id}:{self.session_key or ''}"

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(
            password, method=current_app.config["HERALD_PASSWORD_HASH"])

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)


class Workspace(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(120), nullable=False, unique=True)
    # "required": what an editor schedules waits for an approver (models.approvals).
    approval = db.Column(db.String(16), nullable=False, default="none", server_default="none")
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (
        db.CheckConstraint("approval IN ('none', 'required')", name="approval"),
    )


class Membership(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.ForeignKey("user.id", ondelete="CASCADE"), nullable=False)
    workspace_id = db.Column(db.ForeignKey("workspace.id", ondelete="CASCADE"), nullable=False)
    role = db.Column(db.String(16), nullable=False, default="editor")
    # When they joined (rows from before it was kept: their account's creation time).
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    user = db.relationship("User", back_populates="memberships")
    workspace = db.relationship("Workspace", lazy="joined")

    __table_args__ = (
        db.UniqueConstraint("user_id", "workspace_id", name="uq_membership_user_workspace"),
        db.CheckConstraint(f"role IN {ROLES!r}", name="role"),
    )

    def can(self, needed: str) -> bool:
        """True when this role is at least `needed` in viewer < editor < approver < admin."""
        return ROLES.index(self.role) >= ROLES.index(needed)


class Invitation(db.Model):
    """A one-time link that makes whoever opens it, signed in with `email`, a member with
    `role`. Accepting it sets accepted_at; revoking it deletes the row."""

    LIFETIME = timedelta(days=7)

    id = db.Column(db.Integer, primary_key=True)
    workspace_id = db.Column(db.ForeignKey("workspace.id", ondelete="CASCADE"), nullable=False,
                             index=True)
    email = db.Column(db.String(254), nullable=False)
    role = db.Column(db.String(16), nullable=False)
    # Only a SHA-256 of the link's token is kept: the table alone lets nobody in.
    token_hash = db.Column(db.String(64), nullable=False, unique=True)
    invited_by = db.Column(db.ForeignKey("user.id", ondelete="SET NULL"))
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    expires_at = db.Column(UTCDateTime, nullable=False)
    accepted_at = db.Column(UTCDateTime)

    workspace = db.relationship("Workspace", lazy="joined")

    __table_args__ = (db.CheckConstraint(f"role IN {ROLES!r}", name="role"),)

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def issue(cls, workspace_id: int, email: str, role: str,
              invited_by: int) -> tuple["Invitation", str]:
        """A new invitation valid for LIFETIME and its plain token (which is not stored)."""
        plain = secrets.token_urlsafe(32)  # 43 characters: the invitation route's length
        row = cls(workspace_id=workspace_id, email=email, role=role, invited_by=invited_by,
                  token_hash=cls.hash(plain), expires_at=utcnow() + cls.LIFETIME)
        return row, plain

    def is_open(self, now: datetime) -> bool:
        """Not yet accepted and not expired."""
        return self.accepted_at is None and now < self.expires_at


class UserSession(db.Model):
    """One sign-in (a browser). Deleting the row signs that browser out, whatever cookies
    it kept: sign-out, "sign out everywhere" and a password change do."""

    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.ForeignKey("user.id", ondelete="CASCADE"), nullable=False,
                        index=True)
    # A SHA-256 of the key the cookies carry: the table alone opens no session.
    key_hash = db.Column(db.String(64), nullable=False, unique=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)

    user = db.relationship("User", lazy="joined")

    @staticmethod
    def hash(key: str) -> str:
        return hashlib.sha256(key.encode()).hexdigest()


# What a token opens: the JSON API, or only the workspace's calendar feed (a feed token sits
# in a calendar app's URL, so it must not be able to change anything).
TOKEN_KINDS = ("api", "feed")


class ApiToken(db.Model):
    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.ForeignKey("user.id", ondelete="CASCADE"), nullable=False)
    workspace_id = db.Column(db.ForeignKey("workspace.id", ondelete="CASCADE"), nullable=False)
    name = db.Column(db.String(120), nullable=False, default="")
    kind = db.Column(db.String(8), nullable=False, default="api", server_default="api")
    # Only a SHA-256 of the token is kept; the token itself is shown once.
    token_hash = db.Column(db.String(64), nullable=False, unique=True)
    created_at = db.Column(UTCDateTime, nullable=False, default=utcnow)
    last_used_at = db.Column(UTCDateTime)

    user = db.relationship("User", lazy="joined")

    @staticmethod
    def hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def issue(cls, user, workspace, name: str = "", kind: str = "api") -> tuple["ApiToken", str]:
        """A new token row and the plain token (which is not stored)."""
        plain = "hrld_" + secrets.token_urlsafe(32)
        row = cls(user=user, workspace_id=workspace.id, name=name, kind=kind,
                  token_hash=cls.hash(plain))
        return row, plain
