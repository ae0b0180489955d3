"""Channel credentials at rest: Fernet, with a key derived from SECRET_KEY."""

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app


def _fernet() -> Fernet:
    digest = hashlib.sha256(b"herald-credentials:" + current_app.config["SECRET_KEY"].encode())
    return Fernet(base64.urlsafe_b64encode(digest.digest()))


class Sealer:
    """Encryption with the app's key, usable where there is no app context (a publisher's
    sending threads): made in one, kept for later."""

    def __init__(self, fernet: Fernet):
        self._fernet = fernet

    def encrypt(self, values: dict) -> str | None:
        if not values:
            return None
        return self._fernet.encrypt(json.dumps(values).encode()).decode()

    def decrypt(self, token: str | None) -> dict:
        if not token:
            return {}
        try:
            return json.loads(self._fernet.decrypt(token.encode()))
        except InvalidToken:
            # SECRET_KEY changed: the credentials must be entered again.
            return {}


def sealer() -> Sealer:
    """The app's key, for encrypting later outside the app context."""
    return Sealer(_fernet())


def encrypt(values: dict) -> str | None:
    return sealer().encrypt(values)


def decrypt(token: str | None) -> dict:
    return sealer().decrypt(token)
