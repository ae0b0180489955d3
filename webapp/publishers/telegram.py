"""Telegram: the Bot API's sendMessage to a chat (a channel, group or person) the bot may
write to. The bot token travels in the URL's path, so no error ever shows a URL."""

import re

from ..errors import ValidationError
from .base import FormField, Message, PublishResult
from .http import HttpPublisher, check_url, failure, number, reply_json

DEFAULT_API = "https://api.telegram.org"
TOKEN = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{10,100}")
CHAT = re.compile(r"-?[0-9]{1,20}|@[A-Za-z][A-Za-z0-9_]{3,31}")
# Telegram's own words when a message is past the 48 hours in which a bot may delete it.
CANNOT_DELETE = "message can't be deleted"
GONE = "message to delete not found"


class TelegramPublisher(HttpPublisher):
    platform = "telegram"
    label = "Telegram"
    secret_fields = ("bot_token",)
    required_fields = ("bot_token", "chat_id")
    optional_fields = ("api_url",)
    max_length = 4096
    # sendMessage takes no idempotency key.
    idempotent = False
    can_unpublish = True
    form_fields = (
        FormField("bot_token", "Bot token", "password", "123456789:AA…",
                  "From @BotFather in Telegram: /newbot (or /token for an existing bot). "
                  "Add the bot to the channel or group as an admin allowed to post."),
        FormField("chat_id", "Chat", "text", "@mychannel or -1001234567890",
                  "A public channel's @username, or the chat's numeric id (forward a "
                  "message from it to @userinfobot to see it)."),
        FormField("api_url", "Bot API server (optional)", "url", DEFAULT_API,
                  "Leave empty for Telegram's own; only for a self-hosted Bot API server."),
    )

    @classmethod
    def text_length(cls, text: str) -> int:
        # Telegram counts UTF-16 code units (an emoji outside the BMP is two).
        return len(text.encode("utf-16-le")) // 2

    @classmethod
    def validate_config(cls, config, allow_private):
        super().validate_config(config, allow_private)
        if not TOKEN.fullmatch(config["bot_token"].strip()):
            raise ValidationError.field(
                "config.bot_token", "is not a bot token: BotFather gives one like "
                                    "123456789:AAE… (digits, a colon, then letters)")
        if not CHAT.fullmatch(config["chat_id"].strip()):
            raise ValidationError.field(
                "config.chat_id", "must be a channel's @username or a numeric chat id")
        if config.get("api_url"):
            check_url(config["api_url"], "config.api_url", allow_private)

    def _url(self, method: str) -> str:
        base = (self.config.get("api_url") or DEFAULT_API).rstrip("/")
        return f"{base}/bot{self.secrets.get('bot_token', '').strip()}/{method}"

    def _chat(self) -> str:
        return self.config["chat_id"].strip()

    def _call(self, method: str, body: dict | None = None, **kwargs):
        """(reply JSON, failure): the Bot API's answer, or why there is none."""
        response = self.send("POST", self._url(method), json_body=body or {}, **kwargs)
        if isinstance(response, PublishResult):
            return None, response
        reply = reply_json(response)
        if 200 <= response.status_code < 300 and reply.get("ok") is True:
            return reply.get("result"), None
        description = reply.get("description") if isinstance(reply.get("description"),
                                                              str) else ""
        code = reply.get("error_code", response.status_code)
        parameters = reply.get("parameters") if isinstance(reply.get("parameters"),
                                                           dict) else {}
        result = failure(response, f"Telegram: {description or 'error'} (error {code})",
                         retry_after=number(parameters.get("retry_after")))
        return None, self.redact(result)

    def publish(self, message: Message) -> PublishResult:
        sent, failed = self._call("sendMessage", {"chat_id": self._chat(),
                                                  "text": message.body})
        if failed:
            return self.not_answered(failed) if failed.unknown else failed
        sent = sent if isinstance(sent, dict) else {}
        message_id = sent.get("message_id")
        chat = sent.get("chat") if isinstance(sent.get("chat"), dict) else {}
        url = None
        if isinstance(chat.get("username"), str) and message_id is not None:
            url = f"https://t.me/{chat['username']}/{message_id}"
        return PublishResult(ok=True, external_id=message_id, external_url=url)

    def unpublish(self, message: Message) -> PublishResult:
        try:
            message_id = int(message.external_id or "")
        except ValueError:
            return PublishResult(ok=False, error="Telegram did not say which message it made")
        _, failed = self._call("deleteMessage", {"chat_id": self._chat(),
                                                 "message_id": message_id})
        if not failed:
            return PublishResult(ok=True)
        if GONE in (failed.error or ""):
            return PublishResult(ok=True)
        if CANNOT_DELETE in (failed.error or ""):
            failed.transient = False
            failed.error = ("Telegram refused to delete the message: a bot may delete its "
                            "messages only within 48 hours of sending them (or lacks the "
                            "right to delete in this chat); delete it in Telegram by hand")
        failed.unknown = False
        return failed

    def check(self) -> PublishResult:
        bot, failed = self._call("getMe", timeout=min(self.timeout, 10))
        if failed:
            failed.unknown = False
            return failed
        username = bot.get("username") if isinstance(bot, dict) else None
        return PublishResult(ok=True, account=f"@{username}" if isinstance(username, str)
                             else None)
