"""Mastodon: POST /api/v1/statuses with the instance's own Idempotency-Key support."""

from urllib.parse import urljoin

from .base import Message, Publisher, PublishResult
from .http import check_url, classify, send


class MastodonPublisher(Publisher):
    platform = "mastodon"
    secret_fields = ("access_token",)
    required_fields = ("instance_url", "access_token")
    max_length = 500

    @classmethod
    def validate_config(cls, config, allow_private):
        super().validate_config(config, allow_private)
        check_url(config["instance_url"], "config.instance_url", allow_private)

    def _url(self, path: str) -> str:
        return urljoin(self.config["instance_url"].rstrip("/") + "/", path.lstrip("/"))

    def _auth(self) -> dict:
        return {"Authorization": f"Bearer {self.secrets.get('access_token', '')}"}

    def publish(self, message: Message) -> PublishResult:
        check_url(self.config["instance_url"], "config.instance_url", self.allow_private)
        response = send(
            "POST", self._url("/api/v1/statuses"), timeout=self.timeout,
            json={"status": message.body, "visibility": self.config.get("visibility", "public")},
            headers={**self._auth(), "Idempotency-Key": message.idempotency_key},
        )
        if isinstance(response, PublishResult):
            return response
        failure = classify(response)
        if failure:
            return failure
        try:
            status = response.json()
        except ValueError:
            status = {}
        if not isinstance(status, dict):
            status = {}
        return PublishResult(ok=True, external_id=str(status.get("id") or "") or None,
                             external_url=status.get("url"))

    def check(self) -> PublishResult:
        check_url(self.config["instance_url"], "config.instance_url", self.allow_private)
        response = send("GET", self._url("/api/v1/accounts/verify_credentials"),
                        timeout=min(self.timeout, 10), headers=self._auth())
        if isinstance(response, PublishResult):
            return response
        return classify(response) or PublishResult(ok=True)
