"""Webhook signatures: `X-Studio-Signature: t=<unix>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. Pure, no Django.

Receivers verify with `verify()` (or the README's snippet): the timestamp is signed with the body,
so a captured request cannot be replayed after `tolerance_s`.
"""

import hashlib
import hmac
import time

HEADER = "X-Studio-Signature"


def _digest(secret: str, body: bytes, t: int) -> str:
    return hmac.new(secret.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, t: int) -> str:
    """The header value for `body` sent at unix time `t`."""
    return f"t={int(t)},v1={_digest(secret, body, int(t))}"


def parse(header: str) -> tuple[int | None, list[str]]:
    """(t, [v1 signatures]) from a header; several v1 entries are allowed (e.g. during a secret rotation)."""
    t, signatures = None, []
    for part in (header or "").split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit():
            t = int(value)
        elif key == "v1" and value:
            signatures.append(value)
    return t, signatures


def verify(secret: str, body: bytes, header: str, tolerance_s: int = 300, now: float | None = None) -> bool:
    """True when `header` signs exactly `body` with `secret` and its timestamp is within `tolerance_s` of now."""
    t, signatures = parse(header)
    if t is None or not signatures:
        return False
    now = time.time() if now is None else now
    if abs(now - t) > tolerance_s:
        return False
    expected = _digest(secret, body, t)
    return any(hmac.compare_digest(expected, candidate) for candidate in signatures)
