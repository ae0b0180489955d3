"""Channel credentials at rest: Fernet, with a key derived from SECRET_KEY."""

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken
from flask import current_app


def _fernet() -> Fernet:
    digest = hashlib.sha256(b"herald-credentials:" + current_app.config["SECRET_KEY"].encode())
    return Fernet(base64.urlsafe_b64encode(digest.digest()))


def encrypt(values: dict) -> str | None:
    if not values:
        return None
    return _fernet().encrypt(json.dumps(values).encode()).decode()


def decrypt(token: str | None) -> dict:
    if not token:
        return {}
    try:
        return json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken:
        # SECRET_KEY changed: the credentials must be entered again.
        return {}
