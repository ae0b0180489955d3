"""The Templates pages, "Save as template" and "Use" in the composer, through the test client
with CSRF on, against the real app, database and planner."""

import html
import re

from sqlalchemy import select

from tests.factories import add_channel, member, workspace_id
from tests.helpers import (
    composer,
    count,
    error_for,
    input_value,
    page,
    selected,
    show,
    sign_in,
    submit,
    textarea_value,
)
from webapp.extensions import db
from webapp.models import AuditEvent, Delivery, Post, Template
from webapp.services import campaigns, templates

# SQLite only: these are pages over the services, whose behaviour on both databases the
# API tests (tests/api/test_templates.py) check.


def new(user, **fields) -> Template:
    return templates.create(workspace_id(user), user.id,
                            {"name": "Weekly tip", "body": "Tip of the week", **fields})


def rows_of(body: str) -> list[str]:
    """The template names of the library, in order."""
    return [html.unescape(name) for name in re.findall(r"<td><strong>(.*?)</strong>", body)]


def test_the_library_lists_favourites_first_with_use_counts(app, signed_in, admin):
    new(admin, name="Plain")
    used = new(admin, name="Used")
    new(admin, name="Starred", favorite=True)
    templates.use(used, admin.id, {})
    body = show(signed_in, "/templates")
    assert rows_of(body) == ["Starred", "Used", "Plain"]
    used_row = body[body.index("<strong>Used</strong>"):]
    used_row = used_row[:used_row.index("</tr>")]
    assert '<td class="use-count">1</td>' in used_row and "Never" not in used_row
    assert f'href="/posts/new?template={used.id}"' in used_row
    assert f'href="/templates/{used.id}/edit"' in used_row
    assert f'href="/templates/{used.id}/delete"' in used_row
    plain_row = body[body.index("<strong>Plain</strong>"):]
    assert "Never" in plain_row[:plain_row.index("</tr>")]
    assert 'href="/templates"' in show(signed_in, "/")  # in the main navigation


def test_search_and_tag_filter(app, signed_in, admin):
    new(admin, name="Launch", description="For the spring launch", tags=["launch"])
    new(admin, name="Tip", body="A tip about spring cleaning", tags=["tips"])
    new(admin, name="Other", body="Nothing seasonal", tags=["tips"])
    assert rows_of(show(signed_in, "/templates?q=SPRING")) == ["Launch", "Tip"]
    body = show(signed_in, "/templates?tag=tips")
    assert rows_of(body) == ["Other", "Tip"]  # equal use: by name
    assert selected(body, "tag") == "tips"
    assert rows_of(show(signed_in, "/templates?q=spring&tag=tips")) == ["Tip"]
    assert "No template matches" in show(signed_in, "/templates?q=%25")
    # HTMX's search gets the list alone.
    fragment = show(signed_in, "/templates?q=launch", headers={"HX-Request": "true"})
    assert fragment.lstrip().startswith('<div id="library">') and "<html" not in fragment
    assert rows_of(fragment) == ["Launch"]


def test_the_favourite_toggle_swaps_its_button(app, signed_in, admin):
    template = new(admin)
    path = f"/templates/{template.id}/favorite"
    response = submit(signed_in, path, form_page="/templates",
                      headers={"HX-Request": "true"})
    assert response.status_code == 200
    fragment = page(response)
    assert fragment.lstrip().startswith("<form") and 'aria-pressed="true"' in fragment
    db.session.refresh(template)
    assert template.favorite is True
    again = submit(signed_in, path, form_page="/templates")
    assert again.status_code == 303
    db.session.refresh(template)
    assert template.favorite is False
    assert [e.action for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.object_type == "template").order_by(AuditEvent.id))] == [
        "template.created", "template.favorited", "template.unfavorited"]


def test_create_edit_and_delete_through_the_pages(app, signed_in, admin):
    channel = add_channel(admin)
    response = submit(signed_in, "/templates/new", {
        "name": "Monday tip", "body": "Tip", "tags": "tips, weekly", "priority": "6",
        "recurrence": "weekly:monday", "channel_ids": [str(channel.id)],
        f"override_{channel.id}": "Tip for the hook", "campaign_id": ""})
    assert response.status_code == 303, page(response)
    template = db.session.scalar(select(Template))
    assert (template.name, template.tags, template.priority, template.recurrence,
            template.channel_ids, template.overrides) == (
        "Monday tip", ["tips", "weekly"], 6, "weekly:monday", [channel.id],
        {str(channel.id): "Tip for the hook"})
    edit = f"/templates/{template.id}/edit"
    body = show(signed_in, edit)
    assert input_value(body, "name") == "Monday tip"
    assert textarea_value(body, f"override_{channel.id}") == "Tip for the hook"
    refused = submit(signed_in, edit, {"name": "", "body": "Tip", "recurrence": "weekly:funday"})
    assert refused.status_code == 422
    assert error_for(page(refused), "name") and "funday" in error_for(page(refused),
                                                                     "recurrence")
    db.session.refresh(template)
    assert template.name == "Monday tip"
    assert submit(signed_in, edit, {"name": "Tuesday tip", "body": "Tip",
                                    "recurrence": ""}).status_code == 303
    db.session.refresh(template)
    assert (template.name, template.recurrence, template.channel_ids) == (
        "Tuesday tip", None, [])
    delete = f"/templates/{template.id}/delete"
    assert "Delete template" in show(signed_in, delete)
    assert submit(signed_in, delete).status_code == 303
    assert count(Template) == 0


