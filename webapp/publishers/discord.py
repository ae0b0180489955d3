"""Discord: a channel's webhook (`?wait=true`, so Discord answers with the message and its
id). The webhook URL is the credential: its last part is the token."""

from urllib.parse import urlsplit, urlunsplit

from ..errors import ValidationError
from .base import FormField, Message, PublishResult
from .http import HttpPublisher, check_url, failure, number, parse, reply_json

HOSTS = ("discord.com", "discordapp.com", "canary.discord.com", "ptb.discord.com")
WEBHOOK_PATH = "/api/webhooks/"


class DiscordPublisher(HttpPublisher):
    platform = "discord"
    label = "Discord"
    secret_fields = ("webhook_url",)
    required_fields = ("webhook_url",)
    max_length = 2000
    # Discord webhooks take no idempotency key: a request whose answer was lost may have
    # posted, and is not sent again by itself.
    idempotent = False
    can_unpublish = True
    form_fields = (
        FormField("webhook_url", "Discord webhook link", "password",
                  "https://discord.com/api/webhooks/…",
                  "In Discord: Server Settings → Integrations → Webhooks → New Webhook (pick "
                  "the channel) → Copy Webhook URL. It holds the webhook's token: keep it "
                  "secret."),
    )

    @classmethod
    def text_length(cls, text: str) -> int:
        # Discord counts code points (an emoji with a skin tone is two).
        return len(text)

    @classmethod
    def validate_config(cls, config, allow_private):
        super().validate_config(config, allow_private)
        field = "config.webhook_url"
        check_url(config["webhook_url"], field, allow_private)
        if allow_private:  # a stand-in or a proxy in development
            return
        target = parse(config["webhook_url"], field)
        if (target.scheme != "https" or target.host not in HOSTS
                or not target.request_uri.startswith(WEBHOOK_PATH)):
            raise ValidationError.field(
                field, "must be a Discord webhook URL (https://discord.com/api/webhooks/…): "
                       "Server Settings → Integrations → Webhooks → Copy Webhook URL")

    def redacted_values(self) -> list:
        url = self.secrets.get("webhook_url", "")
        token = urlsplit(url).path.rstrip("/").rpartition("/")[2] if url else ""
        return [*super().redacted_values(), token]

    def _url(self, suffix: str = "", query: str = "") -> str:
        parts = urlsplit(self.secrets.get("webhook_url", ""))
        joined = "&".join(q for q in (parts.query, query) if q)
        return urlunsplit(parts._replace(path=parts.path.rstrip("/") + suffix, query=joined,
                                         fragment=""))

    def _failure(self, response) -> PublishResult:
        body = reply_json(response)
        message = body.get("message") if isinstance(body.get("message"), str) else ""
        if body.get("errors"):
            message = f"{message}: {str(body['errors'])[:200]}"
        retry_after = number(body.get("retry_after")) if response.status_code == 429 else None
        return self.redact(failure(response, f"Discord: {message or 'error'} "
                                             f"(HTTP {response.status_code})",
                                   retry_after=retry_after))

    def publish(self, message: Message) -> PublishResult:
        response = self.send("POST", self._url(query="wait=true"),
                             json_body={"content": message.body})
        if isinstance(response, PublishResult):
            return self.not_answered(response)
        if not 200 <= response.status_code < 300:
            return self._failure(response)
        reply = reply_json(response)
        message_id = reply.get("id")
        url = None
        if reply.get("guild_id") and reply.get("channel_id") and message_id:
            url = (f"https://discord.com/channels/{reply['guild_id']}/"
                   f"{reply['channel_id']}/{message_id}")
        return PublishResult(ok=True, external_id=message_id, external_url=url)

    def unpublish(self, message: Message) -> PublishResult:
        if not message.external_id:
            return PublishResult(ok=False, error="Discord did not say which message it made")
        response = self.send("DELETE", self._url(f"/messages/{message.external_id}"))
        if isinstance(response, PublishResult):
            response.unknown = False  # deleting twice is harmless
            return self.redact(response)
        if response.status_code == 404 or 200 <= response.status_code < 300:
            return PublishResult(ok=True)
        return self._failure(response)

    def check(self) -> PublishResult:
        response = self.send("GET", self._url(), timeout=min(self.timeout, 10))
        if isinstance(response, PublishResult):
            return self.redact(response)
        if not 200 <= response.status_code < 300:
            return self._failure(response)
        name = reply_json(response).get("name")
        return PublishResult(ok=True, account=name if isinstance(name, str) else None)
