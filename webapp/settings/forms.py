"""The settings page's forms."""

from wtforms import EmailField, PasswordField, SelectField, StringField, URLField

from ..models import HOOK_EVENTS
from ..web.forms import CheckboxesField, Form, zone_field


class SettingsForm(Form):
    timezone = zone_field("Your timezone")
    notify_email = EmailField("E-mail for notifications (optional)")


class PasswordForm(Form):
    current = PasswordField("Current password")
    password = PasswordField("New password")
    confirm = PasswordField("Repeat the new password")


class TokenForm(Form):
    name = StringField("Token name", render_kw={"maxlength": 120,
                                                "placeholder": "e.g. deploy script"})
    kind = SelectField("Opens", choices={"api": "the JSON API",
                                         "feed": "the calendar feed only"}, default="api")


class FeedForm(Form):
    name = StringField("Feed name", render_kw={"maxlength": 120,
                                               "placeholder": "e.g. my phone's calendar"})
    campaign_id = SelectField("Shows", coerce=int, default=0)


class HookForm(Form):
    CHOICES = {"events": [(name, name) for name in HOOK_EVENTS]}

    url = URLField("URL", render_kw={"placeholder": "https://example.com/herald-events",
                                     "spellcheck": "false", "autocomplete": "off"})
    events = CheckboxesField("Events")
    secret = PasswordField("Signing secret (optional)", render_kw={"autocomplete": "off"})
