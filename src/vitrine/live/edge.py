"""The live edge: the WebSocket server viewers and hosts connect to at
ws://<host>:<live port>/shows/<show id>/live. It runs in the web app's event loop (or alone, as
its own process) and serves every show through one ShowRoom per show."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from typing import Protocol
from urllib.parse import parse_qsl, urlsplit

import msgspec
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from vitrine.core.broker import Broker, BrokerUnavailable
from vitrine.core.errors import VitrineError
from vitrine.live.channel import audience_key
from vitrine.live.connection import ViewerConnection
from vitrine.live.events import (
    REACTIONS,
    Ack,
    Error,
    ErrorCode,
    Hello,
    MarkQuestion,
    Ping,
    Pong,
    PostChat,
    React,
    ReactionsTally,
    decode_client,
    encode,
)
from vitrine.live.fanout import FanOut
from vitrine.live.frames import single_frame
from vitrine.live.protocols import (
    ActionHandler,
    Identify,
    LiveRequest,
    SnapshotSource,
    error_event,
)
from vitrine.live.room import EdgeSettings, ShowRoom

log = logging.getLogger(__name__)

PATH = re.compile(r"^/shows/([A-Za-z0-9_-]{1,64})/live$")

# Close codes a client can act on: reconnect (4001, 4503) or give up (4403, 4404, 4429).
CLOSE_REFUSED = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_FLOOD = 4429
CLOSE_UNAVAILABLE = 4503


class ViewHook(Protocol):
    """Told who watches (for analytics), synchronously and without I/O: it must only buffer.
    `viewer` is "u<user id>" for a signed-in person, "a<hash>" for a guest's browser."""

    def viewer_joined(self, show_id: str, viewer: str, at: float) -> None: ...

    def viewer_left(self, show_id: str, viewer: str, at: float) -> None: ...

    def reactions(self, show_id: str, counts: Mapping[str, int]) -> None: ...


