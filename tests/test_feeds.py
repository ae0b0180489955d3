"""The pages of the calendar feed and the posts export: the settings page's "Calendar feeds"
section (its address shown once, revoking it) and the Export buttons."""

import csv
import html
import io
import re
from urllib.parse import urlsplit

from icalendar import Calendar
from sqlalchemy import select

from tests.factories import add_channel, draft, make_post, member
from tests.helpers import page, show, sign_in, sign_out, submit
from webapp.extensions import db
from webapp.models import ApiToken, AuditEvent
from webapp.services import campaigns

WEBCAL = re.compile(r'id="new-feed-webcal"[^>]*value="([^"]+)"')
HTTPS = re.compile(r'id="new-feed-https"[^>]*value="([^"]+)"')


def create_feed(client, name="phone", **fields):
    response = submit(client, "/settings/feeds", {"name": name, "campaign_id": "0", **fields},
                      form_page="/settings")
    assert response.status_code == 200, page(response)
    body = page(response)
    return html.unescape(WEBCAL.search(body).group(1)), html.unescape(HTTPS.search(body).group(1))


def test_a_viewer_makes_a_feed_shown_once_and_revokes_it(app, client):
    editor = member("editor")
    make_post(editor, [add_channel(editor).id], title="Weekly news")
    member("viewer")
    sign_in(client, "viewer.acme@example.com")
    listing = show(client, "/settings")
    assert 'id="feeds"' in listing and "No calendar feeds yet" in listing
    assert 'id="tokens"' not in listing  # API tokens stay an admin's

    webcal, https = create_feed(client, "my phone")
    assert webcal.startswith("webcal://127.0.0.1:5000/api/v1/calendar.ics?token=hrld_")
    assert https == "http" + webcal[len("webcal"):]
    token = re.search(r"token=([^&]+)", https).group(1)
    row = db.session.scalar(select(ApiToken).where(ApiToken.name == "my phone"))
    assert row.kind == "feed" and row.token_hash == ApiToken.hash(token)

    # The address opens the feed (one event per occurrence and channel).
    parts = urlsplit(https)
    feed = client.get(f"{parts.path}?{parts.query}")
    assert feed.status_code == 200
    assert "Weekly news" in str(Calendar.from_ical(feed.data).walk("VEVENT")[0]["SUMMARY"])

    # Never shown again: the page lists its name only.
    listing = show(client, "/settings")
    assert "my phone" in listing and token not in listing and "new-feed-webcal" not in listing
    assert token not in str([e.after for e in db.session.scalars(select(AuditEvent))])

    row_id = row.id
    response = submit(client, f"/settings/feeds/{row_id}/revoke", form_page="/settings")
    assert response.status_code == 303
    assert "revoked" in show(client, "/settings")
    db.session.expire_all()
    assert db.session.get(ApiToken, row_id) is None
    assert client.get(f"{parts.path}?{parts.query}").status_code == 401


def test_a_campaigns_feed_and_bad_names(app, client):
    admin = member("admin")
    campaign = campaigns.create(admin.memberships[0].workspace_id, admin.id, {"name": "Launch"})
    sign_in(client, "admin.acme@example.com")
    assert f'value="{campaign.id}"' in show(client, "/settings")
    webcal, https = create_feed(client, campaign_id=str(campaign.id))
    assert https.endswith(f"&campaign_id={campaign.id}")
    before = db.session.query(ApiToken).count()
    refused = submit(client, "/settings/feeds", {"name": "", "campaign_id": "0"},
                     form_page="/settings")
    assert refused.status_code == 422 and "is required" in page(refused)
    refused = submit(client, "/settings/feeds", {"name": "x", "campaign_id": "999999"},
                     form_page="/settings")
    assert refused.status_code == 400
    assert db.session.query(ApiToken).count() == before


def test_revoking_is_for_feed_tokens_of_ones_own(app, client):
    admin = member("admin")
    other = member("editor")
    row, _ = ApiToken.issue(other, other.memberships[0].workspace, "theirs", "feed")
    api_row, _ = ApiToken.issue(admin, admin.memberships[0].workspace, "script", "api")
    db.session.add_all([row, api_row])
    db.session.commit()
    sign_in(client, "admin.acme@example.com")
    for token_id in (row.id, api_row.id):  # someone else's; an API token (its own section)
        response = submit(client, f"/settings/feeds/{token_id}/revoke", form_page="/settings")
        assert response.status_code == 404
    assert db.session.query(ApiToken).count() == 2


def test_the_export_buttons_and_the_download(app, client):
    editor = member("editor")
    draft(editor, body="=cmd|' /C calc'!A0", title="Idea")
    member("viewer")
    sign_in(client, "viewer.acme@example.com")
    posts_page = show(client, "/posts")
    assert 'id="export-posts"' in posts_page and 'href="/posts/export.csv"' in posts_page
    response = client.get("/posts/export.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(page(response))))
    assert rows[0] == ["body", "title", "at", "timezone", "channels", "recurrence", "campaign"]
    assert rows[1][:2] == ["'=cmd|' /C calc'!A0", "Idea"]

    sign_out(client)
    sign_in(client, "editor.acme@example.com")
    assert 'href="/posts/export.csv"' in show(client, "/posts/import")
