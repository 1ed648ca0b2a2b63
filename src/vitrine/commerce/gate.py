"""The deal gate decides who wins a flash deal without touching the database, so thousands of
taps in the same second are answered at once and only winners are written.

Two implementations of one protocol: `MemoryDealGate` for a single process (the embedded
default) and `RedisDealGate`, a Lua script, when several instances share a deal. Both answer a
retried idempotency key with the answer it got the first time."""

from __future__ import annotations

import enum
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from vitrine.commerce.errors import DealsPaused

log = logging.getLogger(__name__)


class Outcome(enum.StrEnum):
    WON = "won"
    SOLD_OUT = "sold_out"  # fewer units left than asked for
    LIMIT_REACHED = "limit"  # this shopper would exceed the per-shopper limit
    UNKNOWN_DEAL = "unknown"  # the gate has not been opened for this deal (or lost it)


@dataclass(frozen=True, slots=True)
class GateAnswer:
    outcome: Outcome
    remaining: int  # units left after this decision
    bought_before: int  # what this shopper had won in this deal before this claim
    repeat: bool = False  # the same key was answered before; this is that answer again


class GateTally:
    """How many claims got each answer, for /metrics: won, sold_out, limit, unknown, and
    duplicate (a retried key answered again)."""

    def __init__(self) -> None:
        self.decisions: dict[str, int] = {}

    def note(self, answer: GateAnswer) -> GateAnswer:
        label = "duplicate" if answer.repeat else answer.outcome.value
        self.decisions[label] = self.decisions.get(label, 0) + 1
        return answer


class DealGate(Protocol):
    """A bounded counter per deal with a per-shopper limit and idempotency keys."""

    tally: GateTally

    async def open(
        self,
        deal_id: int,
        *,
        remaining: int,
        bought: Mapping[int, int],
        ttl_ms: int,
    ) -> None:
        """Load a deal's state (from the database), kept for `ttl_ms` (relative, so the app's
        and Redis's clocks need not agree). A deal already open keeps its state."""
        ...

    async def claim(
        self, deal_id: int, buyer_id: int, quantity: int, limit: int, key: str
    ) -> GateAnswer:
        """Decide one tap. Atomic: concurrent claims never take more than `remaining`."""
        ...

    async def give_back(self, deal_id: int, buyer_id: int, quantity: int, key: str) -> None:
        """Undo a won claim whose write failed, so the unit can be won again."""
        ...

    async def close(self, deal_id: int) -> None:
        """Forget a deal that has ended."""
        ...


@dataclass(slots=True)
class _DealCounter:
    remaining: int
    bought: dict[int, int] = field(default_factory=dict)
    answers: dict[tuple[int, str], GateAnswer] = field(default_factory=dict)
    loaded: frozenset[int] = frozenset()  # shoppers whose claims came from the database


class MemoryDealGate:
    """One process: plain dictionaries. Each call runs without awaiting, so it is atomic with
    respect to every other coroutine on the event loop."""

    def __init__(self) -> None:
        self._deals: dict[int, _DealCounter] = {}
        self.tally = GateTally()

    async def open(
        self,
        deal_id: int,
        *,
        remaining: int,
        bought: Mapping[int, int],
        ttl_ms: int,
    ) -> None:
        if deal_id not in self._deals:
            self._deals[deal_id] = _DealCounter(remaining, dict(bought), loaded=frozenset(bought))

    async def claim(
        self, deal_id: int, buyer_id: int, quantity: int, limit: int, key: str
    ) -> GateAnswer:
        return self.claim_now(deal_id, buyer_id, quantity, limit, key)

    def claim_now(
        self, deal_id: int, buyer_id: int, quantity: int, limit: int, key: str
    ) -> GateAnswer:
        """The synchronous decision, for callers already on the event loop."""
        counter = self._deals.get(deal_id)
        if counter is None:
            return self.tally.note(GateAnswer(Outcome.UNKNOWN_DEAL, 0, 0))
        previous = counter.answers.get((buyer_id, key))
        if previous is not None:
            return self.tally.note(
                GateAnswer(previous.outcome, previous.remaining, previous.bought_before, True)
            )
        had = counter.bought.get(buyer_id, 0)
        if had + quantity > limit:
            answer = GateAnswer(Outcome.LIMIT_REACHED, counter.remaining, had)
        elif counter.remaining < quantity:
            answer = GateAnswer(Outcome.SOLD_OUT, counter.remaining, had)
        else:
            counter.remaining -= quantity
            counter.bought[buyer_id] = had + quantity
            answer = GateAnswer(Outcome.WON, counter.remaining, had)
        counter.answers[(buyer_id, key)] = answer
        return self.tally.note(answer)

    def knows_every_key(self, deal_id: int, buyer_id: int) -> bool:
        """Whether every claim of this shopper was decided here (none came from the
        database), so a key this gate has not seen cannot have won."""
        counter = self._deals.get(deal_id)
        return counter is not None and buyer_id not in counter.loaded

    async def give_back(self, deal_id: int, buyer_id: int, quantity: int, key: str) -> None:
        counter = self._deals.get(deal_id)
        if counter is None:
            return
        if counter.answers.pop((buyer_id, key), None) is None:
            return
        counter.remaining += quantity
        left = counter.bought.get(buyer_id, 0) - quantity
        if left > 0:
            counter.bought[buyer_id] = left
        else:
            counter.bought.pop(buyer_id, None)

    async def close(self, deal_id: int) -> None:
        self._deals.pop(deal_id, None)


