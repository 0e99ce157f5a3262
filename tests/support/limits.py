"""Environments that switch chosen rate limits on (the test environment has them all off)."""

from __future__ import annotations

import secrets

from tests.support.storage import TestStorage


def limits_env(storage: TestStorage, **limits: str) -> dict[str, str]:
    """The test env's limits (all off), with ``action_subject="seconds:burst"`` switched on, and a
    Redis prefix of its own so that no other test's counters apply."""
    specs = dict(item.split("=") for item in storage.env()["COMMENTS_RATE_LIMITS"].split(","))
    for name, spec in limits.items():
        specs[name.replace("_", ".")] = spec
    return {"COMMENTS_RATE_LIMITS": ",".join(f"{k}={v}" for k, v in specs.items()),
            "COMMENTS_REDIS_PREFIX": f"{storage.redis_prefix}limits{secrets.token_hex(3)}:"}
