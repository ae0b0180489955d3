"""A workspace's team: its members and roles, and invitations by one-time link.

Every change is audited. A workspace always keeps an admin: the last one can be neither
removed nor demoted (Conflict, reason LAST_ADMIN)."""

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from ..engine.notifications import mail_invitation
from ..errors import Conflict, Forbidden, NotFound, ValidationError
from ..extensions import db
from ..models import ROLES, ApiToken, Invitation, Membership, User
from ..models.audit import record
from ..timeutil import now_utc
from .accounts import EMAIL, MIN_PASSWORD, normalize_email
from .validation import in_workspace

# Reasons of the refusals, for callers that act on them.
LAST_ADMIN = "last_admin"
ALREADY_MEMBER = "already_member"
OTHER_ACCOUNT = "other_account"
HAS_ACCOUNT = "has_account"
EMAIL_MAX = 254


def members_query(workspace_id: int):
    """The workspace's memberships, first joined first (a select(), for paging)."""
    return (select(Membership).join(User).where(Membership.workspace_id == workspace_id)
            .order_by(Membership.created_at, Membership.id))


def members(workspace_id: int) -> tuple[list[Membership], list[Invitation]]:
    """The members, and the invitations still open (soonest to expire first)."""
    people = db.session.scalars(members_query(workspace_id)).all()
    pending = db.session.scalars(
        select(Invitation).where(Invitation.workspace_id == workspace_id,
                                 Invitation.accepted_at.is_(None),
                                 Invitation.expires_at > now_utc())
        .order_by(Invitation.expires_at, Invitation.id)).all()
    return people, pending


def _role(role: object, errors: dict) -> str:
    if not isinstance(role, str) or role not in ROLES:
        errors["role"] = f"must be one of {', '.join(ROLES)}"
        return ""
    return role


def _raise(errors: dict) -> None:
    if errors:
        raise ValidationError("; ".join(f"{k}: {v}" for k, v in errors.items()), errors)


def invite(workspace_id: int, by_user_id: int, email: object,
           role: object) -> tuple[Invitation, str]:
    """A new invitation and its plain token (shown once, never stored). An earlier open
    invitation of the same address is revoked: only the newest link works."""
    errors = {}
    address = normalize_email(email)
    if not isinstance(email, str) or len(address) > EMAIL_MAX or not EMAIL.fullmatch(address):
        errors["email"] = "is not an e-mail address"
    role = _role(role, errors)
    _raise(errors)
    if db.session.scalar(select(Membership.id).join(User).where(
            Membership.workspace_id == workspace_id, User.email == address)):
        raise ValidationError.field("email", "is already a member of this workspace")
    for earlier in db.session.scalars(select(Invitation).where(
            Invitation.workspace_id == workspace_id, Invitation.email == address,
            Invitation.accepted_at.is_(None))):
        _revoke(earlier, by_user_id)
    row, plain = Invitation.issue(workspace_id, address, role, by_user_id)
    db.session.add(row)
    db.session.flush()
    record(workspace_id, "member.invited", row, user_id=by_user_id,
           after={"email": address, "role": role})
    db.session.commit()
    mail_invitation(row, plain)
    return row, plain


def invitation_for(token: object) -> Invitation:
    """The open invitation with this token; NotFound, saying why, for an unknown,
    revoked, used or expired one."""
    row = None
    if isinstance(token, str) and 0 < len(token) <= 100:
        row = db.session.scalar(select(Invitation).where(
            Invitation.token_hash == Invitation.hash(token)))
    if row is None:
        raise NotFound("This invitation link is not valid: it may have been revoked or "
                       "mistyped. Ask an admin of the workspace for a new one.")
    if row.accepted_at is not None:
        raise NotFound("This invitation link was used already: each link works once. "
                       "Ask an admin of the workspace for a new one if you need it.")
    if not row.is_open(now_utc()):
        raise NotFound("This invitation link has expired (links last 7 days). Ask an "
                       "admin of the workspace for a new one.")
    return row


def accept(token: object, user: User) -> Membership:
    """Make `user` a member as the invitation says, once; refused for someone signed in
    with another address (Forbidden) or already a member (Conflict)."""
    invitation = invitation_for(token)
    if normalize_email(user.email) != invitation.email:
        raise Forbidden(f"This invitation is for {invitation.email}, and you are signed in "
                        f"as {user.email}. Sign out and open the link again.",
                        reason=OTHER_ACCOUNT)
    if db.session.scalar(select(Membership.id).where(
            Membership.workspace_id == invitation.workspace_id,
            Membership.user_id == user.id)):
        raise Conflict(f"You are already a member of {invitation.workspace.name}.",
                       reason=ALREADY_MEMBER)
    # Conditional, so that two tabs accepting at once use the link once.
    used = db.session.execute(
        update(Invitation).where(Invitation.id == invitation.id,
                                 Invitation.accepted_at.is_(None))
        .values(accepted_at=now_utc()).execution_options(synchronize_session=False))
    if used.rowcount != 1:
        db.session.rollback()
        raise NotFound("This invitation link was used already: each link works once.")
    membership = Membership(user_id=user.id, workspace_id=invitation.workspace_id,
                            role=invitation.role)
    db.session.add(membership)
    try:
        db.session.flush()
    except IntegrityError:  # joined in a parallel request
        db.session.rollback()
        raise Conflict(f"You are already a member of {invitation.workspace.name}.",
                       reason=ALREADY_MEMBER) from None
    record(invitation.workspace_id, "member.joined", membership, user_id=user.id,
           after={"email": invitation.email, "role": invitation.role,
                  "invitation_id": invitation.id})
    db.session.commit()
    return membership


