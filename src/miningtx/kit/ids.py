"""Prefixed random identifiers (usr_, ct_, tx_ ...) and API key material."""

from __future__ import annotations

import hashlib
import secrets
import string

BASE62 = string.digits + string.ascii_letters


def random_base62(length: int) -> str:
    return "".join(secrets.choice(BASE62) for _ in range(length))


def new_id(prefix: str) -> str:
    """A public id such as ``ct_5Hq2...``: the prefix says what; 20 base62 chars, unique."""
    return f"{prefix}_{random_base62(20)}"


def hash_secret(secret: str) -> str:
    """SHA-256 of a high-entropy secret (API keys): enough, since keys cannot be guessed."""
    return hashlib.sha256(secret.encode()).hexdigest()
