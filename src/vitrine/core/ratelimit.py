"""Rate limits that tell people how long to wait ("you can post again in 8 s").

GCRA (the generic cell rate algorithm): one timestamp per key, `limit` actions per `window_s`
with bursts up to `limit`, and an exact wait when refused. In-process by default; on Redis
(one Lua script, atomic) when several instances must share the counts."""

from __future__ import annotations

import math
import time
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from vitrine.core.errors import Unavailable


class RateLimiter(Protocol):
    async def hit(self, key: str, *, limit: int, window_s: float) -> float:
        """Count one action under `key`: 0.0 when allowed, else the seconds to wait."""
        ...

    async def peek(self, key: str, *, limit: int, window_s: float) -> float:
        """What `hit` would answer now, counting nothing (for limits on failures only)."""
        ...


def _gcra(stored_tat: float | None, now: float, limit: int, window_s: float) -> tuple[float, float]:
    """(new theoretical arrival time, wait); wait 0.0 means allowed."""
    interval = window_s / limit
    tolerance = window_s - interval
    tat = max(stored_tat or now, now)
    if tat - now > tolerance:
        return tat, tat - now - tolerance
    return tat + interval, 0.0


class MemoryRateLimiter:
    """For one instance. Forgets keys whose window has passed so memory stays bounded."""

    def __init__(self) -> None:
        self._tat: dict[str, float] = {}
        self._last_sweep = time.monotonic()

    async def hit(self, key: str, *, limit: int, window_s: float) -> float:
        now = time.monotonic()
        if now - self._last_sweep > 60:
            self._tat = {k: v for k, v in self._tat.items() if v > now}
            self._last_sweep = now
        tat, wait = _gcra(self._tat.get(key), now, limit, window_s)
        self._tat[key] = tat
        return wait

    async def peek(self, key: str, *, limit: int, window_s: float) -> float:
        return _gcra(self._tat.get(key), time.monotonic(), limit, window_s)[1]


_GCRA_LUA = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local tolerance = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
if tat - now > tolerance then
  return tostring(tat - now - tolerance)
end
local keep_ms = math.ceil((tat + interval - now) * 1000) + 1000
redis.call('SET', KEYS[1], tostring(tat + interval), 'PX', keep_ms)
return '0'
"""


_PEEK_LUA = """
local now = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat - now > tolerance then
  return tostring(tat - now - tolerance)
end
return '0'
"""


class RedisRateLimiter:
    """Shared by every instance on the same Redis."""

    def __init__(self, client: aioredis.Redis, *, prefix: str = "vitrine:rate:") -> None:
        self._client = client
        self._prefix = prefix
        self._script = client.register_script(_GCRA_LUA)
        self._peek = client.register_script(_PEEK_LUA)

    async def hit(self, key: str, *, limit: int, window_s: float) -> float:
        interval = window_s / limit
        now = time.time()
        try:
            answer = await self._script(
                keys=[self._prefix + key],
                args=[repr(now), repr(interval), repr(window_s - interval)],
            )
        except (RedisError, OSError) as error:
            # Refuse rather than let anyone through unlimited while Redis is away.
            raise Unavailable(
                "A service Vitrine needs is restarting; please try again in a moment",
                retry_after_s=2,
            ) from error
        return float(answer)

    async def peek(self, key: str, *, limit: int, window_s: float) -> float:
        tolerance = window_s - window_s / limit
        answer = await self._peek(
            keys=[self._prefix + key], args=[repr(time.time()), repr(tolerance)]
        )
        return float(answer)


def seconds_text(wait: float) -> str:
    """How a wait reads to a person: whole seconds, rounded up, at least 1."""
    return f"{max(1, math.ceil(wait))} s"


def minutes_text(wait: float) -> str:
    """A long wait: whole minutes, rounded up, at least 1."""
    return f"{max(1, math.ceil(wait / 60))} min"
