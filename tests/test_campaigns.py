"""The Campaigns pages and services.campaigns, through the test client with CSRF on,
against the real app, database and planner."""

import html
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from tests.factories import add_channel, draft, make_post, member, workspace_id
from tests.helpers import (
    count,
    error_for,
    page,
    show,
    sign_in,
    submit,
    table,
    tomorrow_at,
    upload,
)
from webapp.errors import NotFound, ValidationError
from webapp.extensions import db
from webapp.models import AuditEvent, Campaign, Post
from webapp.services import campaigns

# SQLite only: these are pages over the services, whose behaviour on both databases the
# API tests (tests/api/) and the engine's tests check.


def new(user, **fields) -> Campaign:
    return campaigns.create(workspace_id(user), user.id, {"name": "Spring", **fields})


def text_of(body: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


# Services --------------------------------------------------------------------------------

def test_pause_and_resume_change_every_schedule_and_report_counts(app, admin):
    channel = add_channel(admin)
    campaign = new(admin)
    posts = [make_post(admin, [channel.id], campaign_id=campaign.id) for _ in range(3)]
    draft(admin, campaign_id=campaign.id)
    outside = make_post(admin, [channel.id])
    outcome = campaigns.pause(campaign, admin.id)
    assert (outcome.changed, outcome.skipped) == (3, 1)
    for post in posts:
        db.session.refresh(post)
        assert [s.status for s in post.schedules] == ["paused"]
    db.session.refresh(outside)
    assert outside.schedules[0].status == "active"
    assert campaign.status == "paused"
    outcome = campaigns.resume(campaign, admin.id)
    assert (outcome.changed, outcome.skipped) == (3, 1)
    for post in posts:
        db.session.refresh(post)
        assert [s.status for s in post.schedules] == ["active"]
    assert [e.action for e in db.session.scalars(
        select(AuditEvent).where(AuditEvent.object_type == "campaign")
        .order_by(AuditEvent.id))] == ["campaign.created", "campaign.paused", "campaign.resumed"]


def test_stats_count_posts_progress_and_days(app, admin):
    campaign = new(admin, target_post_count=2, end_date="2027-01-20")
    for status in ("published", "partially_published", "failed", "draft"):
        post = draft(admin, campaign_id=campaign.id)
        post.status = status  # as the engine leaves them
    db.session.commit()
    stats = campaigns.stats(campaign, today=date(2027, 1, 15))
    assert (stats.total_posts, stats.published, stats.failed, stats.scheduled,
            stats.progress, stats.days_remaining) == (4, 2, 1, 0, 1.0, 5)
    assert campaigns.stats(campaign, today=date(2027, 2, 1)).days_remaining == 0


def test_validation_and_workspaces(app, admin):
    other = member("admin", workspace="Elsewhere")
    theirs = new(other)
    with pytest.raises(NotFound):
        campaigns.get(workspace_id(admin), theirs.id)
    with pytest.raises(ValidationError) as refused:
        new(admin, color="blue", start_date="2027-05-02", end_date="2027-05-01",
            target_post_count=-1, status="open")
    assert set(refused.value.fields) == {"color", "end_date", "target_post_count", "status"}
    db.session.rollback()
    assert count(Campaign) == 1


def test_an_archived_campaign_takes_no_new_posts(app, admin):
    campaign = new(admin, status="archived")
    with pytest.raises(ValidationError) as refused:
        draft(admin, campaign_id=campaign.id)
    assert "archived" in refused.value.fields["campaign_id"]


# Pages -----------------------------------------------------------------------------------

def test_create_view_edit_archive_and_delete_through_the_pages(app, signed_in, admin):
    form = "/campaigns/new"
    response = submit(signed_in, form, {"name": "Launch week", "color": "#0e7490",
                                        "status": "active", "tags": "launch, spring",
                                        "target_post_count": "4", "start_date": "2027-03-01",
                                        "end_date": "2027-03-07", "description": "Big one"})
    assert response.status_code == 303
    campaign = db.session.scalar(select(Campaign))
    assert (campaign.name, campaign.tags, campaign.target_post_count,
            campaign.end_date) == ("Launch week", ["launch", "spring"], 4, date(2027, 3, 7))
    body = show(signed_in, response.location)
    assert "<progress" in body and "Launch week" in body and "Big one" in body
    assert 'style="' not in body  # the CSP forbids inline styles
    assert "Launch week" in show(signed_in, "/campaigns")

    edit = f"/campaigns/{campaign.id}/edit"
    refused = submit(signed_in, edit, {"name": "Launch week", "status": "active",
                                       "start_date": "2027-03-08", "end_date": "2027-03-07"})
    assert refused.status_code == 422
    assert error_for(page(refused), "end_date") == "must be on or after the start date"
    db.session.refresh(campaign)
    assert campaign.start_date == date(2027, 3, 1)

    assert submit(signed_in, f"/campaigns/{campaign.id}/archive", form_page=edit
                  ).status_code == 303
    db.session.refresh(campaign)
    assert campaign.status == "archived"
    link = f'href="/campaigns/{campaign.id}"'
    assert link not in show(signed_in, "/campaigns")
    assert link in show(signed_in, "/campaigns?tab=archived")

    channel = add_channel(admin)
    post = make_post(admin, [channel.id])
    post.campaign_id = campaign.id
    db.session.commit()
    delete = f"/campaigns/{campaign.id}/delete"
    assert "Delete campaign" in show(signed_in, delete)
    assert submit(signed_in, delete).status_code == 303
    assert count(Campaign) == 0
    db.session.refresh(post)
    assert post.campaign_id is None


def test_a_bad_form_says_which_field_and_saves_nothing(app, signed_in):
    response = submit(signed_in, "/campaigns/new", {"name": "", "color": "nope",
                                                    "target_post_count": "0",
                                                    "start_date": "2027-02-30"})
    assert response.status_code == 422
    body = page(response)
    for field in ("name", "color", "target_post_count", "start_date"):
        assert error_for(body, field), field
    assert count(Campaign) == 0


def test_the_campaign_page_shows_progress_chart_posts_and_calendar(app, signed_in, admin):
    channel = add_channel(admin)
    campaign = new(admin, target_post_count=4)
    post = make_post(admin, [channel.id], campaign_id=campaign.id, title="Teaser")
    done = draft(admin, campaign_id=campaign.id, body="Went out")
    done.status = "published"
    db.session.commit()
    first = post.schedules[0].next_run_at.date()
    body = show(signed_in, f"/campaigns/{campaign.id}?month={first:%Y-%m}")
    assert re.search(r'<progress max="4" value="1"', body)
    assert "25%" in body
    assert "<svg class=\"status-chart\"" in body
    assert "2 post(s): 1 scheduled, 1 published." in text_of(body)
    assert body.count(f'href="/posts/{post.id}"') >= 2  # in the list and on the calendar
    later = first.replace(day=1) + timedelta(days=70)
    assert f'href="/posts/{done.id}"' in show(signed_in, f"/campaigns/{campaign.id}"
                                                           f"?month={later:%Y-%m}")


def test_pause_and_resume_buttons(app, signed_in, admin):
    channel = add_channel(admin)
    campaign = new(admin)
    post = make_post(admin, [channel.id], campaign_id=campaign.id)
    path = f"/campaigns/{campaign.id}"
    response = submit(signed_in, f"{path}/pause", form_page=path, follow_redirects=True)
    assert "1 post(s) paused" in text_of(page(response))
    db.session.refresh(post)
    assert post.schedules[0].status == "paused"
    assert "Resume all posts" in page(response)
    submit(signed_in, f"{path}/resume", form_page=path)
    db.session.refresh(post)
    assert post.schedules[0].status == "active"


def test_viewers_read_but_do_not_change(app, client, admin):
    campaign = new(admin)
    member("viewer")
    sign_in(client, "viewer.acme@example.com")
    body = show(client, f"/campaigns/{campaign.id}")
    assert "Pause all posts" not in body and "Edit" not in text_of(body).split("Progress")[0]
    show(client, "/campaigns/new", 403)
    show(client, f"/campaigns/{campaign.id}/delete", 403)
    token = re.search(r'name="csrf_token" value="([^"]+)"', show(client, "/campaigns"))
    assert token
    assert client.post(f"/campaigns/{campaign.id}/pause",
                       data={"csrf_token": token.group(1)}).status_code == 403
    db.session.refresh(campaign)
    assert campaign.status == "active"


def test_other_workspaces_campaigns_are_not_found(app, signed_in):
    theirs = new(member("admin", workspace="Elsewhere"))
    show(signed_in, f"/campaigns/{theirs.id}", 404)
    show(signed_in, f"/campaigns/{theirs.id}/edit", 404)


def test_the_composer_files_a_post_under_a_campaign_and_the_queue_filters(app, signed_in,
                                                                           admin):
    channel = add_channel(admin)
    campaign = new(admin)
    new(admin, name="Old", status="archived")
    composer = show(signed_in, "/posts/new")
    assert f'<option value="{campaign.id}">Spring</option>' in composer
    assert ">Old</option>" not in composer
    response = submit(signed_in, "/posts/new", {
        "body": "In the campaign", "channel_ids": str(channel.id), "action": "schedule",
        "at": (date.today() + timedelta(days=3)).isoformat() + "T09:00",
        "timezone": "UTC", "recurrence": "none", "priority": "5",
        "campaign_id": str(campaign.id)})
    assert response.status_code == 303, page(response)[:3000]
    post = db.session.scalar(select(Post).where(Post.body == "In the campaign"))
    assert post.campaign_id == campaign.id
    make_post(admin, [channel.id], body="Outside", schedule=None, status="draft")
    other = make_post(admin, [channel.id], title="Not in it")
    queue = show(signed_in, f"/queue?campaign={campaign.id}")
    assert "In the campaign" in queue and other.title not in queue
    assert "Not in it" in show(signed_in, "/queue")
    show(signed_in, "/queue?campaign=987654", 400)


def test_the_csv_import_files_rows_by_campaign_name_and_refuses_an_archived_one(
        app, signed_in, admin):
    add_channel(admin)
    campaign = new(admin, name="Launch")
    new(admin, name="Old", status="archived")
    header = ("body", "at", "timezone", "channels", "campaign")
    refused = upload(signed_in, table([["One", tomorrow_at(9), "UTC", "Hook", "launch"],
                                       ["Two", tomorrow_at(10), "UTC", "Hook", "Old"]],
                                      header=header))
    assert "campaign “Old” is archived; choose another" in text_of(page(refused))
    assert count(Post) == 0
    accepted = upload(signed_in, table([["One", tomorrow_at(9), "UTC", "Hook", "launch"]],
                                       header=header))
    assert accepted.status_code == 303, text_of(page(accepted))[:2000]
    assert db.session.scalar(select(Post.campaign_id)) == campaign.id
