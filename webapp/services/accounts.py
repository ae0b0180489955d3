"""Users, workspaces and memberships."""

import re
from datetime import timedelta
from functools import cache

from flask import current_app
from sqlalchemy import or_, select, update
from werkzeug.security import check_password_hash, generate_password_hash

from ..engine.notifications import email_enabled
from ..errors import NotFound, ValidationError
from ..extensions import db
from ..models import ROLES, TOKEN_KINDS, ApiToken, Membership, User, Workspace
from ..models.audit import record
from ..timeutil import now_utc, zone
from .validation import unstorable

EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
MIN_PASSWORD = 8


def normalize_email(email: object) -> str:
    """The form every e-mail is stored, looked up and throttled in."""
    return email.strip().lower() if isinstance(email, str) else ""


def check_new_account(email: str, password: str | None, workspace_name: object,
                      timezone: str, role: str = "admin") -> dict[str, str]:
    """Every problem with a new account's fields at once ({field: message}); `password`
    None means the user exists already and keeps theirs."""
    fields = {}
    if not EMAIL.fullmatch(email) or len(email) > 254:
        fields["email"] = "is not an e-mail address"
    if password is not None and len(password) < MIN_PASSWORD:
        fields["password"] = f"must be at least {MIN_PASSWORD} characters"
    if role not in ROLES:
        fields["role"] = f"must be one of {', '.join(ROLES)}"
    if not isinstance(workspace_name, str) or not workspace_name.strip():
        fields["workspace"] = "is required"
    elif len(workspace_name.strip()) > 120:
        fields["workspace"] = "is longer than 120 characters"
    try:
        zone(timezone)
    except ValidationError as exc:
        fields.update(exc.fields)
    return fields


@cache
def _dummy_hash(method: str) -> str:
    """A hash made like every user's (same method, same cost) that no password matches."""
    return generate_password_hash("not anybody's password", method=method)


def authenticate(email: object, password: str) -> User | None:
    """The user with this e-mail and password, else None. An unknown e-mail costs the same
    hash check as a known one, so the answer's timing does not tell which e-mails exist."""
    user = db.session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        check_password_hash(_dummy_hash(current_app.config["HERALD_PASSWORD_HASH"]), password)
        return None
    return user if user.check_password(password) else None


def password_change_problems(user: User, current: str, new: str) -> dict[str, str]:
    """Everything wrong with changing `user`'s password from `current` to `new`."""
    fields = {}
    if not user.check_password(current or ""):
        fields["current"] = "is not your current password"
    if len(new or "") < MIN_PASSWORD:
        fields["password"] = f"must be at least {MIN_PASSWORD} characters"
    elif new == current:
        fields["password"] = "is the same as the current one"
    return fields


def change_password(user: User, current: str, new: str) -> None:
    """Set a new password after checking the current one (ValidationError otherwise).
    The caller ends the user's other sign-ins."""
    fields = password_change_problems(user, current, new)
    if fields:
        raise ValidationError("; ".join(f"{k}: {v}" for k, v in fields.items()), fields)
    user.set_password(new)
    db.session.commit()


def update_settings(user: User, timezone: str, notify_email: str | None) -> None:
    """A member's own settings: their zone, and where their notices go (only when e-mail
    is configured; otherwise the address is ignored, not checked). Every problem at once,
    as field errors; nothing changes unless there is none."""
    problems = {}
    try:
        zone(timezone)
    except ValidationError as exc:
        problems["timezone"] = exc.message
    email = (notify_email or "").strip().lower() if email_enabled() else ""
    if email and (len(email) > 254 or not EMAIL.fullmatch(email)):
        problems["notify_email"] = "is not an e-mail address"
    if problems:
        raise ValidationError("check the settings", problems)
    before = {"timezone": user.timezone, "notify_email": user.notify_email}
    user.timezone = timezone
    if email_enabled():
        user.notify_email = email or None
    after = {"timezone": user.timezone, "notify_email": user.notify_email}
    if after != before:
        # The settings hold in every workspace of theirs, so each one's log shows them.
        for membership in user.memberships:
            record(membership.workspace_id, "user.settings_changed", user, user_id=user.id,
                   before=before, after=after)
    db.session.commit()


