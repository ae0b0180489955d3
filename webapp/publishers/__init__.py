"""Publishers by platform name."""

from flask import current_app

from ..crypto import decrypt
from .base import Message, Publisher, PublishResult
from .http import configured_resolver
from .mastodon import MastodonPublisher
from .webhook import WebhookPublisher

PUBLISHERS: dict[str, type[Publisher]] = {
    cls.platform: cls for cls in (WebhookPublisher, MastodonPublisher)
}


def for_channel(channel) -> Publisher:
    """A ready publisher for a Channel row (credentials decrypted in memory only)."""
    cls = PUBLISHERS[channel.platform]
    return cls(channel.config, decrypt(channel.secrets_encrypted),
               timeout=current_app.config["HERALD_HTTP_TIMEOUT"],
               allow_private=current_app.config["HERALD_ALLOW_PRIVATE_NETWORKS"],
               resolve=configured_resolver())


__all__ = ["PUBLISHERS", "Message", "Publisher", "PublishResult", "for_channel"]
