"""Connecting, changing, checking and removing channels."""

import re
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from ..crypto import decrypt, encrypt
from ..engine import jobs
from ..errors import ValidationError
from ..extensions import db
from ..models import WAITING, Channel, Delivery
from ..models.audit import record
from ..publishers import PUBLISHERS, PublishResult, for_channel
from ..publishers.base import clean_text, safe_result
from ..publishers.http import unsafe_character
from .validation import Errors, in_workspace, integer, text

COLOR = re.compile(r"#[0-9a-fA-F]{6}")
NAME_MAX = 120
RATE_LIMIT_MAX = 100_000  # posts per hour
MASK = "•••"
ACCOUNT_MAX = 200  # characters of the account name a check reports


def search(workspace_id: int):
    """The query for the workspace's channels in the order they were made (the API's)."""
    return select(Channel).where(Channel.workspace_id == workspace_id).order_by(Channel.id)


def of_workspace(workspace_id: int) -> list[Channel]:
    """The workspace's channels, by name."""
    return db.session.scalars(select(Channel).where(Channel.workspace_id == workspace_id)
                              .order_by(Channel.name, Channel.id)).all()


def get(workspace_id: int, channel_id) -> Channel:
    """The workspace's channel, or NotFound."""
    return in_workspace(Channel, workspace_id, channel_id, "channel")


def _apply(channel: Channel, data: dict, partial: bool) -> None:
    errors = Errors()

    def given(name):
        return name in data or not partial

    if given("name"):
        name = text(data.get("name"), "name", errors, max_length=NAME_MAX, required=True)
        _refuse_unsafe_characters("name", name, errors)
        channel.name = name
    if not partial:
        platform = data.get("platform")
        if not isinstance(platform, str) or platform not in PUBLISHERS:
            errors.add("platform", f"must be one of: {', '.join(sorted(PUBLISHERS))}")
            errors.raise_if_any()
        channel.platform = platform
    elif "platform" in data and data["platform"] != channel.platform:
        errors.add("platform", "cannot be changed; connect a new channel instead")
    if given("color") and data.get("color") is not None:
        if not isinstance(data["color"], str) or not COLOR.fullmatch(data["color"]):
            errors.add("color", "must be a colour like #3b82f6")
        else:
            channel.color = data["color"].lower()
    if given("rate_limit_per_hour"):
        channel.rate_limit_per_hour = integer(data.get("rate_limit_per_hour"),
                                              "rate_limit_per_hour", errors, low=1,
                                              high=RATE_LIMIT_MAX)
    if "paused" in data:
        if not isinstance(data["paused"], bool):
            errors.add("paused", "must be true or false")
        else:
            channel.paused = data["paused"]
    if given("config"):
        config = data.get("config")
        if config is None:
            config = {}
        if not isinstance(config, dict) or not all(
                v is None or isinstance(v, str | int | float | bool) for v in config.values()):
            errors.add("config", "must be an object of settings")
        else:
            _set_config(channel, config, partial, errors)
    errors.raise_if_any()


def _set_config(channel: Channel, config: dict, partial: bool, errors: Errors) -> None:
    """Split config into clear settings and encrypted credentials. On a patch, settings
    not given keep their values, so a client need not send the secrets back."""
    cls = PUBLISHERS[channel.platform]
    unknown = cls.unknown_settings(config)
    for field, message in unknown.items():  # a misspelt credential is never kept in clear
        errors.add(field, message)
    unsafe = [key for key, value in config.items()
              if isinstance(value, str) and unsafe_character(value)]
    for key in unsafe:
        _refuse_unsafe_characters(f"config.{key}", config[key], errors)
    if unknown or unsafe:
        return
    secrets = decrypt(channel.secrets_encrypted) if partial else {}
    clear = dict(channel.config or {}) if partial else {}
    for key, value in config.items():
        target = secrets if key in cls.secret_fields else clear
        if value is None:  # null removes a setting (a secret, say) on a patch
            target.pop(key, None)
        else:
            target[key] = value
    try:
        cls.validate_config({**clear, **secrets},
                            current_app.config["HERALD_ALLOW_PRIVATE_NETWORKS"])
    except ValidationError as exc:
        errors.capture(exc)
        return
    channel.config = clear
    channel.secrets_encrypted = encrypt(secrets)


def _refuse_unsafe_characters(name: str, value: str, errors: Errors) -> None:
    """Control characters and lone surrogates in a setting would break whatever reads it
    next (a listing that cannot be encoded answers 500 for the whole workspace)."""
    bad = unsafe_character(value)
    if bad:
        errors.add(name, f"contains {bad}; remove it")