def create_user(email: str, password: str, workspace_name: str = "Default",
                role: str = "admin", timezone: str = "UTC") -> tuple[User, Workspace]:
    """Create the user (or find an existing one) and make them `role` of the workspace,
    which is created when new."""
    email = normalize_email(email)
    user = db.session.scalar(select(User).where(User.email == email))
    fields = check_new_account(email, None if user else (password or ""), workspace_name,
                               timezone, role)
    if fields:
        raise ValidationError(next(iter(fields.items()))[0] + ": " + next(iter(fields.values())),
                              fields)
    if user is None:
        user = User(email=email, timezone=timezone)
        user.set_password(password)
        db.session.add(user)
    workspace = db.session.scalar(select(Workspace).where(Workspace.name == workspace_name.strip()))
    if workspace is None:
        workspace = Workspace(name=workspace_name.strip())
        db.session.add(workspace)
    db.session.flush()
    membership = db.session.scalar(select(Membership).where(
        Membership.user_id == user.id, Membership.workspace_id == workspace.id))
    if membership is None:
        db.session.add(Membership(user=user, workspace=workspace, role=role))
    else:
        membership.role = role
    db.session.commit()
    return user, workspace


def has_users() -> bool:
    """Whether anybody has an account yet (sign-up is open only for the first)."""
    return db.session.scalar(select(User.id).limit(1)) is not None


def token_query(user: User, workspace: Workspace):
    """The query of the user's tokens for this workspace (API and feed), newest first."""
    return (select(ApiToken).where(ApiToken.user_id == user.id,
                                   ApiToken.workspace_id == workspace.id)
            .order_by(ApiToken.created_at.desc(), ApiToken.id.desc()))


def tokens_of(user: User, workspace: Workspace) -> list[ApiToken]:
    """The user's tokens for this workspace, newest first."""
    return db.session.scalars(token_query(user, workspace)).all()


TOKEN_NAME_MAX = 120


def token_problems(name: object, kind: object) -> dict[str, str]:
    """Everything wrong with a new token's name and kind ({field: message})."""
    fields = {}
    name = name.strip() if isinstance(name, str) else ""
    if not name:
        fields["name"] = "is required"
    elif len(name) > TOKEN_NAME_MAX:
        fields["name"] = f"is longer than {TOKEN_NAME_MAX} characters"
    elif unstorable(name):
        fields["name"] = unstorable(name)
    if kind not in TOKEN_KINDS:
        fields["kind"] = f"must be one of {', '.join(TOKEN_KINDS)}"
    return fields


def create_token(user: User, workspace: Workspace, name: object,
                 kind: object = "api") -> tuple[ApiToken, str]:
    """A new token named `name` that opens the API (`kind` "api") or only the calendar
    feed ("feed"); the plain token is returned once and never stored."""
    fields = token_problems(name, kind)
    if fields:
        raise ValidationError("; ".join(f"{k}: {v}" for k, v in fields.items()), fields)
    name = name.strip()
    row, plain = ApiToken.issue(user, workspace, name, kind)
    db.session.add(row)
    db.session.flush()
    record(workspace.id, "token.created", row, user_id=user.id,
           after={"name": name, "kind": kind})
    db.session.commit()
    return row, plain


def revoke_token(user: User, workspace: Workspace, token_id: int,
                 kind: str | None = None) -> ApiToken:
    """Delete one of the user's tokens in this workspace, of `kind` when given (NotFound for
    anyone else's, or one of the other kind)."""
    query = select(ApiToken).where(
        ApiToken.id == token_id, ApiToken.user_id == user.id,
        ApiToken.workspace_id == workspace.id)
    if kind is not None:
        query = query.where(ApiToken.kind == kind)
    row = db.session.scalar(query)
    if row is None:
        raise NotFound("no such token (it may have been revoked already)")
    record(workspace.id, "token.revoked", row, user_id=user.id, before={"name": row.name})
    db.session.delete(row)
    db.session.commit()
    return row


# last_used_at is written at most this often per token: a write on every call would take
# SQLite's write lock on every read-only request, and a minute is precise enough to see
# whether a token is still in use.
LAST_USED_PRECISION = timedelta(minutes=1)


def token_holder(token: str) -> tuple[ApiToken, Membership] | None:
    """The API token given in plain text and its holder's membership of the token's
    workspace; None for an unknown or revoked token, or a holder no longer a member."""
    row = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == ApiToken.hash(token)))
    membership = row and db.session.scalar(select(Membership).where(
        Membership.user_id == row.user_id, Membership.workspace_id == row.workspace_id))
    return (row, membership) if row is not None and membership is not None else None


def note_token_use(row: ApiToken) -> None:
    """Record that the token was used, unless that was recorded less than a minute ago.
    The conditional UPDATE keeps it to one write when parallel requests all see it stale."""
    now = now_utc()
    if row.last_used_at is not None and now - row.last_used_at < LAST_USED_PRECISION:
        return
    db.session.rollback()  # a GET's transaction only reads (database.reading)
    db.session.execute(update(ApiToken).where(
        ApiToken.id == row.id,
        or_(ApiToken.last_used_at.is_(None), ApiToken.last_used_at <= now - LAST_USED_PRECISION))
        .values(last_used_at=now).execution_options(synchronize_session=False))
    db.session.commit()
