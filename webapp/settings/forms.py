"""The settings page's forms."""

from wtforms import EmailField, PasswordField, SelectField, StringField

from ..web.forms import Form, zone_field


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
