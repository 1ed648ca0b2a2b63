"""People using a running cluster the way a browser does: a session cookie from the log-in
form, the CSRF token from its cookie sent in a header, JSON answers; and viewers on the live
channel who reconnect through nginx and resume from the last sequence number they saw, as the
page's script does."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import Callable
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidHandshake, WebSocketException

CSRF_COOKIE = "vitrine_csrf"
SESSION_COOKIE = "vitrine_session"
WAIT_S = 60.0  # generous: the machine running the suite may be busy


class Person:
    """One person's browser: cookies for 127.0.0.1 whichever port (nginx or an instance)."""

    def __init__(self, base_url: str, email: str = "", password: str = "") -> None:
        self.base_url = base_url
        self.email = email
        self.password = password
        self.client = httpx.AsyncClient(base_url=base_url, timeout=60, follow_redirects=False)

    async def log_in(self) -> None:
        await self.client.get("/login")
        answer = await self.client.post(
            "/login",
            data={"email": self.email, "password": self.password, "_csrf_token": self.csrf},
        )
        assert answer.status_code == 303, answer.text[:500]

    @property
    def csrf(self) -> str:
        return self.client.cookies.get(CSRF_COOKIE) or ""

    @property
    def cookie_header(self) -> str:
        return "; ".join(f"{name}={value}" for name, value in self.client.cookies.items())

    async def act(self, path: str, form: dict[str, Any] | None = None) -> httpx.Response:
        """A button's POST from a page's script: form fields, CSRF header, JSON wanted. `path`
        may be a full URL (another instance)."""
        return await self.client.post(
            path,
            data={key: str(value) for key, value in (form or {}).items()},
            headers={"accept": "application/json", "x-csrf-token": self.csrf},
        )

    async def aclose(self) -> None:
        await self.client.aclose()


class Viewer:
    """Watches a show's live channel and keeps everything it was sent."""

    def __init__(self, url: str, *, cookie: str = "") -> None:
        self.url = url
        self.cookie = cookie
        self.events: list[dict[str, Any]] = []
        self.welcomes: list[dict[str, Any]] = []
        self.snapshots: list[int] = []  # the seq each snapshot was consistent with
        self.seqs: list[int] = []  # numbered events, in the order received
        self.connections = 0
        self.last_seq: int | None = None
        self._task: asyncio.Task[None] | None = None
        self._ws: ClientConnection | None = None

    async def start(self) -> Viewer:
        self._task = asyncio.create_task(self._watch())
        await self.wait_for(lambda: bool(self.snapshots), "a first snapshot")
        return self

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _watch(self) -> None:
        headers = {"cookie": self.cookie} if self.cookie else None
        while True:
            try:
                async with connect(self.url, additional_headers=headers, open_timeout=10) as ws:
                    self._ws = ws
                    self.connections += 1
                    hello: dict[str, Any] = {"type": "hello", "v": 1}
                    if self.last_seq is not None:
                        hello["last_seq"] = self.last_seq
                    await ws.send(json.dumps(hello))
                    async for frame in ws:
                        for event in json.loads(frame):
                            self._take(event)
            except (OSError, TimeoutError, InvalidHandshake, WebSocketException):
                pass
            self._ws = None
            await asyncio.sleep(0.2)

    def _take(self, event: dict[str, Any]) -> None:
        self.events.append(event)
        kind = event["type"]
        if kind == "welcome":
            self.welcomes.append(event)
        elif kind == "snapshot":
            self.snapshots.append(event["seq"])
            self.last_seq = event["seq"]
        elif "seq" in event:
            self.seqs.append(event["seq"])
            self.last_seq = event["seq"]

    async def say(self, text: str) -> dict[str, Any]:
        """Post to the chat on this connection; the edge's answer (ack or error)."""
        assert self._ws is not None, "not connected"
        ref = secrets.token_hex(4)
        await self._ws.send(json.dumps({"type": "chat_post", "text": text, "ref": ref}))
        await self.wait_for(lambda: self._answer(ref) is not None, f"an answer to chat {ref}")
        answer = self._answer(ref)
        assert answer is not None
        return answer

    def _answer(self, ref: str) -> dict[str, Any] | None:
        return next(
            (e for e in self.events if e.get("ref") == ref and e["type"] in ("ack", "error")),
            None,
        )

    def seen(self, kind: str, **fields: Any) -> list[dict[str, Any]]:
        return [
            event
            for event in self.events
            if event["type"] == kind and all(event.get(k) == v for k, v in fields.items())
        ]

    async def wait_for(self, done: Callable[[], bool], what: str) -> None:
        deadline = asyncio.get_running_loop().time() + WAIT_S
        while not done():
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"viewer never saw {what}; saw {self.events[-20:]}")
            await asyncio.sleep(0.05)

    async def wait_to_see(self, kind: str, **fields: Any) -> dict[str, Any]:
        await self.wait_for(lambda: bool(self.seen(kind, **fields)), f"{kind} {fields}")
        return self.seen(kind, **fields)[0]

    def missed_nothing(self) -> bool:
        """After each snapshot, every numbered event exactly once and in order: no gap, no
        duplicate (a snapshot restarts the count from the number it was taken at)."""
        expected = None
        for event in self.events:
            if event["type"] == "snapshot":
                expected = event["seq"] + 1
            elif "seq" in event:
                if event["seq"] != expected:
                    return False
                expected += 1
        return expected is not None

    def audience(self) -> int:
        """The viewer count the screen shows now."""
        shown = 0
        for event in self.events:
            if event["type"] == "snapshot":
                shown = event["viewer_count"]
            elif event["type"] == "viewer_count":
                shown = event["count"]
        return shown

    def pinned(self) -> str | None:
        """The product the shop banner shows now, from everything received."""
        shown = None
        for event in self.events:
            if event["type"] == "snapshot":
                shown = event["pinned"]["product_id"] if event.get("pinned") else None
            elif event["type"] == "product_pinned":
                shown = event["product_id"]
            elif event["type"] == "product_unpinned":
                shown = None
        return shown