def has_account(email: str) -> bool:
    """Whether somebody has signed up with this address (they sign in to accept)."""
    return db.session.scalar(select(User.id).where(User.email == email)) is not None


def new_account_problems(password: object, confirm: object) -> dict[str, str]:
    """What is wrong with the password of an account made from an invitation (the same
    rule as sign-up)."""
    errors = {}
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        errors["password"] = f"must be at least {MIN_PASSWORD} characters"
    elif password != confirm:
        errors["confirm"] = "Passwords differ"
    return errors


def accept_as_new_user(token: object, password: object, confirm: object) -> Membership:
    """Make the account of the invited address (refused when it has one: they sign in
    instead) and accept the invitation with it, in one transaction."""
    invitation = invitation_for(token)
    _raise(new_account_problems(password, confirm))
    if has_account(invitation.email):
        raise Conflict(f"{invitation.email} has an account already: sign in to accept.",
                       reason=HAS_ACCOUNT)
    user = User(email=invitation.email, timezone="UTC")
    user.set_password(password)
    db.session.add(user)
    try:
        db.session.flush()
    except IntegrityError:  # made in a parallel request
        db.session.rollback()
        raise Conflict(f"{invitation.email} has an account already: sign in to accept.",
                       reason=HAS_ACCOUNT) from None
    return accept(token, user)


def member(workspace_id: int, membership_id: object) -> Membership:
    """A membership of this workspace (NotFound for another workspace's)."""
    return in_workspace(Membership, workspace_id, membership_id, "member")


def _keep_an_admin(membership: Membership, what: str) -> None:
    """Conflict when `membership` is its workspace's only admin. The admin rows are locked
    (PostgreSQL) so that two admins demoting each other at once cannot leave none."""
    if membership.role != "admin":
        return
    admins = db.session.scalars(select(Membership.id).where(
        Membership.workspace_id == membership.workspace_id, Membership.role == "admin")
        .with_for_update()).all()
    if admins == [membership.id]:
        raise Conflict(f"The workspace's last admin cannot be {what}: make another member "
                       "admin first.", reason=LAST_ADMIN)


def change_role(workspace_id: int, membership_id: object, role: object,
                by_user_id: int) -> Membership:
    """Give a member another role (never the last admin a lower one)."""
    errors = {}
    role = _role(role, errors)
    _raise(errors)
    membership = member(workspace_id, membership_id)
    before = membership.role
    if role == before:
        return membership
    if role != "admin":
        _keep_an_admin(membership, "demoted")
    membership.role = role
    record(workspace_id, "member.role_changed", membership, user_id=by_user_id,
           before={"role": before}, after={"role": role, "email": membership.user.email})
    db.session.commit()
    return membership


def remove(workspace_id: int, membership_id: object, by_user_id: int) -> Membership:
    """Take a member out of the workspace (never the last admin), with their API tokens
    for it, which would otherwise work again if they were invited back."""
    membership = member(workspace_id, membership_id)
    _keep_an_admin(membership, "removed")
    record(workspace_id, "member.removed", membership, user_id=by_user_id,
           before={"email": membership.user.email, "role": membership.role})
    db.session.execute(delete(ApiToken).where(ApiToken.user_id == membership.user_id,
                                              ApiToken.workspace_id == workspace_id))
    db.session.delete(membership)
    db.session.commit()
    return membership


def _revoke(invitation: Invitation, by_user_id: int) -> None:
    record(invitation.workspace_id, "invitation.revoked", invitation, user_id=by_user_id,
           before={"email": invitation.email, "role": invitation.role})
    db.session.delete(invitation)


def revoke_invitation(workspace_id: int, invitation_id: object, by_user_id: int) -> Invitation:
    """Delete an open invitation: its link opens nothing any more."""
    invitation = in_workspace(Invitation, workspace_id, invitation_id, "invitation")
    if invitation.accepted_at is not None:
        raise NotFound(f"invitation {invitation_id} not found (it was accepted)")
    _revoke(invitation, by_user_id)
    db.session.commit()
    return invitation
