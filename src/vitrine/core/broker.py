"""Publish/subscribe between the parts of Vitrine: in-process by default, Redis when several
instances run. Shaped after encode/broadcaster: the backend is picked from a URL and each
subscriber gets a bounded queue, so one slow consumer never blocks a publisher.

Besides plain messages a channel carries a *sequenced log*: `append` numbers each message with
the channel's next sequence number, keeps the last `log_size` in a ring (a capped Redis stream)
and publishes it. Sequence numbers are global per channel however many instances append, and a
reader on any instance can fetch what it missed with `since`. A channel's counter starts at the
current time in microseconds, so numbers keep increasing even if Redis loses its data: a reader
then finds the log too short and knows to start from a fresh snapshot.

A writer that retries an append (its answer was lost when Redis went away) names the batch, so
a batch Redis did apply is not applied twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, NamedTuple, Protocol

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

SUBSCRIBER_QUEUE = 10_000
LOG_SIZE = 2_048


class Envelope(NamedTuple):
    """One message on a channel: `seq` > 0 when it came through `append`, 0 when published
    plain, RESYNC when messages may have been lost (the reader should catch up with `since`)."""

    seq: int
    data: bytes


RESYNC = -1
RESYNC_ENVELOPE = Envelope(RESYNC, b"")


class BrokerUnavailable(ConnectionError):
    """The broker cannot be reached right now; callers may retry."""


class Batch(NamedTuple):
    """Names an append so a retry of it is recognised: `writer` is unique per process and
    `number` grows with each of its appends to a channel (in the order they reach the broker)."""

    writer: str
    number: int


class Broker(Protocol):
    """Channels carry opaque bytes; `vitrine.live.events` defines what is inside."""

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    async def healthy(self) -> bool: ...

    async def publish(self, channel: str, message: bytes) -> None:
        """Deliver to current subscribers, unsequenced and not kept."""
        ...

    async def append(
        self, channel: str, messages: Sequence[bytes], *, batch: Batch | None = None
    ) -> int:
        """Number, keep and deliver `messages` in order; returns the last sequence number. A
        `batch` already appended is not appended again (the channel's counter is returned)."""
        ...

    async def since(self, channel: str, after_seq: int, limit: int) -> list[Envelope] | None:
        """The kept messages after `after_seq` (0: since the channel began), or None when the
        log no longer reaches back that far or more than `limit` were missed: the reader
        needs a snapshot."""
        ...

    async def last_seq(self, channel: str) -> int:
        """The channel's latest sequence number (0 before anything was appended)."""
        ...

    async def advance(self, channel: str, at_least: int) -> int:
        """Move the channel's counter up to `at_least` if it is lower (a Redis restored from an
        older save must not hand out numbers viewers have already seen); returns the counter."""
        ...

    async def report_count(self, key: str, member: str, count: int, ttl_s: float) -> int:
        """Record this member's count under `key` for `ttl_s` and return the sum over all
        members still alive (viewer counts of several edge instances)."""
        ...

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[AsyncIterator[list[Envelope]]]:
        """Iterate batches of envelopes: everything that arrived since the last batch."""
        ...


def seq_origin() -> int:
    """Where a new channel's counter starts: now in microseconds (below 2**53 until 2255)."""
    return time.time_ns() // 1_000


class _Mailbox:
    """A subscriber's bounded queue. On overflow it drops what it holds and asks for a resync:
    the reader catches up from the log instead of the publisher waiting."""

    __slots__ = ("_items", "_limit", "_ready")

    def __init__(self, limit: int) -> None:
        self._items: list[Envelope] = []
        self._limit = limit
        self._ready = asyncio.Event()

    def put(self, envelope: Envelope) -> None:
        if len(self._items) >= self._limit:
            log.warning("subscriber %d messages behind; asking it to resync", len(self._items))
            self._items = [RESYNC_ENVELOPE]
        else:
            self._items.append(envelope)
        self._ready.set()

    def put_many(self, envelopes: Sequence[Envelope]) -> None:
        for envelope in envelopes:
            self.put(envelope)

    async def batches(self) -> AsyncIterator[list[Envelope]]:
        while True:
            await self._ready.wait()
            self._ready.clear()
            items, self._items = self._items, []
            if items:
                yield items


class _Fanout:
    """Subscribers per channel, shared by both backends."""

    def __init__(self, queue_limit: int) -> None:
        self.mailboxes: dict[str, set[_Mailbox]] = {}
        self.queue_limit = queue_limit

    def deliver(self, channel: str, envelopes: Sequence[Envelope]) -> None:
        for mailbox in tuple(self.mailboxes.get(channel, ())):
            mailbox.put_many(envelopes)

    def add(self, channel: str) -> tuple[_Mailbox, bool]:
        mailbox = _Mailbox(self.queue_limit)
        subscribers = self.mailboxes.setdefault(channel, set())
        subscribers.add(mailbox)
        return mailbox, len(subscribers) == 1

    def remove(self, channel: str, mailbox: _Mailbox) -> bool:
        subscribers = self.mailboxes.get(channel)
        if subscribers is None:
            return False
        subscribers.discard(mailbox)
        if subscribers:
            return False
        del self.mailboxes[channel]
        return True


class MemoryBroker:
    """Delivers within this process only: the embedded default."""

    def __init__(self, *, log_size: int = LOG_SIZE, queue_limit: int = SUBSCRIBER_QUEUE) -> None:
        self._fanout = _Fanout(queue_limit)
        self._logs: dict[str, deque[Envelope]] = {}
        self._seqs: dict[str, int] = {}
        self._origins: dict[str, int] = {}
        self._counts: dict[str, dict[str, tuple[int, float]]] = {}
        self._batches: dict[tuple[str, str], int] = {}
        self._log_size = log_size

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self._fanout.mailboxes.clear()

    async def healthy(self) -> bool:
        return True

    async def publish(self, channel: str, message: bytes) -> None:
        self._fanout.deliver(channel, (Envelope(0, message),))

    async def append(
        self, channel: str, messages: Sequence[bytes], *, batch: Batch | None = None
    ) -> int:
        if batch is not None:
            if self._batches.get((channel, batch.writer), 0) >= batch.number:
                return self._seqs[channel]
            self._batches[(channel, batch.writer)] = batch.number
        seq = self._seqs.get(channel) or self._origins.setdefault(channel, seq_origin())
        ring = self._logs.get(channel)
        if ring is None:
            ring = self._logs[channel] = deque(maxlen=self._log_size)
        envelopes = []
        for message in messages:
            seq += 1
            envelopes.append(Envelope(seq, message))
        self._seqs[channel] = seq
        ring.extend(envelopes)
        self._fanout.deliver(channel, envelopes)
        return seq

    async def since(self, channel: str, after_seq: int, limit: int) -> list[Envelope] | None:
        last = self._seqs.get(channel, 0)
        if after_seq == 0:
            after_seq = self._origins.get(channel, 0)
        if after_seq == last:
            return []
        if after_seq > last or last - after_seq > limit:
            return None
        ring = self._logs.get(channel)
        if not ring:
            return None
        first = ring[0].seq
        if after_seq + 1 < first:
            return None
        # The ring holds consecutive numbers, so the position follows from the first one.
        return list(ring)[after_seq + 1 - first :]

    async def last_seq(self, channel: str) -> int:
        return self._seqs.get(channel, 0)

    async def advance(self, channel: str, at_least: int) -> int:
        if self._seqs.get(channel, 0) < at_least:
            self._seqs[channel] = at_least
            self._logs.pop(channel, None)
        return self._seqs[channel]

    async def report_count(self, key: str, member: str, count: int, ttl_s: float) -> int:
        now = time.monotonic()
        members = self._counts.setdefault(key, {})
        members[member] = (count, now + ttl_s)
        for name, (_, expires) in tuple(members.items()):
            if expires < now:
                del members[name]
        return sum(value for value, _ in members.values())

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[list[Envelope]]]:
        mailbox, _ = self._fanout.add(channel)
        try:
            yield mailbox.batches()
        finally:
            self._fanout.remove(channel, mailbox)


