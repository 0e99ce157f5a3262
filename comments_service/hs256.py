"""HS256 JWT verification in a few microseconds.

PyJWT spent about 0.1 ms per token in pure Python (key preparation that probes for PEM and DER
public keys on every call, generic algorithm dispatch, ``json`` decoding): more than a cached thread
page costs to serve, paid by every signed-in reader's request. Only HS256 is ever accepted here,
so verification is a split, two base64 decodes, one HMAC and the registered-claim checks, with the
same rules PyJWT applies (tests/unit/test_hs256.py checks the two agree). PyJWT still issues tokens.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from typing import Any

import msgspec

_claims_decoder = msgspec.json.Decoder(dict[str, Any])


class TokenError(Exception):
    """A token that must be refused; ``kind`` says why (the caller maps it to its error codes)."""

    def __init__(self, kind: str, claim: str | None = None) -> None:
        super().__init__(kind if claim is None else f"{kind}: {claim}")
        self.kind = kind  # malformed | signature | expired | immature | missing_claim | issuer | audience
        self.claim = claim


def unverified_claims(token: str) -> dict[str, Any]:
    """The payload, without checking anything (to choose which key verifies it)."""
    return _split(token)[1]


def verify(token: str, key: bytes, *, issuer: str | None = None, audience: str | None = None,
           leeway: float = 0.0, now: float | None = None) -> dict[str, Any]:
    """The claims of an HS256 token signed with ``key``; ``exp`` is required, ``iat`` and ``nbf``
    are checked when present, ``iss`` and ``aud`` when asked for. Raises TokenError."""
    header, claims, signing_input, signature = _split(token)
    if header.get("alg") != "HS256":
        raise TokenError("signature")  # never "none", never another algorithm with this key
    expected = hmac.new(key, signing_input, hashlib.sha256).digest()
    if not hmac.compare_digest(expected, signature):
        raise TokenError("signature")
    now = time.time() if now is None else now
    # in PyJWT's order, so that a token with several faults is refused for the same one
    if "exp" not in claims:
        raise TokenError("missing_claim", "exp")
    for name in ("iat", "nbf"):
        if name in claims and _number(claims[name]) > now + leeway:
            raise TokenError("immature", name)
    if _number(claims["exp"]) <= now - leeway:
        raise TokenError("expired")
    if issuer is not None:
        if "iss" not in claims:
            raise TokenError("missing_claim", "iss")
        if claims["iss"] != issuer:
            raise TokenError("issuer")
    if audience is not None:
        aud = claims.get("aud")
        if not aud:
            raise TokenError("missing_claim", "aud")
        if isinstance(aud, str):
            aud = [aud]
        if not isinstance(aud, list) or not all(isinstance(a, str) for a in aud) or audience not in aud:
            raise TokenError("audience")
    for name in ("sub", "jti"):
        if name in claims and not isinstance(claims[name], str):
            raise TokenError("malformed", name)
    return claims


def _split(token: str) -> tuple[dict[str, Any], dict[str, Any], bytes, bytes]:
    try:
        raw = token.encode("ascii")
        head, payload, signature = raw.split(b".")
        header = _claims_decoder.decode(_b64(head))
        claims = _claims_decoder.decode(_b64(payload))
        return header, claims, head + b"." + payload, _b64(signature)
    # UnicodeError is a ValueError; RecursionError: JSON nested past the interpreter's stack, which
    # anyone can send, as the payload is read before the signature is checked
    except (ValueError, binascii.Error, msgspec.DecodeError, RecursionError):
        raise TokenError("malformed") from None


def _b64(segment: bytes) -> bytes:
    if b"=" in segment:  # JWTs are unpadded base64url; padding is not part of the format
        raise ValueError("padded segment")
    return base64.urlsafe_b64decode(segment + b"=" * (-len(segment) % 4))


def _number(value: Any) -> int | float:
    # compared as they are: float() of an integer beyond 1e308 raises OverflowError
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TokenError("malformed", "numeric date")
    return value
