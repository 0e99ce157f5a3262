"""The guests' proof of work, in ALTCHA's open wire format (https://altcha.org/docs/proof-of-work/).

A challenge is ``sha256(salt + str(number))`` for a secret ``number`` between 0 and ``maxnumber``;
the client finds ``number`` by trying them in turn (``maxnumber / 2`` hashes on average, at most
``maxnumber``). The salt carries when the challenge expires and the site it was made for, and the
server signs the challenge (``HMAC-SHA256(key, challenge)``, hex), so it keeps no state per
challenge it hands out: what comes back is checked against the signature. The client's answer is
``base64(JSON {algorithm, challenge, number, salt, signature})``, what ALTCHA's widget sends.

Pure: the keys, the time and the random source are the caller's (services/guest_challenge.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Sequence
from urllib.parse import parse_qs, quote

import msgspec

from .structs import Struct

ALGORITHM = "SHA-256"
# what a payload may weigh: a salt and three hex digests; anything longer is not ours
MAX_PAYLOAD_CHARS = 1024
# the most any challenge asks (services/guest_challenge.py caps its levels below this): a number
# beyond it was never asked for, whatever the signature
MAX_NUMBER = 100_000_000


class Challenge(Struct, frozen=True):
    """What ``GET /api/v1/challenge`` answers: ALTCHA's challenge object."""

    algorithm: str
    challenge: str
    maxnumber: int
    salt: str
    signature: str


class Solution(Struct, frozen=True):
    """A solution that verified: its challenge (the replay key) and when it stops being good."""

    challenge: str
    expires: int


class ChallengeRefused(ValueError):
    """``code``: ``challenge_invalid`` (forged, wrong, malformed, another site's) or ``challenge_expired``."""

    def __init__(self, code: str, why: str) -> None:
        super().__init__(why)
        self.code = code


class _Payload(Struct):
    # ALTCHA's widget adds fields of its own (``took``); they are read past, not refused
    algorithm: str
    challenge: str
    number: int
    salt: str
    signature: str


def _digest(salt: str, number: int) -> str:
    return hashlib.sha256(f"{salt}{number}".encode()).hexdigest()


def sign(key: bytes, challenge: str) -> str:
    return hmac.new(key, challenge.encode(), hashlib.sha256).hexdigest()


def network_tag(key: bytes, network: str) -> str:
    """A keyed stand-in for the network a challenge was handed to (``network_of``; "" for none):
    the salt binds the solution to it without spelling out an address."""
    return hmac.new(key, b"net:" + network.encode(), hashlib.sha256).hexdigest()[:16]


def make(key: bytes, site_id: str, *, now: int, ttl_seconds: int, maxnumber: int,
         number: int | None = None, network: str = "") -> Challenge:
    """A new challenge for ``site_id`` that expires ``ttl_seconds`` after ``now`` (unix seconds),
    good only when solved from ``network`` (``network_of`` of the asking address, "" for none):
    solutions computed on many machines cannot all be spent from one address, whose difficulty
    rises with what it asks."""
    if number is None:
        number = secrets.randbelow(maxnumber + 1)
    # the closing "&": the number is appended to the salt when hashing, and without it the number's
    # first digits could be read as the end of the site's name (another site's solution)
    salt = (f"{secrets.token_hex(12)}?expires={now + ttl_seconds}&site={quote(site_id, safe='')}"
            f"&net={network_tag(key, network)}&")
    challenge = _digest(salt, number)
    return Challenge(algorithm=ALGORITHM, challenge=challenge, maxnumber=maxnumber, salt=salt,
                     signature=sign(key, challenge))


def verify(keys: Sequence[bytes], payload: str, site_id: str, *, now: int, network: str = "") -> Solution:
    """The solution ``payload`` carries, when it answers a challenge signed by one of ``keys`` for
    ``site_id``, handed to ``network``, that has not expired; ChallengeRefused otherwise. Replays
    are the caller's to refuse (this holds no state)."""
    if len(payload) > MAX_PAYLOAD_CHARS:
        raise ChallengeRefused("challenge_invalid", "payload too long")
    try:
        parsed = msgspec.json.decode(base64.b64decode(payload, validate=True), type=_Payload)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        raise ChallengeRefused("challenge_invalid", "payload is not base64 JSON of an ALTCHA solution") from None
    if parsed.algorithm != ALGORITHM:
        raise ChallengeRefused("challenge_invalid", "unsupported algorithm")
    # ours are hex and ASCII; the constant-time compare refuses other text with a TypeError
    if not (parsed.challenge.isascii() and parsed.signature.isascii() and parsed.salt.isascii()):
        raise ChallengeRefused("challenge_invalid", "not ASCII")
    if not 0 <= parsed.number <= MAX_NUMBER:
        raise ChallengeRefused("challenge_invalid", "number out of range")
    # the signature first: what follows reads the salt, which only counts once it is ours
    signer = next((key for key in keys if hmac.compare_digest(sign(key, parsed.challenge),
                                                               parsed.signature.lower())), None)
    if signer is None:
        raise ChallengeRefused("challenge_invalid", "signature does not match")
    if not hmac.compare_digest(_digest(parsed.salt, parsed.number), parsed.challenge):
        raise ChallengeRefused("challenge_invalid", "number does not solve the challenge")
    if not parsed.salt.endswith("&"):
        raise ChallengeRefused("challenge_invalid", "salt not closed")
    _, _, query = parsed.salt.partition("?")
    params = parse_qs(query, keep_blank_values=True, max_num_fields=8)
    try:
        expires = int(params["expires"][0])
        site = params["site"][0]
        net = params["net"][0]
    except (KeyError, IndexError, ValueError):
        raise ChallengeRefused("challenge_invalid", "salt lacks its expiry, site or network") from None
    if site != site_id:
        raise ChallengeRefused("challenge_invalid", "challenge made for another site")
    if not hmac.compare_digest(net, network_tag(signer, network)):
        raise ChallengeRefused("challenge_invalid", "challenge handed to another network")
    if expires <= now:
        raise ChallengeRefused("challenge_expired", "challenge expired")
    return Solution(challenge=parsed.challenge, expires=expires)


def encode_solution(challenge: Challenge, number: int) -> str:
    """The payload a client sends for ``number`` (tests and the CLI's checks build it this way)."""
    body = {"algorithm": challenge.algorithm, "challenge": challenge.challenge, "number": number,
            "salt": challenge.salt, "signature": challenge.signature}
    return base64.b64encode(msgspec.json.encode(body)).decode()


def solve(challenge: Challenge) -> int | None:
    """The number that answers ``challenge`` (tests: what the widget does, in Python)."""
    for number in range(challenge.maxnumber + 1):
        if _digest(challenge.salt, number) == challenge.challenge:
            return number
    return None


def network_of(ip: str) -> str:
    """The network a busy address's neighbours share for the challenge's difficulty: an IPv4
    address's /24, an IPv6 address's /48 (one site's allocation; domain/limits.address_group counts
    the single client, /32 or /64)."""
    addr = ipaddress.ip_address(ip)
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        addr = addr.ipv4_mapped
    prefix = 24 if isinstance(addr, ipaddress.IPv4Address) else 48
    return str(ipaddress.ip_network(f"{addr}/{prefix}", strict=False))
