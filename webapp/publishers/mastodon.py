"""Mastodon: POST /api/v1/statuses with the instance's own Idempotency-Key support;
DELETE /api/v1/statuses/:id to remove one."""

from urllib.parse import quote, urljoin

from ..errors import ValidationError
from .base import FormField, Message, PublishResult
from .http import HttpPublisher, check_url, classify, reply_json


class MastodonPublisher(HttpPublisher):
    platform = "mastodon"
    label = "Mastodon"
    form_fields = (
        FormField("instance_url", "Instance URL", "url", "https://mastodon.social",
                  "The address of the Mastodon server the account is on.",
                  input="instance_url"),
        FormField("access_token", "Access token", "password", "",
                  "From Preferences → Development → New application, with the "
                  "write:statuses and read:accounts scopes.", input="access_token"),
    )
    secret_fields = ("access_token",)
    required_fields = ("instance_url", "access_token")
    optional_fields = ("visibility",)
    visibilities = ("public", "unlisted", "private", "direct")
    max_length = 500
    can_unpublish = True

    @classmethod
    def validate_config(cls, config, allow_private):
        super().validate_config(config, allow_private)
        if config.get("visibility") not in (None, *cls.visibilities):
            raise ValidationError.field("config.visibility",
                                        f"must be one of {', '.join(cls.visibilities)}")
        check_url(config["instance_url"], "config.instance_url", allow_private)

    def _url(self, path: str) -> str:
        return urljoin(self.config["instance_url"].rstrip("/") + "/", path.lstrip("/"))

    def _auth(self) -> dict:
        return {"Authorization": f"Bearer {self.secrets.get('access_token', '')}"}

    def publish(self, message: Message) -> PublishResult:
        response = self.send(
            "POST", self._url("/api/v1/statuses"),
            json_body={"status": message.body,
                       "visibility": self.config.get("visibility", "public")},
            headers={**self._auth(), "Idempotency-Key": message.idempotency_key},
        )
        return self.result_of(response)

    def unpublish(self, message: Message) -> PublishResult:
        if not message.external_id:
            return PublishResult(ok=False, transient=False,
                                 error="nothing to remove: Mastodon returned no status id")
        response = self.send(
            "DELETE", self._url(f"/api/v1/statuses/{quote(message.external_id, safe='')}"),
            headers=self._auth())
        if not isinstance(response, PublishResult) and response.status_code == 404:
            # Already gone (deleted by hand, or by an earlier attempt whose answer was lost).
            return PublishResult(ok=True)
        result = self.result_of(response)
        if result.ok:
            # The reply is the deleted status: keep the publication's own reference.
            result.external_id = result.external_url = None
        return result

    def check(self) -> PublishResult:
        response = self.send("GET", self._url("/api/v1/accounts/verify_credentials"),
                             timeout=min(self.timeout, 10), headers=self._auth())
        if isinstance(response, PublishResult):
            return self.redact(response)
        failed = classify(response)
        if failed:
            return self.redact(failed)
        reply = reply_json(response)
        username = reply.get("acct") or reply.get("username")
        return PublishResult(ok=True, account=f"@{username}" if isinstance(username, str)
                             else None)
