"""Checking finmon's webhook signatures, as a receiver does (the test receivers use it)."""

from __future__ import annotations

import hmac

from alerts.signing import sign


def verify(secret: str, timestamp: str, body: bytes, signature: str, now: float, tolerance: float = 300.0) -> bool:
    """True when the signature matches and the timestamp is within `tolerance` seconds of `now`."""
    try:
        moment = int(timestamp)
    except ValueError:
        return False
    if abs(now - moment) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, moment, body), signature)