# KEYS: counter, stream, origin, batches. ARGV: pub/sub channel, origin, log size, writer,
# batch number, messages… (writer "" when the batch is not named). The batches hash keeps each
# writer's last batch number, so a retried batch is recognised.
# Numbers are formatted with %.0f because Lua 5.1 prints large integers in exponent form.
_APPEND = """
local seq = tonumber(redis.call('GET', KEYS[1]) or '0')
if ARGV[4] ~= '' then
  if tonumber(redis.call('HGET', KEYS[4], ARGV[4]) or '0') >= tonumber(ARGV[5]) then
    return string.format('%.0f', seq)
  end
  redis.call('HSET', KEYS[4], ARGV[4], ARGV[5])
  redis.call('EXPIRE', KEYS[4], 172800)
end
if seq == 0 then
  seq = tonumber(ARGV[2])
  redis.call('SET', KEYS[3], ARGV[2], 'EX', 172800)
end
for i = 6, #ARGV do
  seq = seq + 1
  local id = string.format('%.0f', seq)
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], id .. '-0', 'd', ARGV[i])
  redis.call('PUBLISH', ARGV[1], id .. ' ' .. ARGV[i])
end
local last = string.format('%.0f', seq)
redis.call('SET', KEYS[1], last, 'EX', 172800)
redis.call('EXPIRE', KEYS[2], 172800)
return last
"""

