"""Rate-limit rules: which actions are limited, per user and per IP, and how to override them."""

from __future__ import annotations

import ipaddress
from functools import lru_cache

from .structs import Struct


class Limit(Struct, frozen=True):
    per_seconds: float  # one request per this many seconds, sustained
    burst: int  # requests allowed at once


# action -> subject ("user" | "ip") -> limit
DEFAULT_LIMITS: dict[str, dict[str, Limit]] = {
    "post": {"user": Limit(per_seconds=5.0, burst=3), "ip": Limit(per_seconds=3.0, burst=10)},
    "edit": {"user": Limit(per_seconds=3.0, burst=5), "ip": Limit(per_seconds=1.0, burst=20)},
    "report": {"user": Limit(per_seconds=6.0, burst=5), "ip": Limit(per_seconds=2.0, burst=20)},
    "vote": {"user": Limit(per_seconds=0.5, burst=20), "ip": Limit(per_seconds=0.1, burst=60)},
    "check": {"user": Limit(per_seconds=1.0, burst=10), "ip": Limit(per_seconds=0.5, burst=30)},
    "guest": {"ip": Limit(per_seconds=30.0, burst=5)},
    # a guest's widget asks for a proof-of-work challenge before each post: 20 at once, then one
    # every two seconds, is more than a writer needs, and each answer costs a Redis call and a signature
    "challenge": {"ip": Limit(per_seconds=2.0, burst=20)},
    "troubleshoot": {"ip": Limit(per_seconds=2.0, burst=10)},
    # a front page asks on every view: generous, but no address can drive unbounded work
    "counts": {"ip": Limit(per_seconds=0.2, burst=60)},
    # console sign-in attempts: tokens are far too long to guess, and this keeps anyone from trying
    "signin": {"ip": Limit(per_seconds=6.0, burst=10)},
    # an admin's "try a text" (services/policy_trial.py): each may ask the scoring worker
    "policy_trial": {"user": Limit(per_seconds=1.0, burst=20)},
    # an email subscription to an address not yet confirmed sends it a confirmation: a reader cannot
    # have us write to many addresses, nor one address many times
    "confirm_email": {"user": Limit(per_seconds=3600.0, burst=5), "ip": Limit(per_seconds=600.0, burst=20)},
    # notices of illegal content (services/dsa.py): anyone may send one, signed in or not, so the
    # address carries the limit; appeals are rare and each wants a person's reading
    "notice": {"user": Limit(per_seconds=60.0, burst=10), "ip": Limit(per_seconds=60.0, burst=10)},
    "appeal": {"user": Limit(per_seconds=60.0, burst=5), "ip": Limit(per_seconds=60.0, burst=10)},
    # one notice a day on one comment from one address, and from one notifier's email: the moderators
    # already have it, and a flood of copies would bury the other notices in their queue
    "notice_once": {"user": Limit(per_seconds=86400.0, burst=1)},
    # a notifier's email is not confirmed: few decisions a day are mailed to any one address
    "notice_recipient": {"user": Limit(per_seconds=3600.0, burst=5)},
    # a reader's data export (services/privacy.py) reads up to tens of thousands of rows: a reader
    # needs it now and then, never in a loop
    "data_export": {"user": Limit(per_seconds=60.0, burst=5), "ip": Limit(per_seconds=10.0, burst=20)},
}


def parse_limits(raw: str) -> dict[str, dict[str, Limit]]:
    """``post.user=5:3,vote.ip=0.1:60`` (seconds per request : burst) overrides the defaults."""
    limits = {action: dict(subjects) for action, subjects in DEFAULT_LIMITS.items()}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        name, _, spec = item.partition("=")
        action, _, subject = name.partition(".")
        seconds, _, burst = spec.partition(":")
        if action not in limits or subject not in ("user", "ip"):
            raise ValueError(f"unknown limit {name!r}; actions: {', '.join(limits)}; subjects: user, ip")
        limit = Limit(per_seconds=float(seconds), burst=int(burst or 1))
        if limit.per_seconds < 0 or limit.burst < 1:
            raise ValueError(f"limit {name!r} needs seconds >= 0 and burst >= 1")
        limits[action][subject] = limit
    return limits


@lru_cache(maxsize=4096)
def address_group(ip: str) -> str:
    """The network that counts as one client for per-address limits, caps and guest bans: an IPv4
    address alone, an IPv6 address by its /64 (one subscriber's block: a client holds billions of
    addresses in it). CIDR notation, as PostgreSQL's inet operators take it."""
    addr = ipaddress.ip_address(ip)
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is None:
            return str(ipaddress.ip_network(f"{addr}/64", strict=False))
        addr = addr.ipv4_mapped
    return f"{addr}/32"


@lru_cache(maxsize=4096)
def bannable_address(ip: str) -> bool:
    """Whether a guest ban may reach the network of ``ip``: not a private, loopback or link-local
    address, which is what every reader shows when a proxy in front is not trusted to forward the
    real one (COMMENTS_TRUSTED_PROXIES); one ban must not then shut out every guest."""
    addr = ipaddress.ip_address(ip)
    return not (addr.is_private or addr.is_loopback or addr.is_link_local or addr.is_unspecified)
