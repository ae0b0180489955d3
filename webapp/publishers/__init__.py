"""Publishers by platform name."""

from flask import current_app

from ..crypto import decrypt
from .base import FormField, Message, Publisher, PublishResult
from .devto import DevtoPublisher
from .discord import DiscordPublisher
from .http import configured_resolver
from .mastodon import MastodonPublisher
from .slack import SlackPublisher
from .telegram import TelegramPublisher
from .webhook import WebhookPublisher

# In the order the channel form offers them.
PUBLISHERS: dict[str, type[Publisher]] = {
    cls.platform: cls for cls in (WebhookPublisher, MastodonPublisher, DiscordPublisher,
                                  TelegramPublisher, SlackPublisher, DevtoPublisher)
}


def for_channel(channel) -> Publisher:
    """A ready publisher for a Channel row (credentials decrypted in memory only)."""
    cls = PUBLISHERS[channel.platform]
    return cls(channel.config, decrypt(channel.secrets_encrypted),
               timeout=current_app.config["HERALD_HTTP_TIMEOUT"],
               allow_private=current_app.config["HERALD_ALLOW_PRIVATE_NETWORKS"],
               resolve=configured_resolver())


__all__ = ["PUBLISHERS", "FormField", "Message", "Publisher", "PublishResult", "for_channel"]
