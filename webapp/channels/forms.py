"""The channel form."""

from wtforms import BooleanField, PasswordField, SelectField, StringField
from wtforms.widgets import PasswordInput

from ..web.forms import Form

PLATFORMS = [("webhook", "Webhook"), ("mastodon", "Mastodon")]


class ChannelForm(Form):
    CHOICES = {"platform": PLATFORMS}

    name = StringField("Name")
    platform = SelectField("Platform", validate_choice=False)
    color = StringField("Colour", default="#3b82f6", render_kw={"type": "color"})
    url = StringField("Webhook URL", render_kw={"type": "url", "placeholder": "https://"})
    # A refused form comes back with what was typed, credentials included: the person
    # submitting it just typed them, and retyping a long token is how typos get in.
    # (An edit form starts empty: a saved credential is never sent back.)
    secret = PasswordField("Signing secret (optional)", widget=PasswordInput(hide_value=False))
    clear_secret = BooleanField("Remove the signing secret")
    instance_url = StringField("Instance URL", render_kw={"type": "url",
                                                          "placeholder": "https://mastodon.social"})
    access_token = PasswordField("Access token", widget=PasswordInput(hide_value=False))
    rate_limit_per_hour = StringField("Posts per hour at most (optional)",
                                      render_kw={"type": "number", "min": 1})

    ERRORS = {"config.url": "url", "config.secret": "secret",
              "config.instance_url": "instance_url", "config.access_token": "access_token"}

    def data_for(self, platform: str, editing: bool) -> dict:
        """The dict services.channels.create/update take. When editing, credentials left
        empty keep their stored values."""
        config: dict = {}
        if platform == "webhook":
            config["url"] = (self.url.data or "").strip()
            if self.secret.data:
                config["secret"] = self.secret.data
            elif editing and self.clear_secret.data:
                config["secret"] = ""
        elif platform == "mastodon":
            config["instance_url"] = (self.instance_url.data or "").strip()
            if self.access_token.data or not editing:
                config["access_token"] = self.access_token.data or ""
        data = {"name": (self.name.data or "").strip(), "color": self.color.data or None,
                "rate_limit_per_hour": (self.rate_limit_per_hour.data or "").strip() or None,
                "config": config}
        if not editing:
            data["platform"] = platform
        return data
