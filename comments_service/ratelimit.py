"""Rate limits per user and per IP, shared through Redis (GCRA), with an in-process fallback.

When Redis is unreachable each process enforces the same limits on its own (GCRA in memory).
With N API processes a subject may then get up to N times its allowance until Redis returns:
we choose that over refusing every write or allowing unlimited ones.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from functools import partial

from .cache import RedisGate, lua
from .domain.limits import Limit, address_group
from .errors import RateLimited
from .redis_cluster import tag


class _LocalGCRA:
    def __init__(self, max_keys: int = 100_000) -> None:
        self._tat: OrderedDict[str, float] = OrderedDict()
        self._max_keys = max_keys

    def hit(self, key: str, limit: Limit) -> float:
        now = time.monotonic()
        tat = max(self._tat.get(key, now), now)
        new_tat = tat + limit.per_seconds
        allow_at = new_tat - limit.per_seconds * limit.burst
        if allow_at > now:
            return allow_at - now
        self._tat[key] = new_tat
        self._tat.move_to_end(key)
        while len(self._tat) > self._max_keys:
            self._tat.popitem(last=False)
        return 0.0


class RateLimiter:
    def __init__(self, gate: RedisGate, prefix: str, limits: dict[str, dict[str, Limit]]) -> None:
        self.gate = gate
        self.prefix = prefix
        self.limits = limits
        self.local = _LocalGCRA()
        self.rejections: dict[str, int] = {}
        self._script = gate.register_script(lua("rate_limit"))

    def applies(self, action: str, subject: str) -> bool:
        """Whether ``action`` is limited for ``subject`` ("user" or "ip") at all."""
        limit = self.limits.get(action, {}).get(subject)
        return limit is not None and limit.per_seconds != 0

    async def check(self, action: str, *, user: str | None, ip: str | None) -> None:
        """Raise RateLimited if either subject is over its limit for ``action``. ``ip`` counts by
        its address group (domain/limits.address_group)."""
        for subject, value in (("user", user), ("ip", address_group(ip) if ip else None)):
            limit = self.limits.get(action, {}).get(subject)
            if limit is None or value is None or limit.per_seconds == 0:
                continue
            key = self._key(action, subject, value)
            retry = await self._hit(key, limit)
            if retry > 0:
                self.rejections[action] = self.rejections.get(action, 0) + 1
                raise RateLimited(retry, action)

    async def retry_after(self, action: str, *, user: str | None, ip: str | None) -> float:
        """Seconds until ``action`` is allowed again for these subjects, without using an allowance."""
        worst = 0.0
        client = self.gate.client
        if client is None:
            return worst
        for subject, value in (("user", user), ("ip", address_group(ip) if ip else None)):
            limit = self.limits.get(action, {}).get(subject)
            if limit is None or value is None or limit.per_seconds == 0:
                continue
            key = self._key(action, subject, value)
            raw = await self.gate.call(partial(client.pttl, key))
            if raw is not None and raw > 0:
                stored = await self.gate.call(partial(client.get, key))
                if stored is not None:
                    now_ms = time.time() * 1000
                    # the next request would be admitted once its own arrival fits in the burst
                    allow_at = float(stored) + limit.per_seconds * 1000 * (1 - limit.burst)
                    worst = max(worst, (allow_at - now_ms) / 1000)
        return max(0.0, worst)

    def _key(self, action: str, subject: str, value: str) -> str:
        return f"{self.prefix}rl:{tag(action, subject, value)}"

    async def _hit(self, key: str, limit: Limit) -> float:
        script = self._script
        result = None if script is None else await self.gate.call(lambda: script(
            keys=[key], args=[int(limit.per_seconds * 1000), limit.burst, 1]))
        if result is None:
            return self.local.hit(key, limit)
        return int(result[1]) / 1000.0
