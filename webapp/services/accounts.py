"""Users, workspaces and memberships."""

import re

from sqlalchemy import select

from ..errors import ValidationError
from ..extensions import db
from ..models import ROLES, Membership, User, Workspace
from ..timeutil import zone

EMAIL = re.compile(r"[^@\s]+@[^@\s]+")


def create_user(email: str, password: str, workspace_name: str = "Default",
                role: str = "admin", timezone: str = "UTC") -> tuple[User, Workspace]:
    """Create the user (or find an existing one) and make them `role` of the workspace,
    which is created when new."""
    email = (email or "").strip().lower()
    fields = {}
    if not EMAIL.fullmatch(email) or len(email) > 254:
        fields["email"] = "is not an e-mail address"
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
    user = db.session.scalar(select(User).where(User.email == email))
    if user is None and len(password or "") < 8:
        fields["password"] = "must be at least 8 characters"
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
    return db.session.scalar(select(User.id).limit(1)) is not None