def is_url_setting(key: str) -> bool:
    """Whether a channel setting holds a URL (masked below admin: see shown_url)."""
    return key == "url" or key.endswith("_url")


def shown_url(url: str, full: bool) -> str:
    """A channel URL as people may see it. URLs often carry credentials (user:pass@,
    secret paths, tokens in the query), so below admin (`full` False) only scheme, host
    and port are shown and the rest is masked ("https://hooks.example.com/•••"). Admins
    (`full` True) see it whole except a userinfo password, which nobody sees again after
    saving (the URL check refuses user:pass@ today; rows saved before it may have one).
    Pages and the API show URLs through here."""
    try:
        parts = urlsplit(url)
    except ValueError:  # saved URLs were checked, but never echo one this cannot read
        return MASK
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not full:
        hidden = at or parts.path not in ("", "/") or parts.query or parts.fragment
        return f"{parts.scheme}://{hostport}" + (f"/{MASK}" if hidden else "")
    user, colon, _password = userinfo.partition(":")
    if colon:
        return parts._replace(netloc=f"{user}:{MASK}@{hostport}").geturl()
    return url


def public_config(channel: Channel, full: bool = False) -> dict:
    """Config as responses show it: settings (URLs through `shown_url`; `full` for
    admins), and only whether each credential is set."""
    cls = PUBLISHERS[channel.platform]
    secrets = decrypt(channel.secrets_encrypted)
    shown = {key: shown_url(value, full) if is_url_setting(key) and isinstance(value, str)
             else value for key, value in (channel.config or {}).items()}
    for key in cls.secret_fields:
        shown[f"{key}_set"] = bool(secrets.get(key))
    return shown


def snapshot(channel: Channel) -> dict:
    """The fields the audit log compares. Never the credentials (only whether each is
    set), and URLs masked as below admin: approvers read the log, and URLs often carry
    tokens (see shown_url)."""
    return {"name": channel.name, "platform": channel.platform, "color": channel.color,
            "paused": channel.paused, "rate_limit_per_hour": channel.rate_limit_per_hour,
            "config": public_config(channel)}


def create(workspace_id: int, user_id: int | None, data: dict) -> Channel:
    """A new channel from `data` (name, platform, config, ...); ValidationError naming
    every wrong field, and nothing saved, otherwise."""
    channel = Channel(workspace_id=workspace_id, config={})
    _apply(channel, data, partial=False)
    db.session.add(channel)
    db.session.flush()
    record(workspace_id, "channel.created", channel, user_id=user_id, after=snapshot(channel))
    db.session.commit()
    return channel


def update(channel: Channel, user_id: int | None, data: dict) -> Channel:
    """Change the fields `data` gives (secrets not given keep their values); a paused
    channel's waiting deliveries leave their jobs (the planner gives them new ones once
    it is resumed)."""
    before = snapshot(channel)
    _apply(channel, data, partial=True)
    action = "channel.updated"
    if set(data) == {"paused"} and channel.paused != before["paused"]:
        action = "channel.paused" if channel.paused else "channel.resumed"
    record(channel.workspace_id, action, channel, user_id=user_id, before=before,
           after=snapshot(channel))
    db.session.commit()
    if channel.paused:
        _unqueue(channel)
    return channel


def _unqueue(channel: Channel) -> None:
    """A paused channel's deliveries wait as pending; the planner brings them back."""
    jobs.withhold(list(db.session.scalars(select(Delivery).where(
        Delivery.channel_id == channel.id, Delivery.status == "queued"))))
    db.session.commit()


def delete(channel: Channel, user_id: int | None) -> None:
    """Remove the channel; its waiting deliveries go with it (their jobs first)."""
    waiting = list(db.session.scalars(select(Delivery).where(
        Delivery.channel_id == channel.id,
        Delivery.status.in_(WAITING))))
    jobs.unschedule(waiting)
    record(channel.workspace_id, "channel.deleted", channel, user_id=user_id,
           before=snapshot(channel))
    db.session.delete(channel)
    db.session.commit()


def check(channel: Channel) -> PublishResult:
    """Ask the platform whether the channel's settings work, publishing nothing."""
    try:
        result = for_channel(channel, redis=jobs.redis()).check()
    except ValidationError as exc:
        return PublishResult(ok=False, error=exc.message)
    if result.account is not None:  # the platform's words, shown on pages and the API
        result.account = clean_text(str(result.account), ACCOUNT_MAX) or None
    return safe_result(result)
