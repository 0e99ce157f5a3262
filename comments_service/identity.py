"""Who is asking: host-site SSO JWTs, our own signed guest tokens, and moderator API tokens.

- SSO: HS256 JWTs signed by the host site with its SSO secret: sub, name and exp required; iat and
  nbf checked when present; email?, role?, aud? (= the site id). README.md, "Signing readers in
  (SSO)", documents the same table (tests/integration/test_sso_me.py holds the two together).
  Verified against the secret of the site the request names. The same token sits in the reader's
  widget, so staff power does not ride in it by default: a moderator or admin role counts only
  where the site allows it (``sso_staff_roles``) and the token names the site in ``aud``; a site
  may require ``aud`` of every token (``sso_require_aud``).
- Guests: the service signs a JWT (iss = comments_service, typ = guest) with its own secret key,
  bound to one site and one guest user; the widget keeps it in localStorage.
- API tokens: opaque random strings for moderators and admins, stored as SHA-256 hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import jwt
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from . import hs256
from .domain.labels import clean_label
from .domain.structs import Struct
from .errors import DomainError

GUEST_ISSUER = "comments_service"
API_TOKEN_PREFIX = "csm_"
Role = Literal["reader", "moderator", "admin"]
_LEEWAY_SECONDS = 30
_BAD_SIGNATURE = "The sign-in token's signature is invalid."


class Identity(Struct, frozen=True):
    """A verified reader (or moderator) of one site."""

    site_id: str
    kind: Literal["sso", "guest"]
    external_id: str
    name: str
    email: str | None = None
    role: Role = "reader"
    user_id: int | None = None  # known for guests (the token carries it); resolved for SSO


class SsoRules(Struct, frozen=True):
    """How a site trusts its SSO tokens (from its settings)."""

    staff_roles: bool = False  # role moderator/admin counts (only with aud = the site)
    require_aud: bool = False  # every token must name the site in aud
    # the site has an SSO secret, but it opens with none of the service's keys (Keyring)
    secret_sealed_elsewhere: bool = False

    @classmethod
    def from_site_settings(cls, settings: Mapping[str, Any], *, secret_sealed_elsewhere: bool = False) -> SsoRules:
        return cls(staff_roles=settings.get("sso_staff_roles") is True,
                   require_aud=settings.get("sso_require_aud") is True,
                   secret_sealed_elsewhere=secret_sealed_elsewhere)


class SecretSealedElsewhere(ValueError):
    """A sealed secret that opens with none of this service's keys: it was sealed under another
    COMMENTS_SECRET_KEY (or is damaged)."""


class Keyring:
    """The service's secret key and what is derived from it.

    ``previous``: keys being rotated away from. They still open secrets and verify guest tokens,
    so that processes can take the new key one at a time and ``comments-service rekey`` can seal
    every secret again; only the current key seals and signs."""

    def __init__(self, secret_key: str, previous: Sequence[str] = ()) -> None:
        keys = [secret_key, *previous]
        self._signing_keys = [hashlib.sha256(b"guest-token:" + key.encode()).digest() for key in keys]
        self._aeads = [AESGCM(hashlib.sha256(b"site-secrets:" + key.encode()).digest()) for key in keys]
        self._mac_keys = [hashlib.sha256(b"mac:" + key.encode()).digest() for key in keys]

    def mac(self, purpose: str, message: bytes) -> bytes:
        """HMAC-SHA256 of ``message`` under the current key, bound to ``purpose`` (a tag made for
        one purpose is never valid for another)."""
        return hmac.new(self._mac_keys[0], purpose.encode() + b"\0" + message, hashlib.sha256).digest()

    def derived_keys(self, purpose: str) -> list[bytes]:
        """A key of its own for ``purpose`` from each key of the ring, current first, for a scheme
        that takes a bare HMAC key (the guests' proof of work signs ALTCHA's way)."""
        return [hmac.new(key, b"derived-key:" + purpose.encode(), hashlib.sha256).digest() for key in self._mac_keys]

    def mac_matches(self, purpose: str, message: bytes, tag: bytes) -> bool:
        """Whether ``tag`` is ``mac(purpose, message)`` under any key of the ring, compared in
        constant time (a tag made before a key rotation stays good until the previous key goes)."""
        found = False
        for key in self._mac_keys:
            expected = hmac.new(key, purpose.encode() + b"\0" + message, hashlib.sha256).digest()
            found |= hmac.compare_digest(expected, tag)
        return found

    def mac_prefix_matches(self, purpose: str, message: bytes, tag: bytes) -> bool:
        """As mac_matches, for a tag cut to its first ``len(tag)`` bytes (at least 16): links
        carry short tags."""
        if len(tag) < 16:
            return False
        found = False
        for key in self._mac_keys:
            expected = hmac.new(key, purpose.encode() + b"\0" + message, hashlib.sha256).digest()[:len(tag)]
            found |= hmac.compare_digest(expected, tag)
        return found

    def encrypt(self, plaintext: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aeads[0].encrypt(nonce, plaintext.encode(), b"sso-secret")

    def decrypt(self, blob: bytes) -> str:
        """The secret; SecretSealedElsewhere when no key of this keyring opens it."""
        return self._open(blob)[0]

    def reseal(self, blob: bytes) -> bytes | None:
        """``blob`` sealed again under the current key when only a previous key opens it; None
        when the current key already does. SecretSealedElsewhere when no key opens it."""
        plaintext, index = self._open(blob)
        return None if index == 0 else self.encrypt(plaintext)

    def _open(self, blob: bytes) -> tuple[str, int]:
        if len(blob) > 12:
            for index, aead in enumerate(self._aeads):
                try:
                    return aead.decrypt(blob[:12], blob[12:], b"sso-secret").decode(), index
                except InvalidTag:
                    continue
        raise SecretSealedElsewhere("the sealed secret does not open with COMMENTS_SECRET_KEY (nor "
                                    "COMMENTS_SECRET_KEY_PREVIOUS): it was sealed under another key")

    def issue_guest_token(self, site_id: str, user_id: int, name: str, ttl_days: int) -> str:
        now = int(time.time())
        claims = {"iss": GUEST_ISSUER, "typ": "guest", "site": site_id, "sub": str(user_id), "name": name,
                  "iat": now, "exp": now + ttl_days * 86_400}
        return jwt.encode(claims, self._signing_keys[0], algorithm="HS256")

    def verify_guest_token(self, token: str, site_id: str) -> Identity:
        claims = _decode(token, self._signing_keys, issuer=GUEST_ISSUER)
        if claims.get("typ") != "guest" or not str(claims.get("sub", "")).isdigit():
            raise DomainError("token_invalid", "The guest token is malformed.")
        if claims.get("site") != site_id:
            raise DomainError("token_wrong_site")
        return Identity(site_id=site_id, kind="guest", external_id=f"guest:{claims['sub']}",
                        name=str(claims.get("name", "Guest")), user_id=int(claims["sub"]))


def verify_bearer_token(keyring: Keyring, token: str, site_id: str, sso_secret: str | None,
                        rules: SsoRules = SsoRules()) -> Identity:
    """A guest token of ours or the site's SSO token, verified for ``site_id``: the one place every
    route and the troubleshooter turn a bearer token into an identity. One unverified read of the
    claims picks the kind, so a request parses its token once."""
    known = VERIFIED.get(token, site_id, keyring, sso_secret, rules, time.time())
    if known is not None:
        return known
    unverified = _unverified_claims(token)
    if unverified.get("iss") == GUEST_ISSUER:
        identity = keyring.verify_guest_token(token, site_id)
        VERIFIED.put(token, site_id, keyring, None, unverified["exp"] + _LEEWAY_SECONDS, identity)
        return identity
    identity = verify_sso_token(token, site_id, sso_secret, unverified, rules)
    if sso_secret is not None:  # (verify_sso_token refuses every token without one)
        VERIFIED.put(token, site_id, sso_secret, rules, unverified["exp"] + _LEEWAY_SECONDS, identity)
    return identity


# the longest token remembered: a host site's tokens are a few hundred characters, and a site that
# signs huge ones (its own secret lets it) must not fill every process's memory with them
MEMO_TOKEN_MAX = 2048


class VerifiedTokens:
    """Tokens this process verified lately, and whom they name. A reader's widget sends the same
    token (the host site's SSO token, or the guest token we signed) with every request, and
    checking its signature and claims again is a few per cent of a post's CPU and more of a
    signed-in page view's.

    An entry only ever comes from a full verification that passed, is found by the whole token
    (its signature included), and answers only for the same site, and for what verified it: the
    same SSO secret and rules, or for a guest token the same keyring (the service's keys). It
    answers only until the moment that verification would call the token expired (``exp`` plus
    the leeway). Its other time checks (``iat``, ``nbf``) refuse only a token from the future,
    which one that passed can no longer be. The least recently used entries go first past
    ``size`` (a site that signs tokens at will cannot push out the readers who keep coming back),
    and a token longer than ``MEMO_TOKEN_MAX`` is never kept (at most ``size`` times that in
    memory)."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._held: dict[str, tuple[str, Keyring | str, SsoRules | None, float, Identity]] = {}

    def get(self, token: str, site_id: str, keyring: Keyring, secret: str | None, rules: SsoRules,
            now: float) -> Identity | None:
        held = self._held.get(token)
        if held is None:
            return None
        held_site, verifier, held_rules, expires, identity = held
        # a guest token answers to the keys that signed it, an SSO token to the site's secret and rules
        same = (verifier is keyring) if identity.kind == "guest" else (verifier == secret and held_rules == rules)
        if not (same and held_site == site_id and now < expires):
            return None
        del self._held[token]  # the newest again
        self._held[token] = held
        return identity

    def put(self, token: str, site_id: str, verifier: Keyring | str, rules: SsoRules | None, expires: float,
            identity: Identity) -> None:
        """``verifier`` and ``rules``: the keyring that verified a guest token (no rules), or the
        site's secret and rules that verified an SSO one."""
        if len(token) > MEMO_TOKEN_MAX:
            return
        held = self._held
        held.pop(token, None)
        held[token] = (site_id, verifier, rules, expires, identity)
        while len(held) > self.size:
            del held[next(iter(held))]

    def clear(self) -> None:
        self._held.clear()


VERIFIED = VerifiedTokens()


def _unverified_claims(token: str) -> dict[str, Any]:
    try:
        return hs256.unverified_claims(token)
    except hs256.TokenError:
        raise DomainError("token_invalid", "The sign-in token is not a JWT.") from None


def verify_sso_token(token: str, site_id: str, secret: str | None, unverified: dict[str, Any] | None = None,
                     rules: SsoRules = SsoRules()) -> Identity:
    """Verify a host-site SSO token for ``site_id``; raises token_* domain errors with a reason.
    ``unverified``: the token's claims as already read without checking the signature."""
    if unverified is None:
        unverified = _unverified_claims(token)
    audience = unverified.get("aud")
    if audience is not None and audience != site_id and audience != [site_id]:
        raise DomainError("token_wrong_site")
    if audience is None and rules.require_aud:
        raise DomainError("token_invalid", "This site's sign-in tokens must name the site in 'aud'.")
    if secret is None:
        if rules.secret_sealed_elsewhere:
            # the service's configuration, not the reader's token, is at fault
            raise DomainError("sso_unavailable")
        raise DomainError("token_invalid", "This site does not accept sign-in tokens.")
    try:
        claims = _decode(token, (secret.encode(),), audience=site_id if audience is not None else None)
    except DomainError as err:
        if err.message == _BAD_SIGNATURE and audience is None:
            # A valid signature for another site looks like a forged one from here; say which it may be.
            raise DomainError("token_invalid", "The sign-in token's signature does not match this site.") from None
        raise
    sub = claims.get("sub")
    name = claims.get("name")
    if not isinstance(sub, str) or not sub or len(sub) > 200:
        raise DomainError("token_invalid", "The sign-in token has no valid 'sub' claim.")
    if not isinstance(name, str) or not name.strip():
        raise DomainError("token_invalid", "The sign-in token has no valid 'name' claim.")
    role = claims.get("role", "reader")
    if role not in ("reader", "moderator", "admin") or not (rules.staff_roles and audience is not None):
        role = "reader"
    email = claims.get("email") if isinstance(claims.get("email"), str) else None
    name = clean_label(name)[:80]
    if not name:
        raise DomainError("token_invalid", "The sign-in token has no valid 'name' claim.")
    return Identity(site_id=site_id, kind="sso", external_id=sub, name=name, email=email, role=role)


def _decode(token: str, keys: Sequence[bytes], *, issuer: str | None = None,
            audience: str | None = None) -> dict[str, Any]:
    """The claims of ``token`` signed with one of ``keys`` (tried in order: the first one the
    signature matches decides every other check)."""
    try:
        for key in keys[:-1]:
            try:
                return hs256.verify(token, key, issuer=issuer, audience=audience, leeway=_LEEWAY_SECONDS)
            except hs256.TokenError as err:
                if err.kind != "signature":
                    raise
        return hs256.verify(token, keys[-1], issuer=issuer, audience=audience, leeway=_LEEWAY_SECONDS)
    except hs256.TokenError as err:
        if err.kind == "expired":
            raise DomainError("token_expired") from None
        if err.kind == "audience":
            raise DomainError("token_wrong_site") from None
        if err.kind == "missing_claim":
            raise DomainError("token_invalid", f"The sign-in token lacks the '{err.claim}' claim.") from None
        if err.kind == "immature":
            raise DomainError("token_invalid", f"The sign-in token is not valid yet (its '{err.claim}').") from None
        if err.kind == "malformed":
            raise DomainError("token_invalid", "The sign-in token is malformed.") from None
        raise DomainError("token_invalid", _BAD_SIGNATURE) from None


def new_api_token() -> tuple[str, bytes]:
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    return token, hash_api_token(token)


def hash_api_token(token: str) -> bytes:
    # API tokens carry 256 bits of randomness, so a plain SHA-256 cannot be brute-forced
    return hashlib.sha256(token.encode()).digest()