class LiveEdge:
    """Fan-out server for live shows. Construct it with the broker and the three protocols the
    app implements, then `await start(host, port)` inside the app's event loop."""

    def __init__(
        self,
        broker: Broker,
        identify: Identify,
        snapshots: SnapshotSource,
        actions: ActionHandler,
        *,
        settings: EdgeSettings | None = None,
        instance_id: str | None = None,
        views: ViewHook | None = None,
    ) -> None:
        self.broker = broker
        self.views = views
        self.identify = identify
        self.snapshots = snapshots
        self.actions = actions
        self.settings = settings or EdgeSettings()
        self.instance_id = instance_id or secrets.token_hex(6)
        self.rooms: dict[str, ShowRoom] = {}
        self.fanout = FanOut(self.settings.writer_threads, self.settings.threaded_write_from)
        self._server: Server | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._delivered_by_closed_rooms = 0

    @property
    def port(self) -> int:
        """The port actually bound (useful when started on port 0)."""
        assert self._server is not None, "start() the edge first"
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self, host: str, port: int) -> None:
        """Listen for viewers and start the tick, heartbeat and viewer-count loops."""
        self._server = await serve(
            self._serve,
            host,
            port,
            process_request=self._route,
            max_size=self.settings.max_frame_bytes,
            max_queue=4,
            ping_interval=None,  # heartbeats are one shared frame per show, see ShowRoom
            compression=None,  # per-connection deflate doubles CPU and defeats shared frames
            close_timeout=2,
            # After an instance dies its viewers all reconnect at once: queue them, don't drop.
            backlog=4096,
        )
        self._tasks = [
            asyncio.create_task(self._every(self.settings.tick_s, self._publish_taps)),
            asyncio.create_task(self._every(self.settings.heartbeat_s, self._heartbeat)),
            asyncio.create_task(
                self._every(self.settings.viewer_count_interval_s, self._count_viewers)
            ),
        ]

    async def stop(self) -> None:
        """Close every connection (clients reconnect elsewhere and resume) and stop."""
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._server is not None:
            self._server.close(close_connections=True)
            await self._server.wait_closed()
        for room in self.rooms.values():
            await room.stop()
            with contextlib.suppress(BrokerUnavailable):
                await self._report(room, 0)
        self.rooms.clear()
        self.fanout.close()

    @property
    def delivered(self) -> int:
        """Events written to viewers by this edge since it started (event x viewer)."""
        return self._delivered_by_closed_rooms + sum(room.delivered for room in self.rooms.values())

    def viewers_here(self, show_id: str) -> int:
        """Connections to this show on this instance."""
        room = self.rooms.get(show_id)
        return room.size if room else 0

    # -- connections --------------------------------------------------------------------------

    def _route(self, connection: ServerConnection, request: Request) -> Response | None:
        if PATH.match(urlsplit(request.path).path) is None:
            return connection.respond(HTTPStatus.NOT_FOUND, "No live channel here.\n")
        return None

    async def _serve(self, ws: ServerConnection) -> None:
        url = urlsplit(ws.request.path if ws.request else "")
        match = PATH.match(url.path)
        assert match is not None  # _route refused anything else
        show_id = match.group(1)
        live_request = _live_request(ws, show_id, url.query)
        try:
            viewer = await self.identify.identify(live_request)
        except VitrineError as error:
            await _refuse(ws, error_event(error), CLOSE_REFUSED)
            return
        connection = ViewerConnection(ws, viewer, show_id, self.settings.flood_burst)
        hello = await self._await_hello(connection)
        if hello is None:
            return
        room = self._room(show_id)
        try:
            await room.join(connection, hello.last_seq, self.settings.heartbeat_s)
        except VitrineError as error:
            room.leave(connection)
            code = CLOSE_NOT_FOUND if error.status == 404 else CLOSE_REFUSED
            await _refuse(ws, error_event(error), code)
            return
        except BrokerUnavailable:
            room.leave(connection)
            message = "The live channel is briefly unavailable; reconnecting."
            await _refuse(ws, Error(code="unavailable", message=message), CLOSE_UNAVAILABLE)
            return
        views = self.views
        key = _viewer_key(viewer.user_id, live_request) if views else ""
        if views:
            views.viewer_joined(show_id, key, time.time())
        try:
            await self._converse(connection, room)
        finally:
            room.leave(connection)
            if views:
                views.viewer_left(show_id, key, time.time())

    async def _await_hello(self, connection: ViewerConnection) -> Hello | None:
        try:
            async with asyncio.timeout(self.settings.hello_timeout_s):
                raw = await connection.ws.recv()
        except (TimeoutError, ConnectionClosed):
            return None
        message = self._parse(connection, raw)
        if isinstance(message, Hello):
            return message
        if message is not None:
            text = 'Say {"type":"hello"} first (with "last_seq" when resuming).'
            connection.write(single_frame(Error(code="bad_frame", message=text)))
        with contextlib.suppress(ConnectionClosed):
            await connection.ws.close(1008, "expected hello")
        return None

    async def _converse(self, connection: ViewerConnection, room: ShowRoom) -> None:
        settings = self.settings
        with contextlib.suppress(ConnectionClosed):
            async for raw in connection.ws:
                connection.last_heard = time.monotonic()
                if not connection.take_token(settings.flood_burst, settings.flood_rate_per_s):
                    if await self._refuse_flood(connection):
                        return
                    continue
                message = self._parse(connection, raw)
                if message is not None:
                    await self._act(connection, room, message)

    async def _refuse_flood(self, connection: ViewerConnection) -> bool:
        connection.refused += 1
        if connection.refused >= self.settings.flood_close_after:
            await _refuse(
                connection.ws,
                Error(code="flood", message="Too many messages; disconnected."),
                CLOSE_FLOOD,
            )
            return True
        now = time.monotonic()
        if now - connection.flood_warned_at >= 1.0:
            connection.flood_warned_at = now
            wait = 1.0 / self.settings.flood_rate_per_s
            text = "You are sending too fast; some messages were ignored."
            connection.write(single_frame(Error(code="flood", message=text, retry_after_s=wait)))
        return False

    def _parse(
        self, connection: ViewerConnection, raw: str | bytes
    ) -> Hello | PostChat | MarkQuestion | React | Ping | None:
        """The client's message, or None after telling the client what was wrong with it."""
        code: ErrorCode
        if isinstance(raw, bytes):
            code, text = "bad_frame", "Send text frames holding JSON."
        elif len(raw) > self.settings.max_message_bytes:
            code = "too_large"
            text = f"Messages are limited to {self.settings.max_message_bytes} characters."
        else:
            try:
                return decode_client(raw)
            except msgspec.ValidationError as error:
                detail = str(error)
                unknown = "`$.type`" in detail and "Invalid value" in detail
                code = "unknown_type" if unknown else "bad_frame"
                text = f"Unknown message type: {detail}" if unknown else detail
            except msgspec.DecodeError:
                code, text = "bad_frame", "Messages must be JSON objects."
        connection.refused += 1
        connection.write(single_frame(Error(code=code, message=text)))
        return None

    async def _act(
        self,
        connection: ViewerConnection,
        room: ShowRoom,
        message: Hello | PostChat | MarkQuestion | React | Ping,
    ) -> None:
        if isinstance(message, Ping):
            connection.write(single_frame(Pong(ref=message.ref)))
        elif isinstance(message, React):
            if message.emoji in REACTIONS:
                room.tap(message.emoji)
            else:
                text = f"React with one of {' '.join(sorted(REACTIONS))}."
                connection.write(single_frame(Error(code="bad_frame", message=text)))
        elif isinstance(message, Hello):
            text = "Already connected; reconnect to resume from another seq."
            connection.write(single_frame(Error(code="bad_frame", message=text)))
        else:
            await self._hand_to_domain(connection, message)

    async def _hand_to_domain(
        self, connection: ViewerConnection, message: PostChat | MarkQuestion
    ) -> None:
        viewer = connection.viewer
        if viewer.user_id is None:
            text = "Sign in to take part in the chat."
            connection.write(
                single_frame(Error(code="not_signed_in", message=text, ref=message.ref))
            )
            return
        try:
            if isinstance(message, PostChat):
                await self.actions.post_chat(connection.show_id, viewer, message.text)
            else:
                await self.actions.mark_question(connection.show_id, viewer, message.message_id)
        except VitrineError as error:
            connection.write(single_frame(error_event(error, ref=message.ref)))
        except Exception:
            # A bug or an outage in the domain must not cost the viewer the connection.
            log.exception("live action %s failed", type(message).__name__)
            text = "Could not do that right now; try again in a moment."
            error_frame = Error(
                code="unavailable", message=text, retry_after_s=1.0, ref=message.ref
            )
            connection.write(single_frame(error_frame))
        else:
            if message.ref:
                connection.write(single_frame(Ack(ref=message.ref)))

    # -- rooms and periodic work ----------------------------------------------------------------

    def _room(self, show_id: str) -> ShowRoom:
        room = self.rooms.get(show_id)
        if room is None:
            room = self.rooms[show_id] = ShowRoom(
                show_id, self.broker, self.snapshots, self.settings, self.fanout
            )
            room.start()
        return room

    async def _every(self, period_s: float, work: Callable[[], Awaitable[None]]) -> None:
        while True:
            await asyncio.sleep(period_s)
            try:
                await work()
            except BrokerUnavailable as error:
                log.warning("live edge: broker unavailable (%s)", error)
            except Exception:
                log.exception("live edge periodic work failed")

    async def _publish_taps(self) -> None:
        for room in tuple(self.rooms.values()):
            taps = room.take_taps()
            if taps:
                if self.views:
                    self.views.reactions(room.show_id, taps)
                await room.broker.publish(room.channel, _encode_tally(taps))

    async def _heartbeat(self) -> None:
        rooms = tuple(self.rooms.values())
        for room in rooms:
            room.heartbeat()
        for room in rooms:
            # Safety net under pub/sub: anything published but never received is fetched.
            if await self.broker.last_seq(room.channel) > room.last:
                room.catch_up()

    async def _count_viewers(self) -> None:
        now = time.monotonic()
        for show_id, room in tuple(self.rooms.items()):
            if (
                not room.size
                and room.empty_since
                and now - room.empty_since > self.settings.room_linger_s
            ):
                del self.rooms[show_id]
                self._delivered_by_closed_rooms += room.delivered
                await room.stop()
                await self._report(room, 0)
                continue
            room.set_viewer_count(await self._report(room, room.size))

    async def _report(self, room: ShowRoom, count: int) -> int:
        ttl = max(5.0, 3 * self.settings.viewer_count_interval_s)
        return await self.broker.report_count(
            audience_key(room.show_id), self.instance_id, count, ttl
        )


