"""Publishers by platform name."""

from flask import current_app

from ..crypto import decrypt, sealer
from .base import FormField, Message, Publisher, PublishResult
from .bluesky import BlueskyPublisher
from .devto import DevtoPublisher
from .discord import DiscordPublisher
from .http import configured_resolver
from .mastodon import MastodonPublisher
from .sessions import SessionStore
from .slack import SlackPublisher
from .telegram import TelegramPublisher
from .webhook import WebhookPublisher

# In the order the channel form offers them.
PUBLISHERS: dict[str, type[Publisher]] = {
    cls.platform: cls for cls in (WebhookPublisher, MastodonPublisher, BlueskyPublisher,
                                  DiscordPublisher, TelegramPublisher, SlackPublisher,
                                  DevtoPublisher)
}


def for_channel(channel, *, redis=None) -> Publisher:
    """A ready publisher for a Channel row (credentials decrypted in memory only).

    `redis` (the engine's connection) keeps the sessions of platforms that sign in
    (`keeps_session`: Bluesky) from one job and process to the next; without it a publisher
    opens its own."""
    cls = PUBLISHERS[channel.platform]
    extra = {}
    if redis is not None and cls.keeps_session:
        extra["store"] = SessionStore(redis, sealer(), channel.id, cls.platform)
    return cls(channel.config, decrypt(channel.secrets_encrypted),
               timeout=current_app.config["HERALD_HTTP_TIMEOUT"],
               allow_private=current_app.config["HERALD_ALLOW_PRIVATE_NETWORKS"],
               resolve=configured_resolver(), **extra)


__all__ = ["PUBLISHERS", "FormField", "Message", "Publisher", "PublishResult", "for_channel"]