# KEYS: counter, stream, origin. ARGV: after (0: from the origin), limit.
# Returns {last, after, id1, data1, id2, data2…}.
_SINCE = """
local last = tonumber(redis.call('GET', KEYS[1]) or '0')
local after = tonumber(ARGV[1])
if after == 0 then after = tonumber(redis.call('GET', KEYS[3]) or '0') end
local out = {string.format('%.0f', last), string.format('%.0f', after)}
if after >= last or last - after > tonumber(ARGV[2]) then return out end
local entries = redis.call('XRANGE', KEYS[2], string.format('%.0f', after + 1) .. '-0', '+')
for _, entry in ipairs(entries) do
  table.insert(out, entry[1])
  table.insert(out, entry[2][2])
end
return out
"""

# KEYS: counter. ARGV: at least. Never moves the counter down.
_ADVANCE = """
local seq = tonumber(redis.call('GET', KEYS[1]) or '0')
if seq < tonumber(ARGV[1]) then
  seq = tonumber(ARGV[1])
  redis.call('SET', KEYS[1], string.format('%.0f', seq), 'EX', 172800)
end
return string.format('%.0f', seq)
"""

# KEYS: hash. ARGV: member, count, ttl ms. Each field holds "count:expires_ms".
_REPORT_COUNT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ttl = tonumber(ARGV[3])
if tonumber(ARGV[2]) > 0 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. string.format('%.0f', now + ttl))
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
local sum = 0
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local count, expires = string.match(all[i + 1], '(%d+):(%d+)')
  if tonumber(expires) < now then
    redis.call('HDEL', KEYS[1], all[i])
  else
    sum = sum + tonumber(count)
  end
