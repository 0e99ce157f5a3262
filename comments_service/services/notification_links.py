"""The links in our emails that act without signing in: unsubscribing (RFC 8058 one-click) and
confirming a guest's address. Each is signed with the service's key for one purpose, names one
subscription and the address it was sent to, and expires: a link forwarded or leaked can end or
confirm that one subscription for that one address, nothing else, and not forever."""

from __future__ import annotations

import base64
import binascii
import hashlib
import time
from typing import Literal
from urllib.parse import quote

import msgspec

from ..errors import DomainError
from ..identity import Keyring

# unsubscribe: a reader's subscription; confirm: a guest's address; alerts: a moderator's email alerts
Purpose = Literal["unsubscribe", "confirm", "alerts"]
_PATHS = {"unsubscribe": "unsubscribe", "confirm": "confirm", "alerts": "alerts-off"}
_TAG_BYTES = 16


class LinkClaims(msgspec.Struct, frozen=True, array_like=True):
    subscription_id: int  # or, for "alerts", the moderator's alert settings' id
    address: str  # sha256 of the address the link went to, hex, 32 characters
    expires: int


_decode = msgspec.msgpack.Decoder(LinkClaims)
_encode = msgspec.msgpack.Encoder()


def address_digest(address: str) -> str:
    return hashlib.sha256(address.encode()).hexdigest()[:32]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class NotificationLinks:
    def __init__(self, keyring: Keyring, public_url: str, *, days: int) -> None:
        self.keyring = keyring
        self.public_url = public_url.rstrip("/")
        self.days = days

    def token(self, purpose: Purpose, subscription_id: int, address: str, *, now: float | None = None) -> str:
        expires = int((time.time() if now is None else now) + self.days * 86_400)
        body = _encode.encode(LinkClaims(subscription_id, address_digest(address), expires))
        return _b64(body) + "." + _b64(self.keyring.mac("notification-link:" + purpose, body)[:_TAG_BYTES])

    def url(self, purpose: Purpose, subscription_id: int, address: str) -> str:
        token = quote(self.token(purpose, subscription_id, address))
        return f"{self.public_url}/api/v1/notifications/{_PATHS[purpose]}?token={token}"

    def open(self, purpose: Purpose, token: str, *, now: float | None = None) -> LinkClaims:
        """The claims of a link made for ``purpose``; DomainError link_invalid or link_expired."""
        body_text, dot, tag_text = token.partition(".")
        if not dot or len(token) > 200:
            raise DomainError("link_invalid", "This link is not one of ours, or it was cut short.")
        try:
            body, tag = _unb64(body_text), _unb64(tag_text)
            valid = len(tag) == _TAG_BYTES and self._tag_matches(purpose, body, tag)
            claims = _decode.decode(body) if valid else None
        except (binascii.Error, ValueError, msgspec.DecodeError):
            claims = None
        if claims is None:
            raise DomainError("link_invalid", "This link is not one of ours, or it was cut short.")
        if claims.expires < (time.time() if now is None else now):
            raise DomainError("link_expired", "This link has expired.")
        return claims

    def _tag_matches(self, purpose: Purpose, body: bytes, tag: bytes) -> bool:
        # a tag is the first 16 bytes of the purpose's MAC: compared under each key of the ring
        return self.keyring.mac_prefix_matches("notification-link:" + purpose, body, tag)
