"""A platform session that outlives one publish: kept in Redis, encrypted, per channel.

Some platforms limit how often a session may be opened (Bluesky: 30 createSession calls per
5 minutes), so every job, worker and web process reuses the channel's session instead of
opening its own. The value is sealed with the app's key (crypto.py) and carries a
fingerprint of the credentials it was opened with: after the handle or password of a
channel changes, the old session is never used again."""

import hashlib
import json
import logging

from redis import Redis
from redis.exceptions import RedisError

from ..crypto import Sealer

log = logging.getLogger(__name__)

KEY_PREFIX = "herald:session:"


def fingerprint(*credentials: str) -> str:
    """What identifies the credentials a session was opened with (kept only encrypted)."""
    return hashlib.sha256(json.dumps(credentials).encode()).hexdigest()


class SessionStore:
    """One channel's session. Redis failing costs a new session, never a publish."""

    def __init__(self, redis: Redis, sealer: Sealer, channel_id: int, platform: str):
        self.redis = redis
        self.sealer = sealer
        self.key = f"{KEY_PREFIX}{platform}:{channel_id}"

    def load(self, expected_fingerprint: str) -> dict | None:
        try:
            sealed = self.redis.get(self.key)
        except RedisError:
            log.warning("cannot read the session of %s from Redis", self.key)
            return None
        if not sealed:
            return None
        values = self.sealer.decrypt(sealed.decode() if isinstance(sealed, bytes) else sealed)
        if values.get("fingerprint") != expected_fingerprint:
            return None
        return values.get("session") or None

    def save(self, session: dict, expected_fingerprint: str, ttl: int) -> None:
        sealed = self.sealer.encrypt({"fingerprint": expected_fingerprint, "session": session})
        try:
            self.redis.set(self.key, sealed, ex=max(int(ttl), 1))
        except RedisError:
            log.warning("cannot keep the session of %s in Redis", self.key)

    def forget(self) -> None:
        try:
            self.redis.delete(self.key)
        except RedisError:
            log.warning("cannot remove the session of %s from Redis", self.key)
