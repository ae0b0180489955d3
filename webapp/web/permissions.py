"""Who may use which endpoint: the one table for pages and the API (docs/teams.md shows it
as "who may do what"). access.check_page and the API's authenticate enforce it before any
view runs; an endpoint that is not in the table is refused to everyone (tests/
test_permissions.py fails until it is added). Every method of an endpoint needs the same
role: where a GET only asks for confirmation (delete, cancel), it is for those who may do it.

Roles are ordered viewer < editor < approver < admin (models.ROLES):
- viewer reads everything of the workspace (channel secrets stay masked below admin, a data
  rule of the serializers);
- editor writes posts and their deliveries, imports, calendar moves, marks notifications read;
- approver approves and rejects, and reads the audit log;
- admin manages members, channels, the workspace's settings, API tokens and webhooks.
"""

from ..models import Membership

# Open to anyone, signed in or not.
OPEN = "open"
# Any signed-in account, a member of a workspace or not: what concerns the account itself.
SIGNED_IN = "signed in"

ENDPOINTS: dict[str, str] = {
    # Signing in, joining, health and assets.
    "auth.login": OPEN,
    "auth.signup": OPEN,
    "team.invitation": OPEN,
    # A client's review link: the token is the permission (services.reviews checks it).
    "approvals.review": OPEN,
    "health.healthz": OPEN,
    "static": OPEN,
    "api.openapi": OPEN,
    # The calendar feed: its ?token= (a feed token) is the permission (api/feeds.py checks it).
    "api.calendar_feed": OPEN,
    # Prometheus scrapes with its own bearer token (HERALD_METRICS_TOKEN): web/metrics.py.
    "metrics.scrape": OPEN,
    # The account's own: signing out, its workspaces, its password, its sign-ins.
    "auth.logout": SIGNED_IN,
    "team.switch": SIGNED_IN,
    "settings.change_password": SIGNED_IN,
    "settings.sign_out_everywhere": SIGNED_IN,

    # Pages -----------------------------------------------------------------------------------
    "dashboard.dashboard": "viewer",
    # Posts, the composer and its helpers, imports.
    "posts.posts": "viewer",
    "posts.post_detail": "viewer",
    "posts.post_new": "editor",
    "posts.post_edit": "editor",
    "posts.post_counter": "editor",
    "posts.post_preview": "editor",
    "posts.post_pause": "editor",
    "posts.post_resume": "editor",
    "posts.post_publish_now": "editor",
    "posts.post_cancel": "editor",
    "imports.post_import": "editor",
    "imports.post_import_done": "viewer",
    "imports.post_import_example": "viewer",
    "imports.post_export": "viewer",
    # The queue and the calendar.
    "queue.queue": "viewer",
    "queue.queue_tabs": "viewer",
    "queue.queue_row": "viewer",
    "queue.deliveries": "viewer",
    "queue.delivery_retry": "editor",
    "queue.delivery_mark_published": "editor",
    "queue.delivery_cancel": "editor",
    "queue.queue_batch": "editor",
    "calendar.index": "viewer",
    "calendar.item": "viewer",
    "calendar.close_panel": "viewer",
    "calendar.move": "editor",
    # Campaigns: everyone reads them; editors make, change, pause and delete them (deleting
    # one only removes the grouping: its posts stay).
    "campaigns.campaigns": "viewer",
    "campaigns.campaign": "viewer",
    "campaigns.campaign_create": "editor",
    "campaigns.campaign_edit": "editor",
    "campaigns.campaign_pause": "editor",
    "campaigns.campaign_resume": "editor",
    "campaigns.campaign_archive": "editor",
    "campaigns.campaign_delete": "editor",
    # Templates: everyone reads the library; editors save, change, favour, use and delete.
    "templates.templates": "viewer",
    "templates.template_create": "editor",
    "templates.template_edit": "editor",
    "templates.template_favorite": "editor",
    "templates.template_delete": "editor",
    "posts.post_save_template": "editor",
    # Notifications: everyone reads them; marking them read changes them for the workspace.
    "notifications.notifications": "viewer",
    "notifications.notifications_count": "viewer",
    "notifications.notifications_panel": "viewer",
    "notifications.notifications_read": "editor",
    "notifications.notification_read": "editor",
    # Approvals and the audit log.
    "approvals.approvals": "approver",
    "approvals.approve": "approver",
    "approvals.reject": "approver",
    "approvals.setting": "admin",
    "operations.operations": "admin",
    "approvals.review_links": "approver",
    "approvals.create_review_link": "approver",
    "approvals.revoke_review_link": "approver",
    "audit.audit_log": "approver",
    "audit.audit_csv": "approver",
    # Channels: everyone sees them; connecting, changing and checking them is an admin's.
    "channels.channels": "viewer",
    "channels.webhook_format": "viewer",
    "channels.channel_create": "admin",
    "channels.channel_edit": "admin",
    "channels.channel_check": "admin",
    "channels.channel_pause": "admin",
    "channels.channel_resume": "admin",
    "channels.channel_delete": "admin",
    # Settings: one's own zone and e-mail are every member's; tokens and webhooks, admins'.
    "settings.settings": "viewer",
    "settings.create_token": "admin",
    "settings.revoke_token": "admin",
    # A calendar feed token reads what a viewer reads: every member may make their own.
    "settings.create_feed": "viewer",
    "settings.revoke_feed": "viewer",
    "settings.hook_list": "admin",
    "settings.hook_create": "admin",
    "settings.hook_delete": "admin",
    # The team: everyone sees who is in it; admins manage it.
    "team.team_page": "viewer",
    "team.invite": "admin",
    "team.change_role": "admin",
    "team.remove": "admin",
    "team.revoke": "admin",

    # The API (/api/v1) ---------------------------------------------------------------------
    "api.list_campaigns": "viewer",
    "api.get_campaign": "viewer",
    "api.campaign_stats": "viewer",
    "api.create_campaign": "editor",
    "api.update_campaign": "editor",
    "api.delete_campaign": "editor",
    "api.list_templates": "viewer",
    "api.get_template": "viewer",
    "api.create_template": "editor",
    "api.update_template": "editor",
    "api.delete_template": "editor",
    "api.use_template": "editor",
    "api.favorite_template": "editor",
    "api.get_workspace": "viewer",
    "api.update_workspace": "admin",
    "api.list_posts": "viewer",
    # Viewers read every post: exporting them shows nothing more.
    "api.export_posts": "viewer",
    "api.import_posts": "editor",
    "api.get_post": "viewer",
    "api.occurrences": "viewer",
    "api.create_post": "editor",
    "api.update_post": "editor",
    "api.delete_post": "editor",
    "api.pause_post": "editor",
    "api.resume_post": "editor",
    "api.publish_now": "editor",
    "api.list_deliveries": "viewer",
    "api.upcoming": "viewer",
    "api.queue_stats": "viewer",
    "api.retry_delivery": "editor",
    "api.mark_delivery_published": "editor",
    "api.cancel_delivery": "editor",
    "api.list_approvals": "approver",
    "api.approve_post": "approver",
    "api.reject_post": "approver",
    "api.list_audit": "approver",
    "api.list_channels": "viewer",
    "api.get_channel": "viewer",
    "api.create_channel": "admin",
    "api.update_channel": "admin",
    "api.delete_channel": "admin",
    "api.check_channel": "admin",
    "api.list_members": "admin",
    "api.invite_member": "admin",
    "api.change_member_role": "admin",
    "api.remove_member": "admin",
    "api.list_tokens": "admin",
    "api.create_token": "admin",
    "api.revoke_token": "admin",
    "api.list_hooks": "admin",
    "api.create_hook": "admin",
    "api.delete_hook": "admin",
}


def needed(endpoint: str | None) -> str | None:
    """What `endpoint` needs: OPEN, SIGNED_IN or the least role; None when it is not in the
    table (refused to everyone)."""
    return ENDPOINTS.get(endpoint or "")


def allows(membership: Membership | None, endpoint: str) -> bool:
    """Whether this member may use `endpoint` (False for an endpoint not in the table, and
    for a role-bound endpoint when there is no membership)."""
    rule = needed(endpoint)
    if rule in (OPEN, SIGNED_IN):
        return True
    return rule is not None and membership is not None and membership.can(rule)

