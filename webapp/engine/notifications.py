"""Telling people what could not be published: in-app, and by e-mail when SMTP_URL is set."""

import logging
import smtplib
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app
from sqlalchemy import select, update

from .. import crypto
from ..extensions import db
from ..models import Invitation, Membership, Notification, User
from ..timeutil import now_utc

log = logging.getLogger(__name__)


TITLE_MAX = 200  # Notification.title's column
# The page an e-mailed notice links to, by its kind.
WHERE_TO_LOOK = {"delivery_failed": "/queue?status=failed", "approval_reminder": "/approvals",
                 "not_approved": "/posts?status=draft"}


def one_line(text: str, limit: int) -> str:
    """`text` on one line (titles become e-mail subjects, where line breaks are not
    allowed), cut to `limit` characters with an ellipsis."""
    flat = " ".join((text or "").split())
    return flat if len(flat) <= limit else flat[:limit - 1].rstrip() + "…"


def notify_failure(delivery, unknown: bool = False) -> Notification:
    """Record that a delivery failed for good (or, `unknown`, that nobody can tell whether
    it went out); the caller commits, then calls send_later()."""
    post = delivery.post
    channel = one_line(delivery.channel.name, 60)
    removal = delivery.action == "unpublish"
    if unknown:
        prefix = (f"May have been removed from {channel}: " if removal
                  else f"May have been published to {channel}: ")
    else:
        prefix = f"Not removed from {channel}: " if removal else f"Not published to {channel}: "
    label = one_line(post.title or post.body, min(60 if not post.title else TITLE_MAX,
                                                  TITLE_MAX - len(prefix)))
    what = "The removal" if removal else "Delivery"
    if unknown:
        body = (f"{what} {delivery.id} of post {post.id} to {delivery.channel.name} got no "
                f"answer, and the platform cannot tell a copy from a new post: it may have "
                f"been {'removed' if removal else 'published'}: check, then retry or mark it "
                f"{'done' if removal else 'published'} ({delivery.last_error})")
    else:
        body = (f"{what} {delivery.id} of post {post.id} to {delivery.channel.name} failed "
                f"after {delivery.attempts} attempt(s): {delivery.last_error}")
    note = Notification(workspace_id=delivery.workspace_id, kind="delivery_failed",
                        delivery_id=delivery.id, title=prefix + label, body=body)
    db.session.add(note)
    return note


def email_enabled() -> bool:
    """Whether any e-mail is sent: only with SMTP_URL set. The settings page and /healthz
    say so when it is not, so nobody waits for failure notices that never come."""
    return bool(current_app.config["SMTP_URL"])


def resolve_for(delivery_ids) -> None:
    """Mark the failure notices about these deliveries read: they were published after all
    (a manual or automatic retry), so the notice no longer asks for anything. The caller
    commits, in the same transaction that records the publication."""
    ids = list(delivery_ids)
    if not ids:
        return
    db.session.execute(
        update(Notification)
        .where(Notification.delivery_id.in_(ids), Notification.kind == "delivery_failed",
               Notification.read_at.is_(None))
        .values(read_at=now_utc()).execution_options(synchronize_session=False))


def send_later(notification_id: int) -> None:
    """Queue the e-mail for a notification (SMTP stays off the publishing path)."""
    if not email_enabled():
        return
    from .jobs import SEND_EMAIL, queue

    queue().enqueue(SEND_EMAIL, notification_id,
                    job_id=f"notification-{notification_id}", result_ttl=0)


def recipients(workspace_id: int) -> list[str]:
    """Where a workspace's failure notices are e-mailed: every member who can act on them
    (not viewers), at their notification address or else their sign-in address."""
    rows = db.session.execute(
        select(User.notify_email, User.email).join(Membership)
        .where(Membership.workspace_id == workspace_id, Membership.role != "viewer"))
    return sorted({notify or email for notify, email in rows})


def send_email(notification_id: int) -> None:
    """RQ job: e-mail a notification to the workspace's editors, approvers and admins."""
    note = db.session.get(Notification, notification_id)
    if note is None or note.emailed_at is not None:
        return
    to = recipients(note.workspace_id)
    if not to:
        return
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = ", ".join(to)
    message["Subject"] = one_line(f"[Herald] {note.title}", 250)
    message.set_content(f"{note.body}\n\n{current_app.config['HERALD_BASE_URL']}"
                        f"{WHERE_TO_LOOK.get(note.kind, '/notifications')}\n")
    deliver_mail(current_app.config["SMTP_URL"], message)
    note.emailed_at = now_utc()
    db.session.commit()


def mail_invitation(invitation: Invitation, token: str) -> None:
    """Queue the e-mail carrying an invitation's link, when e-mail is on. The job's
    arguments sit in Redis, so the token travels encrypted with the app's key; the job
    checks it against the row's hash, so it sends nothing for a revoked or used link."""
    if not email_enabled():
        return
    from .jobs import SEND_INVITATION, queue

    queue().enqueue(SEND_INVITATION, invitation.id, crypto.encrypt({"token": token}),
                    job_id=f"invitation-{invitation.id}", result_ttl=0)


def send_invitation(invitation_id: int, sealed_token: str) -> None:
    """RQ job: e-mail the invited person their link, if it still opens something."""
    invitation = db.session.get(Invitation, invitation_id)
    token = crypto.decrypt(sealed_token).get("token")
    if (invitation is None or not invitation.is_open(now_utc()) or not token
            or Invitation.hash(token) != invitation.token_hash):
        return  # revoked, used, expired, or sealed under another SECRET_KEY
    base = current_app.config["HERALD_BASE_URL"].rstrip("/")
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = invitation.email
    message["Subject"] = one_line(f"[Herald] You are invited to {invitation.workspace.name}",
                                  250)
    message.set_content(
        f"You are invited to join {invitation.workspace.name} on Herald as "
        f"{invitation.role}.\n\nOpen this link to accept (it works once, until "
        f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC):\n{base}/invite/{token}\n")
    deliver_mail(current_app.config["SMTP_URL"], message)


def deliver_mail(smtp_url: str, message: EmailMessage) -> None:
    """Send through SMTP_URL: smtp://[user:password@]host[:port][?starttls=1] or smtps://."""
    url = urlsplit(smtp_url)
    options = parse_qs(url.query)
    if url.scheme == "smtps":
        client = smtplib.SMTP_SSL(url.hostname, url.port or 465, timeout=30)
    else:
        client = smtplib.SMTP(url.hostname, url.port or 25, timeout=30)
    with client:
        if options.get("starttls") == ["1"]:
            client.starttls()
        if url.username:
            client.login(unquote(url.username), unquote(url.password or ""))
        client.send_message(message)
