"""Guests' proof of work: the challenges handed out, their difficulty, and the check of a guest
post's solution (the format and its checks: domain/challenges.py; why: SECURITY.md, "Guest
proof of work").

Difficulty rises for a client that asks a lot: every challenge handed out and every guest post
counts, for ten minutes, against the address (domain/limits.address_group) and its network
(/24 or /48, domain/challenges.network_of). Past a free allowance, each further step doubles
``maxnumber``, up to ``MAX_DOUBLINGS``. A used solution is remembered (Redis ``SET NX``) until its
challenge expires, so it is good once, and it is good only from the network (/24 or /48) that was
handed the challenge: solutions farmed on many machines cannot all be spent from one address.

Redis down: the counters and the used solutions fall back to this process's memory (bounded, like
ratelimit.py's fallback). A solution can then be used once per API process until Redis returns, and
each process counts only what it saw; we choose that over refusing every guest post (the per-address
guest and post rate limits still hold).
"""

from __future__ import annotations

import time
from collections import OrderedDict

from ..cache import RedisGate, lua
from ..domain import challenges
from ..domain.challenges import Challenge, ChallengeRefused
from ..domain.limits import address_group
from ..errors import DomainError
from ..identity import Keyring
from ..redis_cluster import tag

# the widget's solver (widget/challenge.js) measured 55-165 ms at worst (the last number) in
# headless Chromium on a loaded 2-core machine, half that on average: a phone 4-5x slower stays
# under a second (SECURITY.md, "Guest proof of work", has the measurements)
BASE_MAXNUMBER = 50_000
MAX_DOUBLINGS = 4  # 16x the base: a few seconds on a phone, only for the busiest addresses and networks
WINDOW_SECONDS = 600
ADDRESS_FREE, ADDRESS_STEP = 10, 10  # challenges and guest posts of one address in the window
NETWORK_FREE, NETWORK_STEP = 40, 40  # ... of its /24 or /48
TTL_SECONDS = 1200  # time to write a comment after the widget solved; it fetches a new one when near


def doublings(address_count: int, network_count: int) -> int:
    """How many times the base difficulty doubles for these counts."""
    # one doubling per step begun past the free allowance (ceiling division)
    steps = max(0, -(-(address_count - ADDRESS_FREE) // ADDRESS_STEP),
                -(-(network_count - NETWORK_FREE) // NETWORK_STEP))
    return min(MAX_DOUBLINGS, steps)


class _LocalStore:
    """The fallback while Redis is away: counters and used solutions with their expiry, the oldest
    dropped past ``max_keys``."""

    def __init__(self, max_keys: int = 100_000) -> None:
        self._values: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._max_keys = max_keys

    def _live(self, key: str, now: float) -> int | None:
        found = self._values.get(key)
        if found is None or found[1] <= now:
            self._values.pop(key, None)
            return None
        return found[0]

    def _put(self, key: str, value: int, until: float) -> None:
        self._values[key] = (value, until)
        self._values.move_to_end(key)
        while len(self._values) > self._max_keys:
            self._values.popitem(last=False)

    def count(self, key: str, weight: int, ttl: float) -> int:
        now = time.monotonic()
        current = self._live(key, now)
        if weight == 0:
            return current or 0
        until = self._values[key][1] if current is not None else now + ttl
        self._put(key, (current or 0) + weight, until)
        return (current or 0) + weight

    def add_once(self, key: str, ttl: float) -> bool:
        now = time.monotonic()
        if self._live(key, now) is not None:
            return False
        self._put(key, 1, now + ttl)
        return True


class GuestChallenge:
    """Hands out challenges and checks guests' solutions. ``enabled`` False (COMMENTS_GUEST_CHALLENGE
    off): guest posts need none, and the route says so."""

    def __init__(self, gate: RedisGate, prefix: str, keyring: Keyring, *, enabled: bool) -> None:
        self.gate = gate
        self.prefix = prefix
        self.enabled = enabled
        self._keys = keyring.derived_keys("guest-challenge")
        self.local = _LocalStore()
        self._script = gate.register_script(lua("challenge_count"))

    async def _count(self, ip: str | None, weight: int) -> tuple[int, int]:
        if ip is None:  # no address (a unix socket, an in-process client): nothing to count by
            return 0, 0
        # tagged by the network, which holds the address's group: both keys in one Redis Cluster slot
        network = tag(challenges.network_of(ip))
        keys = [f"{self.prefix}pow:a:{network}:{address_group(ip)}", f"{self.prefix}pow:n:{network}"]
        script = self._script
        result = None if script is None else await self.gate.call(
            lambda: script(keys=keys, args=[WINDOW_SECONDS, weight]))
        if result is None:
            return (self.local.count(keys[0], weight, WINDOW_SECONDS),
                    self.local.count(keys[1], weight, WINDOW_SECONDS))
        return int(result[0]), int(result[1])

    async def issue(self, site_id: str, ip: str | None) -> Challenge:
        """A challenge for a guest of ``site_id``, as hard as the address and its network have earned."""
        address_count, network_count = await self._count(ip, 1)
        maxnumber = BASE_MAXNUMBER << doublings(address_count, network_count)
        return challenges.make(self._keys[0], site_id, now=int(time.time()), ttl_seconds=TTL_SECONDS,
                               maxnumber=maxnumber, network=_network(ip))

    async def check(self, site_id: str, payload: str | None, ip: str | None) -> None:
        """Accept a guest post's solution once; DomainError (challenge_required, challenge_invalid,
        challenge_expired, challenge_used) otherwise. Nothing to check while switched off."""
        if not self.enabled:
            return
        if not payload:
            raise DomainError("challenge_required")
        now = int(time.time())
        try:
            solution = challenges.verify(self._keys, payload, site_id, now=now, network=_network(ip))
        except ChallengeRefused as refused:
            raise DomainError(refused.code) from None
        ttl = max(1, solution.expires - now)
        key = f"{self.prefix}pow:used:{tag(solution.challenge)}"
        client = self.gate.client

        async def first_use() -> bool:
            assert client is not None
            return bool(await client.set(key, 1, nx=True, ex=ttl))  # None when the key was there

        stored = None if client is None else await self.gate.call(first_use)
        if stored is None:  # Redis away: this process remembers what it accepted
            if not self.local.add_once(key, ttl):
                raise DomainError("challenge_used")
        elif not stored:
            raise DomainError("challenge_used")
        await self._count(ip, 1)  # a guest post weighs on the next challenge like a request for one


def _network(ip: str | None) -> str:
    """What a challenge is bound to: the asking address's /24 or /48, so that a reader whose address
    moves within its network (IPv6 privacy addresses, a carrier's pool) keeps their solution."""
    return challenges.network_of(ip) if ip else ""