end
redis.call('PEXPIRE', KEYS[1], ttl * 2)
return sum
"""


class RedisBroker:
    """Delivers across instances through Redis pub/sub; the log is a capped stream per channel.
    One pub/sub connection per process carries every subscribed channel; when it breaks, the
    broker reconnects, resubscribes and sends RESYNC so readers fetch what they missed."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "vitrine:",
        log_size: int = LOG_SIZE,
        queue_limit: int = SUBSCRIBER_QUEUE,
        client_name: str | None = None,
    ) -> None:
        # Our own reconnect loop decides what a lost connection means; no silent retries.
        self._redis: aioredis.Redis = aioredis.Redis.from_url(
            url,
            retry=Retry(NoBackoff(), 0),
            socket_connect_timeout=2,
            socket_timeout=5,  # a Redis that hangs is as unavailable as one that is down
            health_check_interval=0,
            client_name=client_name,
        )
        self._prefix = prefix
        self._log_size = log_size
        self._fanout = _Fanout(queue_limit)
        self._append = self._redis.register_script(_APPEND)
        self._since = self._redis.register_script(_SINCE)
        self._report = self._redis.register_script(_REPORT_COUNT)
        self._advance = self._redis.register_script(_ADVANCE)
        self._pubsub: Any = None
        self._subscribed = asyncio.Event()
        self._reader: asyncio.Task[None] | None = None
        self._connected = True

    def _key(self, kind: str, channel: str) -> str:
        return f"{self._prefix}{kind}:{channel}"

    async def start(self) -> None:
        self._pubsub = self._redis.pubsub()
        self._reader = asyncio.create_task(self._read_forever(), name="redis-broker-reader")

    async def stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        if self._pubsub is not None:
            with contextlib.suppress(RedisError, OSError):
                await self._pubsub.aclose()
        self._fanout.mailboxes.clear()
        await self._redis.aclose()

    async def healthy(self) -> bool:
        try:
            return bool(await self._redis.ping()) and self._connected
        except (RedisError, OSError):
            return False

    async def publish(self, channel: str, message: bytes) -> None:
        try:
            await self._redis.publish(self._key("ch", channel), b"0 " + message)
        except (RedisError, OSError) as error:
            raise BrokerUnavailable(str(error)) from error

    async def append(
        self, channel: str, messages: Sequence[bytes], *, batch: Batch | None = None
    ) -> int:
        keys = [
            self._key("seq", channel),
            self._key("log", channel),
            self._key("origin", channel),
            self._key("batches", channel),
        ]
        writer, number = batch or ("", 0)
        args: list[Any] = [
            self._key("ch", channel),
            seq_origin(),
            self._log_size,
            writer,
            number,
            *messages,
        ]
        try:
            return int(await self._append(keys=keys, args=args))
        except (RedisError, OSError) as error:
            raise BrokerUnavailable(str(error)) from error

    async def since(self, channel: str, after_seq: int, limit: int) -> list[Envelope] | None:
        keys = [self._key("seq", channel), self._key("log", channel), self._key("origin", channel)]
        try:
            reply = await self._since(keys=keys, args=[after_seq, limit])
        except (RedisError, OSError) as error:
            raise BrokerUnavailable(str(error)) from error
        last, after_seq = int(reply[0]), int(reply[1])
        if after_seq == last:
            return []
        if after_seq > last or last - after_seq > limit:
            return None
        envelopes = [
            Envelope(int(reply[i].split(b"-")[0]), reply[i + 1]) for i in range(2, len(reply), 2)
        ]
        if not envelopes or envelopes[0].seq != after_seq + 1 or envelopes[-1].seq != last:
            return None
        return envelopes

    async def last_seq(self, channel: str) -> int:
        try:
            value = await self._redis.get(self._key("seq", channel))
        except (RedisError, OSError) as error:
            raise BrokerUnavailable(str(error)) from error
        return int(value or 0)

    async def advance(self, channel: str, at_least: int) -> int:
        try:
            return int(await self._advance(keys=[self._key("seq", channel)], args=[at_least]))
        except (RedisError, OSError) as error:
            raise BrokerUnavailable(str(error)) from error

    async def report_count(self, key: str, member: str, count: int, ttl_s: float) -> int:
        try:
            total = await self._report(
                keys=[self._key("count", key)], args=[member, count, int(ttl_s * 1000)]
            )
        except (RedisError, OSError) as error:
            raise BrokerUnavailable(str(error)) from error
        return int(total)

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[AsyncIterator[list[Envelope]]]:
        mailbox, first = self._fanout.add(channel)
        try:
            if first:
                with contextlib.suppress(RedisError, OSError):
                    # If Redis is down now, the reconnect loop subscribes it later.
                    await self._pubsub.subscribe(self._key("ch", channel))
                self._subscribed.set()
            yield mailbox.batches()
        finally:
            if self._fanout.remove(channel, mailbox) and self._pubsub is not None:
                with contextlib.suppress(RedisError, OSError):
                    await self._pubsub.unsubscribe(self._key("ch", channel))

    async def _read_forever(self) -> None:
        while True:
            try:
                await self._read_until_broken()
            except (RedisError, OSError) as error:
                self._connected = False
                log.warning("redis pub/sub lost (%s); reconnecting", error)
            await self._reconnect()

    async def _reconnect(self) -> None:
        """Resubscribe every channel, retrying until Redis answers, then tell every reader to
        catch up from the log (messages published meanwhile never reached us)."""
        backoff = 0.1
        while True:
            await asyncio.sleep(backoff)
            try:
                # Idle pooled connections died with the old server: drop them, or the next
                # command on each would fail once more.
                await self._redis.connection_pool.disconnect(inuse_connections=False)
                await self._resubscribe()
            except (RedisError, OSError):
                backoff = min(backoff * 2, 2.0)
                continue
            break
        if not self._connected:
            log.warning("redis pub/sub is back")
        self._connected = True
        for channel in tuple(self._fanout.mailboxes):
            self._fanout.deliver(channel, (RESYNC_ENVELOPE,))

    async def _resubscribe(self) -> None:
        with contextlib.suppress(RedisError, OSError):
            await self._pubsub.aclose()
        self._pubsub = self._redis.pubsub()
        channels = [self._key("ch", channel) for channel in self._fanout.mailboxes]
        if channels:
            await self._pubsub.subscribe(*channels)

    async def _read_until_broken(self) -> None:
        strip = len(self._key("ch", ""))
        while True:
            if not self._pubsub.subscribed:
                self._subscribed.clear()
                await self._subscribed.wait()
                continue
            message = await self._pubsub.get_message(ignore_subscribe_messages=True, timeout=1.0)
            if message is None or message["type"] != "message":
                continue
            channel = message["channel"].decode()[strip:]
            seq, _, data = message["data"].partition(b" ")
            self._fanout.deliver(channel, (Envelope(int(seq), data),))


def broker_from_url(url: str, *, prefix: str = "vitrine:") -> Broker:
    """ "" or "memory://" → in-process; "redis://…" or "rediss://…" → Redis."""
    if url in ("", "memory://"):
        return MemoryBroker()
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisBroker(url, prefix=prefix)
    raise ValueError(f"unknown broker URL {url!r}: use memory:// or redis://host:port/db")
