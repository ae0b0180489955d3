"""The interface every platform's publisher implements, and the shape of its answers."""

import json
import re
from dataclasses import dataclass

import regex

from ..errors import ValidationError


@dataclass
class PublishResult:
    ok: bool
    external_id: str | None = None
    external_url: str | None = None
    # For failures: transient ones are retried, permanent ones fail at once.
    transient: bool = False
    error: str | None = None
    retry_after: float | None = None
    # The request may have reached the platform but no answer came back (a timeout or a
    # broken connection after sending). A platform that deduplicates (idempotency key,
    # deterministic id, lookup) can be asked again; one that cannot must not be.
    unknown: bool = False
    # For a check: the account, bot or channel the credentials belong to, as the platform
    # names it ("@herald on Telegram"), so a person sees they connected the right one.
    account: str | None = None


# Column sizes of Delivery.external_id / external_url, and how much of an error is kept.
EXTERNAL_ID_MAX = 255
EXTERNAL_URL_MAX = 1000
ERROR_MAX = 500
# What no database column takes (NUL: PostgreSQL; lone surrogates: neither SQLite nor
# PostgreSQL can encode them) and what no one can read (other control characters).
_UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def clean_text(text: str, limit: int = ERROR_MAX) -> str:
    """Text a platform sent, safe to store and show: unsafe characters removed, at most
    `limit` characters."""
    return _UNSAFE.sub("", text[:limit * 2])[:limit].strip()