# KEYS: remaining counter, buyers hash, answers hash.
# ARGV: buyer, quantity, limit, answer key. The hashes expire with the counter.
_CLAIM = """
local previous = redis.call('HGET', KEYS[3], ARGV[4])
if previous then
  return {previous, 1}
end
local left = redis.call('GET', KEYS[1])
if not left then
  return {'unknown:0:0', 0}
end
left = tonumber(left)
local ttl = redis.call('PTTL', KEYS[1])
local quantity = tonumber(ARGV[2])
local had = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
local answer
if had + quantity > tonumber(ARGV[3]) then
  answer = 'limit:' .. left .. ':' .. had
elseif left < quantity then
  answer = 'sold_out:' .. left .. ':' .. had
else
  left = redis.call('DECRBY', KEYS[1], quantity)
  redis.call('HINCRBY', KEYS[2], ARGV[1], quantity)
  if ttl > 0 then redis.call('PEXPIRE', KEYS[2], ttl) end
  answer = 'won:' .. left .. ':' .. had
end
redis.call('HSET', KEYS[3], ARGV[4], answer)
if ttl > 0 then redis.call('PEXPIRE', KEYS[3], ttl) end
return {answer, 0}
"""

# KEYS: remaining, buyers. ARGV: time to live (ms), remaining, then buyer/quantity pairs.
_OPEN = """
if redis.call('SET', KEYS[1], ARGV[2], 'NX', 'PX', ARGV[1]) then
  for i = 3, #ARGV, 2 do
    redis.call('HSET', KEYS[2], ARGV[i], ARGV[i + 1])
  end
  if #ARGV > 2 then
    redis.call('PEXPIRE', KEYS[2], ARGV[1])
  end
  return 1
end
return 0
"""

# KEYS: remaining, buyers, answers. ARGV: buyer, quantity, answer key.
_GIVE_BACK = """
if redis.call('HDEL', KEYS[3], ARGV[3]) == 1 and redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('INCRBY', KEYS[1], ARGV[2])
  if redis.call('HINCRBY', KEYS[2], ARGV[1], -tonumber(ARGV[2])) <= 0 then
    redis.call('HDEL', KEYS[2], ARGV[1])
  end
end
return 1
"""


class RedisDealGate:
    """Several instances share each deal's counter in Redis. Keys expire after the deal.

    While Redis is unreachable a claim raises DealsPaused (a 503 asking to try again): no one
    wins, so no one can be oversold. Opening and closing are best effort: a deal the gate does
    not know is opened from the database at its next claim, and a closed deal's keys expire."""

    def __init__(self, client: aioredis.Redis, *, prefix: str = "vitrine:deal") -> None:
        self._redis = client
        self._prefix = prefix
        self._claim = client.register_script(_CLAIM)
        self._open = client.register_script(_OPEN)
        self._give_back = client.register_script(_GIVE_BACK)
        self.tally = GateTally()

    @classmethod
    def from_url(cls, url: str, *, prefix: str = "vitrine:deal") -> RedisDealGate:
        return cls(aioredis.Redis.from_url(url), prefix=prefix)

    def _keys(self, deal_id: int) -> list[str]:
        # One hash tag per deal keeps the three keys on one Redis Cluster slot.
        base = f"{self._prefix}:{{{deal_id}}}"
        return [f"{base}:left", f"{base}:buyers", f"{base}:answers"]

    async def open(
        self,
        deal_id: int,
        *,
        remaining: int,
        bought: Mapping[int, int],
        ttl_ms: int,
    ) -> None:
        args: list[int] = [ttl_ms, remaining]
        for buyer, quantity in bought.items():
            args += [buyer, quantity]
        try:
            await self._open(keys=self._keys(deal_id)[:2], args=args)
        except (RedisError, OSError) as error:
            log.warning("deal %d: Redis unavailable (%s); opened at its next claim", deal_id, error)

    async def claim(
        self, deal_id: int, buyer_id: int, quantity: int, limit: int, key: str
    ) -> GateAnswer:
        try:
            raw, repeat = await self._claim(
                keys=self._keys(deal_id),
                args=[buyer_id, quantity, limit, f"{buyer_id}:{key}"],
            )
        except (RedisError, OSError) as error:
            raise DealsPaused() from error
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        outcome, remaining, had = text.split(":")
        return self.tally.note(GateAnswer(Outcome(outcome), int(remaining), int(had), bool(repeat)))

    async def give_back(self, deal_id: int, buyer_id: int, quantity: int, key: str) -> None:
        try:
            await self._give_back(
                keys=self._keys(deal_id), args=[buyer_id, quantity, f"{buyer_id}:{key}"]
            )
        except (RedisError, OSError) as error:
            raise DealsPaused() from error

    async def close(self, deal_id: int) -> None:
        try:
            await self._redis.delete(*self._keys(deal_id))
        except (RedisError, OSError) as error:
            log.warning(
                "deal %d: Redis unavailable (%s); its keys expire on their own", deal_id, error
            )

    async def aclose(self) -> None:
        await self._redis.aclose()