def test_save_as_template_from_the_composer(app, signed_in, admin):
    channel = add_channel(admin)
    campaign = campaigns.create(workspace_id(admin), admin.id, {"name": "Spring"})
    body = show(signed_in, "/posts/new")
    assert 'formaction="/posts/save-as-template"' in body and 'name="template_name"' in body
    data = composer([channel.id], title="Tip", body="Composer text", priority="7",
                    campaign_id=str(campaign.id), recurrence="custom",
                    rrule="weekly:monday,thursday", template_name="From the composer",
                    **{f"override_{channel.id}": "Hook text"})
    # Without a name nothing is saved, and the composer keeps what was typed.
    refused = submit(signed_in, "/posts/save-as-template", {**data, "template_name": ""},
                     form_page="/posts/new")
    assert refused.status_code == 422
    assert error_for(page(refused), "template_name")
    assert textarea_value(page(refused), "body") == "Composer text"
    assert count(Template) == 0
    response = submit(signed_in, "/posts/save-as-template", data, form_page="/posts/new")
    assert response.status_code == 303 and response.location.endswith("/templates")
    template = db.session.scalar(select(Template))
    assert (template.name, template.title, template.body, template.priority,
            template.campaign_id, template.channel_ids, template.overrides,
            template.recurrence, template.created_by) == (
        "From the composer", "Tip", "Composer text", 7, campaign.id, [channel.id],
        {str(channel.id): "Hook text"}, "weekly:monday,thursday", admin.id)
    assert count(Post) == 0  # saving a template is not saving the post


def test_use_opens_the_composer_filled_and_saving_counts_the_use(app, signed_in, admin):
    hook = add_channel(admin)
    other = add_channel(admin, name="Other")
    campaign = campaigns.create(workspace_id(admin), admin.id, {"name": "Spring"})
    template = new(admin, title="Tip", channel_ids=[hook.id, other.id],
                   overrides={str(other.id): "Other's text"}, priority=8,
                   campaign_id=campaign.id, recurrence="daily", tags=["tips"])
    path = f"/posts/new?template={template.id}"
    body = show(signed_in, path)
    assert "Starting from the template" in body
    assert (input_value(body, "title"), textarea_value(body, "body"),
            input_value(body, "priority"), selected(body, "campaign_id"),
            selected(body, "recurrence")) == ("Tip", "Tip of the week", "8",
                                               str(campaign.id), "daily")
    assert re.search(rf'value="{hook.id}" checked', body)
    assert re.search(rf'value="{other.id}" checked', body)
    assert textarea_value(body, f"override_{other.id}") == "Other's text"
    assert input_value(body, "template_id") == str(template.id)
    db.session.refresh(template)
    assert template.use_count == 0  # opening it is not using it
    # Anything can be changed before saving: here the text, one channel, a count.
    response = submit(signed_in, "/posts/new", composer(
        [hook.id], body="Changed text", title="Tip", priority="8",
        campaign_id=str(campaign.id), recurrence="daily", ends="count", count="2",
        template_id=str(template.id)), form_page=path)
    assert response.status_code == 303, page(response)
    post = db.session.scalar(select(Post))
    assert (post.body, [c.id for c in post.channels], post.tags, post.template_id,
            post.campaign_id, post.status) == ("Changed text", [hook.id], ["tips"],
                                               template.id, campaign.id, "scheduled")
    assert post.schedules[0].rrule == "FREQ=DAILY"
    assert count(Delivery, Delivery.post_id == post.id) == 2
    db.session.refresh(template)
    assert template.use_count == 1 and template.last_used_at is not None


def test_a_refused_post_from_a_template_counts_nothing(app, signed_in, admin):
    channel = add_channel(admin)
    template = new(admin, channel_ids=[channel.id])
    path = f"/posts/new?template={template.id}"
    response = submit(signed_in, "/posts/new", composer(
        [channel.id], at="2020-01-01T09:00", template_id=str(template.id)), form_page=path)
    assert response.status_code == 422
    assert input_value(page(response), "template_id") == str(template.id)
    db.session.refresh(template)
    assert template.use_count == 0 and count(Post) == 0


def test_other_workspaces_templates_are_404(app, signed_in, admin):
    theirs = new(member("admin", workspace="Elsewhere"))
    show(signed_in, f"/posts/new?template={theirs.id}", 404)
    show(signed_in, f"/templates/{theirs.id}/edit", 404)
    assert "Weekly tip" not in show(signed_in, "/templates")


def test_viewers_read_but_do_not_change(app, client, admin):
    template = new(admin)
    member("viewer")
    sign_in(client, "viewer.acme@example.com")
    body = show(client, "/templates")
    assert "Weekly tip" in body and "New template" not in body
    assert f"/posts/new?template={template.id}" not in body
    show(client, "/templates/new", 403)
    show(client, f"/templates/{template.id}/delete", 403)
