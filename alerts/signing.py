"""HMAC-SHA256 webhook signatures over `timestamp.body`, so receivers can check origin and reject replays."""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value: `sha256=<hex of HMAC-SHA256(secret, f"{timestamp}." + body)>`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return PREFIX + digest
