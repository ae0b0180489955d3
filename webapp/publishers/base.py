"""The interface every platform's publisher implements, and the shape of its answers."""

from dataclasses import dataclass

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


class Publisher:
    """One platform. `config` holds non-secret settings, `secrets` the decrypted credentials."""

    platform = ""
    # Config keys that are credentials: encrypted at rest, never echoed.
    secret_fields: tuple[str, ...] = ()
    required_fields: tuple[str, ...] = ()
    max_length: int | None = None

    def __init__(self, config: dict, secrets: dict, *, timeout: float, allow_private: bool):
        self.config = config
        self.secrets = secrets
        self.timeout = timeout
        self.allow_private = allow_private

    @classmethod
    def validate_config(cls, config: dict, allow_private: bool) -> None:
        """Raise ValidationError (fields under `config.<key>`) for unusable settings."""
        for key in cls.required_fields:
            if not isinstance(config.get(key), str) or not config.get(key).strip():
                raise ValidationError.field(f"config.{key}", f"{key} is required")

    @classmethod
    def validate_text(cls, text: str) -> str | None:
        """An error message when `text` cannot be published on this platform."""
        if cls.max_length is not None and len(text) > cls.max_length:
            return f"{len(text)} characters; {cls.platform} allows {cls.max_length}"
        if not text.strip():
            return "the text is empty"
        return None

    def publish(self, message: Message) -> PublishResult:
        raise NotImplementedError

    def check(self) -> PublishResult:
        """Whether the credentials and destination work, without publishing anything."""
        raise NotImplementedError