def _encode_tally(taps: dict[str, int]) -> bytes:
    return encode(ReactionsTally(counts=taps))


def _viewer_key(user_id: str | None, request: LiveRequest) -> str:
    """Who watches, for counting unique viewers: the user, or a guest's browser known by its
    CSRF cookie (hashed), or else this one connection."""
    if user_id:
        return f"u{user_id}"[:40]
    browser = request.cookies.get("vitrine_csrf") or secrets.token_hex(16)
    return "a" + hashlib.sha256(browser.encode()).hexdigest()[:32]


def _live_request(ws: ServerConnection, show_id: str, query: str) -> LiveRequest:
    headers = (
        {name.lower(): value for name, value in ws.request.headers.raw_items()}
        if ws.request
        else {}
    )
    cookies: dict[str, str] = {}
    with contextlib.suppress(CookieError):
        jar = SimpleCookie(headers.get("cookie", ""))
        cookies = {name: morsel.value for name, morsel in jar.items()}
    return LiveRequest(
        show_id=show_id, headers=headers, cookies=cookies, query=dict(parse_qsl(query))
    )


async def _refuse(ws: ServerConnection, error: Error, close_code: int) -> None:
    with contextlib.suppress(ConnectionClosed):
        await ws.send(single_frame_text(error))
        await ws.close(close_code, error.message[:120])


def single_frame_text(error: Error) -> str:
    return "[" + encode(error).decode() + "]"
