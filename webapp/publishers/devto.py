"""Dev.to (Forem): an article from the post's title, body (Markdown) and tags, with the
account's API key."""

import re

from .base import FormField, Message, PublishResult
from .http import HttpPublisher, check_url, failure, reply_json

DEFAULT_API = "https://dev.to/api"
MAX_TAGS = 4
TITLE_MAX = 128
TAG_MAX = 30
# Forem's API version header: without it, a deprecation notice and the old API.
ACCEPT = "application/vnd.forem.api-v1+json"


def tags_of(tags) -> list[str]:
    """The post's tags as Dev.to takes them: lower-case letters and digits only, at most
    four, each once."""
    found: list[str] = []
    for tag in tags:
        tag = re.sub(r"[^0-9a-z]", "", str(tag).lower())[:TAG_MAX]
        if tag and tag not in found:
            found.append(tag)
    return found[:MAX_TAGS]


class DevtoPublisher(HttpPublisher):
    platform = "devto"
    label = "Dev.to"
    secret_fields = ("api_key",)
    required_fields = ("api_key",)
    optional_fields = ("api_url",)
    # Creating an article takes no idempotency key; a lookup by title could mistake last
    # week's article of a repeating post for this one, so none is made.
    idempotent = False
    # Dev.to's API cannot delete an article: "unpublish" makes it a draft again.
    can_unpublish = True
    form_fields = (
        FormField("api_key", "API key", "password", "",
                  "On dev.to: Settings → Extensions → DEV Community API Keys → Generate API "
                  "Key."),
        FormField("api_url", "API address (optional)", "url", DEFAULT_API,
                  "Leave empty for dev.to; a self-hosted Forem's address ends in /api."),
    )

    @classmethod
    def validate_config(cls, config, allow_private):
        super().validate_config(config, allow_private)
        if config.get("api_url"):
            check_url(config["api_url"], "config.api_url", allow_private)

    @classmethod
    def validate_title(cls, title):
        if not title or not title.strip():
            return "Dev.to articles need a title; give the post one"
        if len(title.strip()) > TITLE_MAX:
            return f"the title has {len(title.strip())} characters; Dev.to allows {TITLE_MAX}"
        return None

    def _request(self, method: str, path: str, body: dict | None = None, **kwargs):
        base = (self.config.get("api_url") or DEFAULT_API).rstrip("/")
        return self.send(method, f"{base}{path}", json_body=body,
                         headers={"api-key": self.secrets.get("api_key", "").strip(),
                                  "Accept": ACCEPT}, **kwargs)

    def _failure(self, response) -> PublishResult:
        reply = reply_json(response)
        error = reply.get("error") if isinstance(reply.get("error"), str) else ""
        return self.redact(failure(response, f"Dev.to: {error or 'error'} "
                                             f"(HTTP {response.status_code})"))

    def publish(self, message: Message) -> PublishResult:
        response = self._request("POST", "/articles", {"article": {
            "title": message.title.strip(), "body_markdown": message.body,
            "published": True, "tags": tags_of(message.tags)}})
        if isinstance(response, PublishResult):
            return self.not_answered(response)
        if not 200 <= response.status_code < 300:
            return self._failure(response)
        return self.result_of(response)

    def unpublish(self, message: Message) -> PublishResult:
        if not (message.external_id or "").isdigit():
            return PublishResult(ok=False, error="Dev.to did not say which article it made")
        response = self._request("PUT", f"/articles/{message.external_id}",
                                 {"article": {"published": False}})
        if isinstance(response, PublishResult):
            response.unknown = False
            return self.redact(response)
        if response.status_code == 404 or 200 <= response.status_code < 300:
            return PublishResult(ok=True)
        return self._failure(response)

    def check(self) -> PublishResult:
        response = self._request("GET", "/users/me", timeout=min(self.timeout, 10))
        if isinstance(response, PublishResult):
            return self.redact(response)
        if not 200 <= response.status_code < 300:
            return self._failure(response)
        username = reply_json(response).get("username")
        return PublishResult(ok=True, account=username if isinstance(username, str) else None)
