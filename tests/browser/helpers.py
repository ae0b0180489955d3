"""What the browser tests do besides driving the page: screenshots, signing in through the
form, and rows made through the services, after which the test's session lets go of the
database (SQLite transactions take the write lock, which the served app needs)."""

from pathlib import Path

from sqlalchemy import select

from tests.factories import workspace_id
from tests.helpers import PASSWORD, tomorrow_at
from tests.platforms import Reply
from webapp.extensions import db
from webapp.models import Delivery
from webapp.services import channels as channel_service
from webapp.services import posts as post_service

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


def screenshot(page, name: str) -> Path:
    """Keep a full-page screenshot in test-artifacts/ (look at them: they show the pages)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def shoot(page, name: str) -> None:
    """Screenshots of the page as it is, at desktop and at phone width."""
    screenshot(page, f"{name}-desktop")
    page.set_viewport_size(PHONE)
    screenshot(page, f"{name}-phone")
    page.set_viewport_size(DESKTOP)


def sign_in(page, email: str = "admin@example.com", password: str = PASSWORD) -> None:
    """Sign in through the form and wait for the dashboard."""
    page.goto("/login")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")


def add_channel(user, **data) -> int:
    """A channel made through the services (validated, secrets encrypted); its id."""
    channel_id = channel_service.create(workspace_id(user), user.id, data).id
    db.session.rollback()
    return channel_id


def schedule(admin, channel_id: int, body: str, recurrence: str | None = "daily") -> list[int]:
    """A post through the services; the ids of its deliveries, soonest first."""
    post = post_service.create(workspace_id(admin), admin.id, {
        "body": body, "channel_ids": [channel_id],
        "schedule": {"at": tomorrow_at(9), "timezone": "Europe/Berlin",
                     "recurrence": recurrence} if recurrence else None,
        "status": "scheduled" if recurrence else "draft"})
    ids = list(db.session.scalars(select(Delivery.id).where(Delivery.post_id == post.id)
                                  .order_by(Delivery.due_at)))
    db.session.rollback()
    return ids


def fail_once(admin, hook, webhook, runner, body: str) -> int:
    """A delivery that the platform refused (HTTP 400): failed, with a notification."""
    webhook.script = [Reply(400, {"error": "text rejected by the platform"})]
    post = post_service.create(workspace_id(admin), admin.id, {
        "body": body, "channel_ids": [hook], "status": "draft"})
    post_service.publish_now(post, admin.id)
    (delivery_id,) = db.session.scalars(select(Delivery.id).where(Delivery.post_id == post.id))
    (delivery,) = runner.until_settled([delivery_id])
    assert delivery.status == "failed"
    db.session.rollback()
    return delivery_id


def calendar_post(api, channel_id: int, at: str, recurrence=None,
                  title="Calendar post") -> dict:
    """A post scheduled through the API at a Berlin wall time (the calendar tests' zone)."""
    response = api.post("/posts", json={
        "title": title, "body": f"{title}: hello from the calendar",
        "channel_ids": [channel_id],
        "schedule": {"at": at, "timezone": "Europe/Berlin", "recurrence": recurrence}})
    assert response.status_code == 201, response.json
    return response.json
