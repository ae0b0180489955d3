"""Slack: chat.postMessage with a bot token. Slack answers most errors with HTTP 200 and
{"ok": false, "error": "<code>"}; rate limits with HTTP 429 and Retry-After."""

from ..errors import ValidationError
from .base import FormField, Message, PublishResult
from .http import HttpPublisher, check_url, failure, reply_json

DEFAULT_API = "https://slack.com/api"
# Error codes worth another attempt (Slack's side, or its rate limit).
TRANSIENT_ERRORS = {"ratelimited", "internal_error", "fatal_error", "service_unavailable"}
GONE = {"message_not_found"}


class SlackPublisher(HttpPublisher):
    platform = "slack"
    label = "Slack"
    secret_fields = ("bot_token",)
    required_fields = ("bot_token", "channel")
    optional_fields = ("api_url",)
    max_length = 40_000
    # chat.postMessage has no idempotency key.
    idempotent = False
    can_unpublish = True
    form_fields = (
        FormField("bot_token", "Bot token", "password", "xoxb-…",
                  "api.slack.com/apps → Create New App → OAuth & Permissions: add the "
                  "chat:write scope, Install to Workspace, copy the Bot User OAuth Token "
                  "(xoxb-…); then invite the app to the channel (/invite @app)."),
        FormField("channel", "Channel ID", "text", "C0123456789",
                  "In Slack: the channel's name → About → Channel ID at the bottom. (A "
                  "#name can post, but Herald can remove posts only with the ID.)"),
        FormField("api_url", "API address (optional)", "url", DEFAULT_API,
                  "Leave empty for Slack's own."),
    )

    @classmethod
    def text_length(cls, text: str) -> int:
        return len(text)

    @classmethod
    def validate_config(cls, config, allow_private):
        super().validate_config(config, allow_private)
        if not config["bot_token"].strip().startswith(("xoxb-", "xoxp-")):
            raise ValidationError.field(
                "config.bot_token", "is not a Slack bot token: it starts with xoxb- (the "
                                    "Bot User OAuth Token, not the signing secret)")
        if config.get("api_url"):
            check_url(config["api_url"], "config.api_url", allow_private)

    def _call(self, method: str, body: dict | None = None, **kwargs):
        """(reply JSON, failure or None): Slack's answer ({} when none came), and why it
        is not a success."""
        base = (self.config.get("api_url") or DEFAULT_API).rstrip("/")
        response = self.send(
            "POST", f"{base}/{method}", json_body=body or {},
            headers={"Authorization": f"Bearer {self.secrets.get('bot_token', '').strip()}",
                     "Content-Type": "application/json; charset=utf-8"}, **kwargs)
        if isinstance(response, PublishResult):
            return {}, response
        reply = reply_json(response)
        if 200 <= response.status_code < 300 and reply.get("ok") is True:
            return reply, None
        code = reply.get("error") if isinstance(reply.get("error"), str) else ""
        transient = (code in TRANSIENT_ERRORS or response.status_code == 429
                     or response.status_code >= 500)
        result = failure(response, f"Slack: {code or 'error'} (HTTP {response.status_code})",
                         transient=transient)
        return reply, self.redact(result)

    def publish(self, message: Message) -> PublishResult:
        reply, failed = self._call("chat.postMessage", {"channel": self.config["channel"],
                                                        "text": message.body})
        if failed:
            return self.not_answered(failed) if failed.unknown else failed
        return PublishResult(ok=True, external_id=reply.get("ts"))

    def unpublish(self, message: Message) -> PublishResult:
        if not message.external_id:
            return PublishResult(ok=False, error="Slack did not say which message it made")
        reply, failed = self._call("chat.delete", {"channel": self.config["channel"],
                                                   "ts": message.external_id})
        if not failed or reply.get("error") in GONE:
            return PublishResult(ok=True)
        failed.unknown = False
        return failed

    def check(self) -> PublishResult:
        reply, failed = self._call("auth.test", timeout=min(self.timeout, 10))
        if failed:
            failed.unknown = False
            return failed
        user, team = reply.get("user"), reply.get("team")
        account = " in ".join(v for v in (user, team) if isinstance(v, str)) or None
        return PublishResult(ok=True, account=account)
