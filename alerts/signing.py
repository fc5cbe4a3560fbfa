"""HMAC-SHA256 webhook signatures over `timestamp.body`, so receivers can check origin and reject replays."""

from __future__ import annotations

import hashlib
import hmac

PREFIX = "sha256="


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value: `sha256=<hex of HMAC-SHA256(secret, f"{timestamp}." + body)>`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return PREFIX + digest


def verify(secret: str, timestamp: str, body: bytes, signature: str, now: float, tolerance: float = 300.0) -> bool:
    """True when the signature matches and the timestamp is within `tolerance` seconds of `now`."""
    try:
        moment = int(timestamp)
    except ValueError:
        return False
    if abs(now - moment) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, moment, body), signature)
