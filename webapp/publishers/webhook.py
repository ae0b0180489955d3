"""Webhook: POST JSON to a URL, signed with HMAC-SHA256 when the channel has a secret."""

import hashlib
import hmac
import json

from .base import FormField, Message, PublishResult
from .http import HttpPublisher, check_url

SIGNATURE_HEADER = "X-Herald-Signature"


def signature(secret: str, body: bytes) -> str:
    """The X-Herald-Signature value (API.md): the hex HMAC-SHA256 of the raw body. Webhook
    channels and lifecycle hooks sign alike."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookPublisher(HttpPublisher):
    platform = "webhook"
    label = "Webhook"
    secret_fields = ("secret",)
    required_fields = ("url",)
    can_unpublish = True
    form_fields = (
        FormField("url", "Webhook URL", "url", "https://",
                  "Herald POSTs each post as JSON to this address, with the headers "
                  "Idempotency-Key (the same on every retry: drop copies you already have) "
                  "and X-Herald-Delivery.", input="url"),
        FormField("secret", "Signing secret (optional)", "password", "",
                  "Optional. Signs each request (X-Herald-Signature, HMAC-SHA256).",
                  input="secret"),
    )

    @classmethod
    def validate_config(cls, config, allow_private):
        super().validate_config(config, allow_private)
        check_url(config["url"], "config.url", allow_private)

    def publish(self, message: Message) -> PublishResult:
        return self._post(message)

    def unpublish(self, message: Message) -> PublishResult:
        # The same message with action "unpublish" and the id the endpoint returned when
        # the post went out: the endpoint removes it.
        result = self._post(message)
        if result.ok:
            result.external_id = result.external_url = None
        return result

    def _post(self, message: Message) -> PublishResult:
        fields = {
            "delivery_id": message.delivery_id,
            "post_id": message.post_id,
            "channel_id": message.channel_id,
            "title": message.title,
            "body": message.body,
            "due_at": message.due_at,
            "attempt": message.attempt,
            "action": message.action,
        }
        if message.action == "unpublish":
            fields["external_id"] = message.external_id
        body = json.dumps(fields).encode()
        headers = {
            "Content-Type": "application/json",
            "Idempotency-Key": message.idempotency_key,
            "X-Herald-Delivery": str(message.delivery_id),
        }
        if self.secrets.get("secret"):
            headers[SIGNATURE_HEADER] = signature(self.secrets["secret"], body)
        response = self.send("POST", self.config["url"], data=body, headers=headers)
        return self.result_of(response)

    def check(self) -> PublishResult:
        # A webhook has no side-effect-free probe; a HEAD tells whether anything answers.
        response = self.send("HEAD", self.config["url"], timeout=min(self.timeout, 10))
        if isinstance(response, PublishResult):
            return self.redact(response)
        if response.status_code >= 500:
            return PublishResult(ok=False, error=f"HTTP {response.status_code}")
        return PublishResult(ok=True)