def _reference(value, limit: int) -> str | None:
    """A platform's id or URL kept only as it was sent: a reference with characters taken
    out, or cut short, would point at something else."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    return None if len(value) > limit or _UNSAFE.search(value) else value


def external_ref(reply) -> tuple[str | None, str | None]:
    """(id, url) from a platform's JSON reply. Only text or whole numbers are taken, and
    only when they fit the columns and can be stored as they are: a value that does not
    fit must never stop a success from being recorded."""
    if not isinstance(reply, dict):
        return None, None
    url = _reference(reply.get("url"), EXTERNAL_URL_MAX)
    if url is not None and not url.lower().startswith(("http://", "https://")):
        url = None
    return _reference(reply.get("id"), EXTERNAL_ID_MAX), url


def safe_result(result: "PublishResult") -> "PublishResult":
    """`result` as it may be recorded, whichever publisher made it: references that cannot
    be stored as they are dropped, the error cleaned and bounded."""
    result.external_id = _reference(result.external_id, EXTERNAL_ID_MAX)
    result.external_url = _reference(result.external_url, EXTERNAL_URL_MAX)
    if result.error is not None:
        result.error = clean_text(str(result.error)) or "no description"
    return result


@dataclass
class Message:
    """What is sent: plain values, so publishers never touch the ORM."""

    delivery_id: int
    post_id: int
    channel_id: int
    title: str
    body: str
    due_at: str
    attempt: int
    idempotency_key: str
    # "publish", or "unpublish": remove `external_id`, what the platform returned when the
    # post went out.
    action: str = "publish"
    external_id: str | None = None
    # The post's tags, for platforms that take them (Dev.to).
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class FormField:
    """One setting as the channel form shows it: `name` is the config key, `kind` is
    text, url or password (credentials), `hint` says where to get it. `input` is the
    form's field name when it is not `<platform>_<name>` (the first platforms' forms kept
    their plain names)."""

    name: str
    label: str
    kind: str = "text"
    placeholder: str = ""
    hint: str = ""
    input: str | None = None


def graphemes(text: str) -> int:
    """How many characters a person sees: user-perceived characters (extended grapheme
    clusters), as Bluesky, Mastodon and most platforms count, so "👍🏽" or "é" written as
    e + combining accent count once."""
    return len(regex.findall(r"\X", text))


class Publisher:
    """One platform. `config` holds non-secret settings, `secrets` the decrypted credentials."""

    platform = ""
    # How people call the platform (the channel form's choice, pages).
    label = ""
    # The channel form's fields for this platform, in order (FormField).
    form_fields: tuple[FormField, ...] = ()
    # Config keys that are credentials: encrypted at rest, never echoed.
    secret_fields: tuple[str, ...] = ()
    required_fields: tuple[str, ...] = ()
    # Settings that may be given besides the required ones and the secrets.
    optional_fields: tuple[str, ...] = ()
    max_length: int | None = None
    # Whether a request that may have reached the platform can be sent again without
    # publishing twice (the platform deduplicates, or the publisher looks the post up
    # first). When False, such a request's outcome is "unknown" and is never resent by
    # itself.
    idempotent: bool = True
    # Whether a published post can be removed (`unpublish`); when not, why (shown by the
    # composer and the API's 422 before anything is scheduled).
    can_unpublish: bool = False
    # Whether it signs in and keeps a session between jobs (for_channel then gives it a
    # SessionStore in Redis): its constructor takes `store`.
    keeps_session: bool = False
    cannot_unpublish_reason: str = "this platform does not let Herald remove a post"

    def __init__(self, config: dict, secrets: dict, *, timeout: float, allow_private: bool):
        self.config = config
        self.secrets = secrets
        self.timeout = timeout
        self.allow_private = allow_private

    @classmethod
    def unknown_settings(cls, config: dict) -> dict[str, str]:
        """{"config.<key>": message} for each key this platform has no setting for."""
        known = cls.required_fields + cls.secret_fields + cls.optional_fields
        return {f"config.{key}": f"unknown setting “{key}” for {cls.platform}; "
                                 f"expected {', '.join(known)}"
                for key in config if key not in known}

    @classmethod
    def validate_config(cls, config: dict, allow_private: bool) -> None:
        """Raise ValidationError (fields under `config.<key>`) for unusable settings.

        Unknown keys are refused: a misspelt credential ("acess_token") would otherwise be
        kept in clear and echoed back."""
        fields = cls.unknown_settings(config)
        for key in cls.required_fields:
            value = config.get(key)
            if not isinstance(value, str) or not value.strip():
                fields.setdefault(f"config.{key}", f"{key} is required")
        for key in cls.secret_fields + cls.optional_fields:
            if config.get(key) is not None and not isinstance(config[key], str):
                fields.setdefault(f"config.{key}", f"{key} must be a string")
        if fields:
            first = next(iter(fields.values()))
            raise ValidationError(first, fields)

    @classmethod
    def text_length(cls, text: str) -> int:
        """The length of `text` as this platform counts it (graphemes unless it says
        otherwise, e.g. links at a fixed length)."""
        return graphemes(text)

    @classmethod
    def validate_text(cls, text: str) -> str | None:
        """An error message when `text` cannot be published on this platform."""
        length = cls.text_length(text)
        if cls.max_length is not None and length > cls.max_length:
            return f"{length} characters; {cls.platform} allows {cls.max_length}"
        if not text.strip():
            return "the text is empty"
        return None

    @classmethod
    def validate_title(cls, title: str | None) -> str | None:
        """An error message when the post's title cannot be published here (most
        platforms have no title, and ignore it)."""
        return None

    def redacted_values(self) -> list:
        """What `redact` cuts out of errors: the credentials (a publisher adds any part of
        one that travels on its own, such as a token inside a URL)."""
        return list(self.secrets.values())

    def redact(self, result: PublishResult) -> PublishResult:
        """Cut the channel's credentials out of an error: a platform may quote what it was
        sent, and errors travel on into the database, the API, notifications and e-mail."""
        if result.error:
            for value in self.redacted_values():
                if isinstance(value, str) and len(value) >= 4:
                    for form in {value, json.dumps(value)[1:-1]}:
                        result.error = result.error.replace(form, "[redacted]")
        return result

    def publish(self, message: Message) -> PublishResult:
        raise NotImplementedError

    def unpublish(self, message: Message) -> PublishResult:
        """Remove `message.external_id` from the platform (only when `can_unpublish`). An
        item the platform no longer has counts as removed."""
        raise NotImplementedError

    def check(self) -> PublishResult:
        """Whether the credentials and destination work, without publishing anything."""
        raise NotImplementedError
