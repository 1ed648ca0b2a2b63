"""Soak: a long live show on a real Vitrine process, to see that nothing leaks or gets lost.

A `vitrine serve` process (uvicorn and its live edge) runs on a SQLite file of its own, or in
a scratch database on the PostgreSQL given by --postgres, with the in-process broker or the
Redis given by --redis (keys under a prefix of the run's own, deleted at the end). The demo
brand, its show and the people are made through the services, as `vitrine demo` does (not
the sign-up form, which is rate-limited per address). The show goes live the way nginx-rtmp
makes it go live (its on_publish callback), without video.

Then, on loopback:
- `--viewers` guests watch on the live WebSocket: lean C clients in separate processes
  (bench/soak_client.c), which ping like a page and count what they get;
- `--chat-per-s` messages a second are posted over the live channel by signed-in chatters,
  each at a quarter of a message a second (the chat allows half: 5 per 10 s per person);
- `--deals` flash deals, spread over the run, are started by the host from the studio and
  tapped by every one of `--shoppers` signed-in shoppers at once; winners pay.
The server's RSS (/proc/<pid>/status), open fds, live connections and events delivered (its
/metrics) are sampled every `--sample-s` seconds. Progress goes to stderr; stdout gets one
JSON object.

Memory is flat when the RSS grows by at most FLAT_MIB_MIN MiB, or FLAT_SHARE of the RSS after
warm-up if more, over the second half of the run (a least-squares line through the samples).
There is no peer design for a soak: the baseline is the same process idle before anyone
connects (`rss_mib.idle`).

    .venv/bin/python bench/soak.py                  # 30 min, 5,000 viewers, 20 msg/s, 3 deals
    .venv/bin/python bench/soak.py --smoke          # about a minute, used by the test suite
    .venv/bin/python bench/soak.py --smoke --postgres postgresql://postgres@127.0.0.1:5432/test

Bounded: every wait has a time-out, the run as a whole has one, the C clients give up on
their own, and the server and clients die with this script (PR_SET_PDEATHSIG) if it is
killed; temporary files, the scratch database and Redis keys are removed at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import inspect
import json
import math
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The run makes hundreds of accounts; hashing their passwords is not what is measured (the
# test suites use the same switch). Set before vitrine's password module is imported.
os.environ.setdefault("VITRINE_PASSWORD_HASHING", "fast")

import httpx
from sqlalchemy import func, select
from websockets.asyncio.client import ClientConnection, connect

from fanout import Viewers, build_client, percentile, raise_fd_limit
from scratch import scratch_postgres
from vitrine.accounts.users import SignUp, ensure_user, log_in
from vitrine.catalog.models import Product, Variant
from vitrine.commerce.gateway import TestCards
from vitrine.commerce.models import Deal, Order, OrderLine, OrderStatus
from vitrine.config import Settings
from vitrine.core.db import Database
from vitrine.core.migrate import upgrade_async
from vitrine.demo import MERCHANT, demo_show, seed_demo
from vitrine.deploy.processes import free_port, listening, tail

PASSWORD = "soak-password"
SESSION_COOKIE = "vitrine_session"
CSRF_COOKIE = "vitrine_csrf"
STOP = "STOP"  # the host's last announcement: the C viewers stop reading at it
DEAL_PRODUCT = "Trail flask 500 ml"  # the demo's single-variant product with the most stock
CHATTER_MSG_PER_S = 0.25  # half of what the chat lets one person post (5 per 10 s)
PING_S = 20.0  # viewers' keep-alive (the edge drops a viewer silent for 60 s)
FLAT_MIB_MIN = 8.0
FLAT_SHARE = 0.03
SOLD = (OrderStatus.PENDING_PAYMENT, OrderStatus.PAID)
PAYMENT = {
    "name": "Soak Shopper",
    "line1": "1 Loopback Street",
    "line2": "",
    "postal_code": "75002",
    "city": "Paris",
    "country": "fr",
    "card_number": TestCards.SUCCEEDS,
}


@dataclass(frozen=True)
class Plan:
    duration_s: float
    warmup_s: float
    viewers: int
    chat_per_s: float
    deals: int
    deal_units: int
    shoppers: int
    deal_s: int
    sample_s: float
    client_processes: int
    postgres: str
    redis: str

    @property
    def chatters(self) -> int:
        return max(1, math.ceil(self.chat_per_s / CHATTER_MSG_PER_S))


def log(message: str) -> None:
    print(f"soak: {message}", file=sys.stderr, flush=True)


def die_with_parent() -> None:
    """In a child, before exec: SIGTERM when this script's thread ends, however it ends."""
    ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


async def wait_until(check: Any, timeout_s: float, what: str) -> None:
    """Poll `check()` (a bool, or an awaitable of one) until true, or raise TimeoutError."""
    deadline = time.monotonic() + timeout_s
    while not await _value(check()):
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")
        await asyncio.sleep(0.2)


# -- the server --------------------------------------------------------------------------------


class Server:
    """One `vitrine serve` process of the run's own."""

    def __init__(self, directory: Path, database_url: str, redis_url: str, prefix: str) -> None:
        self.port = free_port()
        self.live_port = free_port()
        self.log = directory / "server.log"
        self.env = {
            **os.environ,
            "VITRINE_HOST": "127.0.0.1",
            "VITRINE_PORT": str(self.port),
            "VITRINE_LIVE_PORT": str(self.live_port),
            "VITRINE_DATA_DIR": str(directory / "data"),
            "VITRINE_DATABASE_URL": database_url,
            "VITRINE_REDIS_URL": redis_url,
            "VITRINE_REDIS_PREFIX": prefix,
            "VITRINE_SECRET_KEY": secrets.token_urlsafe(32),
            # nginx-rtmp's callbacks make the show go live; no RTMP port of our own to take.
            "VITRINE_MEDIA_BACKEND": "nginx-rtmp",
            "VITRINE_LOG_LEVEL": "WARNING",
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "vitrine", "serve"],
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                env=self.env,
                preexec_fn=die_with_parent,  # before any thread starts
            )

    async def ready(self, client: httpx.AsyncClient) -> None:
        async def answers() -> bool:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"the server exited:\n{tail(self.log)}")
            with contextlib.suppress(httpx.TransportError):
                return (await client.get("/healthz")).status_code == 200 and listening(
                    self.live_port
                )
            return False

        await wait_until(answers, 120, "the server to answer")

    def status(self, field_name: str) -> int:
        """A line of /proc/<pid>/status, in kB for sizes."""
        assert self.process is not None
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
        return 0

    def rss_mib(self) -> float:
        return self.status("VmRSS") / 1024

    def fds(self) -> int:
        assert self.process is not None
        return len(os.listdir(f"/proc/{self.process.pid}/fd"))

    def cpu_s(self) -> float:
        assert self.process is not None
        with open(f"/proc/{self.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_errors(self) -> list[str]:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return [line for line in text.splitlines() if "ERROR" in line or "Traceback" in line]

    def stop(self) -> None:
        process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def metrics(client: httpx.AsyncClient) -> dict[str, float]:
    text = (await client.get("/metrics")).text
    values = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values


# -- the people ---------------------------------------------------------------------------------


@dataclass
class Cast:
    """Who takes part, with their session tokens (opened through the accounts service)."""

    show_id: int
    public_name: str
    stream_key: str
    product_id: int
    host: str
    chatters: list[str]
    shoppers: list[str]


async def make_cast(database_url: str, plan: Plan) -> Cast:
    db = Database(database_url)
    try:
        await seed_demo(db, Settings())
        show = await demo_show(db)
        assert show is not None
        async with db.read() as session:
            product_id = await session.scalar(
                select(Product.id).where(Product.title == DEAL_PRODUCT)
            )
            stock = await session.scalar(
                select(Variant.stock).where(Variant.product_id == product_id)
            )
        if product_id is None or (stock or 0) < plan.deals * plan.deal_units:
            raise SystemExit(
                f"{plan.deals} deals of {plan.deal_units} need more stock than {stock}"
            )

        async def person(email: str, password: str = PASSWORD) -> str:
            await ensure_user(db, SignUp(email, password, email.split("@")[0]), operator=False)
            return await log_in(db, email, password, client="soak", attempts_per_minute=10, days=1)

        host = await person(MERCHANT[1], MERCHANT[2])
        chatters = [await person(f"chatter{n}@soak.example") for n in range(plan.chatters)]
        shoppers = [await person(f"shopper{n}@soak.example") for n in range(plan.shoppers)]
        return Cast(
            show.id, show.public_name, show.stream_key, product_id, host, chatters, shoppers
        )
    finally:
        await db.dispose()


class Browser:
    """A signed-in person's browser: the session cookie, the CSRF cookie of a first page sent
    back in a header, JSON answers wanted (as the page's script asks)."""

    def __init__(self, base_url: str, token: str) -> None:
        self.client = httpx.AsyncClient(
            base_url=base_url, cookies={SESSION_COOKIE: token}, timeout=60
        )

    async def open(self) -> None:
        await self.client.get("/login")

    async def act(self, path: str, form: dict[str, Any]) -> httpx.Response:
        return await self.client.post(
            path,
            data={key: str(value) for key, value in form.items()},
            headers={
                "accept": "application/json",
                "x-csrf-token": self.client.cookies.get(CSRF_COOKIE) or "",
            },
        )

    async def aclose(self) -> None:
        await self.client.aclose()


@dataclass
class ChatTally:
    sent: int = 0
    acked: int = 0
    refused: Counter[str] = field(default_factory=Counter)
    pending: dict[str, float] = field(default_factory=dict)  # ref → when sent
    ack_ms: list[float] = field(default_factory=list)


class Chatter:
    """A signed-in viewer who posts on the live channel and reads the answers."""

    def __init__(self, url: str, token: str, tally: ChatTally) -> None:
        self.url = url
        self.token = token
        self.tally = tally
        self.ws: ClientConnection | None = None
        self.reader: asyncio.Task[None] | None = None
        self.last_sent = 0.0

    async def connect(self) -> None:
        self.ws = await connect(
            self.url,
            additional_headers={"cookie": f"{SESSION_COOKIE}={self.token}"},
            open_timeout=30,
            ping_interval=None,
            compression=None,
            max_size=2**22,
        )
        await self.ws.send('{"type":"hello"}')
        self.reader = asyncio.create_task(self._read())
        self.last_sent = time.monotonic()

    async def _read(self) -> None:
        assert self.ws is not None
        async for frame in self.ws:
            # Answers to this connection come alone in a frame; the show's events are skipped.
            if isinstance(frame, str) and frame.startswith(('[{"type":"ack"', '[{"type":"error"')):
                for event in json.loads(frame):
                    self._answered(event)

    def _answered(self, event: dict[str, Any]) -> None:
        sent = self.tally.pending.pop(event.get("ref") or "", None)
        if sent is None:
            return
        if event["type"] == "ack":
            self.tally.acked += 1
            self.tally.ack_ms.append((time.monotonic() - sent) * 1000)
        else:
            self.tally.refused[event.get("code", "?")] += 1

    async def say(self, text: str) -> None:
        assert self.ws is not None
        ref = secrets.token_hex(6)
        self.tally.pending[ref] = self.last_sent = time.monotonic()
        self.tally.sent += 1
        await self.ws.send(json.dumps({"type": "chat_post", "text": text, "ref": ref}))

    async def keep_alive(self) -> None:
        if self.ws is not None and time.monotonic() - self.last_sent > PING_S:
            self.last_sent = time.monotonic()
            await self.ws.send('{"type":"ping"}')

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.reader


# -- the show -----------------------------------------------------------------------------------


@dataclass
class Sample:
    t: float  # seconds since the end of the warm-up (negative during it)
    rss_mib: float
    fds: int
    connections: int
    delivered: float


@dataclass
class DealRun:
    deal_id: int | None = None
    answers: Counter[int] = field(default_factory=Counter)
    paid: int = 0
    error: str = ""


async def run_deal(
    host: Browser, shoppers: list[Browser], cast: Cast, plan: Plan, index: int
) -> DealRun:
    """The host starts a deal; every shopper taps Buy once at the same moment; winners pay."""
    run = DealRun()
    started = await host.act(
        f"/studio/{cast.show_id}/deals",
        {
            "product_id": cast.product_id,
            "deal_price": "19.00",
            "quantity": plan.deal_units,
            "duration_s": plan.deal_s,
            "per_shopper_limit": 1,
        },
    )
    if started.status_code != 200:
        run.error = f"deal {index}: start answered {started.status_code} {started.text[:200]}"
        return run
    deal_id = run.deal_id = started.json()["deal_id"]

    async def tap(number: int, shopper: Browser) -> None:
        key = f"soak-{index}-{number}"
        answer = await shopper.act(f"/deals/{deal_id}/buy", {"idempotency_key": key})
        run.answers[answer.status_code] += 1
        if answer.status_code == 201:
            paid = await shopper.act(answer.json()["pay_url"], PAYMENT)
            if paid.status_code == 200 and paid.json()["order_status"] == "paid":
                run.paid += 1

    await asyncio.gather(*(tap(n, shopper) for n, shopper in enumerate(shoppers)))
    return run


async def deal_outcome(database_url: str, run: DealRun) -> dict[str, Any]:
    """What the database says the deal sold."""
    db = Database(database_url)
    try:
        async with db.read() as session:
            deal = await session.get(Deal, run.deal_id)
            sold = await session.scalar(
                select(func.coalesce(func.sum(OrderLine.quantity), 0))
                .join(Order, Order.id == OrderLine.order_id)
                .where(Order.deal_id == run.deal_id, Order.status.in_(SOLD))
            )
            stock = (
                await session.scalar(select(Variant.stock).where(Variant.id == deal.variant_id))
                if deal
                else None
            )
    finally:
        await db.dispose()
    units = deal.quantity if deal else 0
    return {
        "deal_id": run.deal_id,
        "units": units,
        "won": run.answers.get(201, 0),
        "sold_out": run.answers.get(409, 0),
        "other_answers": {str(k): v for k, v in run.answers.items() if k not in (201, 409)},
        "paid": run.paid,
        "sold": int(sold or 0),
        "oversold": max(0, int(sold or 0) - units),
        "stock_left": stock,
    }


def fit_slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x (0 with fewer than two points)."""
    if len(points) < 2:
        return 0.0
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


def memory_figures(
    samples: list[Sample], duration_s: float, *, idle: float, connected: float
) -> dict[str, Any]:
    """The RSS in MiB (idle: before anyone connects), and whether it stayed flat: grown by at
    most the bound over the second half, along a least-squares line through the samples."""
    steady = [s for s in samples if s.t >= 0] or samples[-1:]
    slope_per_s = fit_slope([(s.t, s.rss_mib) for s in steady if s.t >= duration_s / 2])
    growth = slope_per_s * duration_s / 2
    bound = max(FLAT_MIB_MIN, FLAT_SHARE * steady[0].rss_mib)
    every = max(1, len(samples) // 60)
    return {
        "rss_mib": {
            "idle": round(idle, 1),
            "connected": round(connected, 1),
            "start": round(steady[0].rss_mib, 1),
            "end": round(steady[-1].rss_mib, 1),
            "max": round(max(s.rss_mib for s in samples), 1),
            "growth_second_half": round(growth, 2),
            "slope_mib_per_hour_second_half": round(slope_per_s * 3600, 2),
            "samples": len(samples),
            "series": [[round(s.t), round(s.rss_mib, 1)] for s in samples[::every]],
        },
        "memory_flat": growth <= bound,
        "memory_flat_bound_mib": round(bound, 2),
    }


async def soak(plan: Plan, directory: Path) -> dict[str, Any]:
    errors: list[str] = []
    drop_database = None
    prefix = f"vitrine-soak-{secrets.token_hex(4)}:"
    if plan.postgres:
        database_url, drop_database = await scratch_postgres(plan.postgres, "vitrine_soak")
    else:
        (directory / "data").mkdir(parents=True)
        database_url = f"sqlite+aiosqlite:///{directory / 'data' / 'vitrine.db'}"
    server = Server(directory, database_url, plan.redis, prefix)
    client = httpx.AsyncClient(base_url=server.url, timeout=60)  # scrapes /metrics
    viewers: Viewers | None = None
    chatters: list[Chatter] = []
    browsers: list[Browser] = []
    try:
        log(f"setting up ({'postgresql' if plan.postgres else 'sqlite'}, "
            f"{'redis' if plan.redis else 'in-process broker'})")  # fmt: skip
        await upgrade_async(database_url)
        cast = await make_cast(database_url, plan)
        server.start()
        await server.ready(client)
        went_live = await client.post(
            "/media/nginx/on_publish",
            data={"call": "publish", "name": cast.public_name, "key": cast.stream_key,
                  "addr": "127.0.0.1"},
        )  # fmt: skip
        status = (await client.get(f"/api/v1/shows/{cast.show_id}")).json()["status"]
        if went_live.status_code != 200 or status != "live":
            raise RuntimeError(f"the show did not go live: {went_live.status_code}, {status}")
        host = Browser(server.url, cast.host)
        shoppers = [Browser(server.url, token) for token in cast.shoppers]
        browsers += [host, *shoppers]
        for browser in browsers:
            await browser.open()
        await asyncio.sleep(2)
        rss_idle = server.rss_mib()
        fds_idle = server.fds()
        log(f"show {cast.show_id} live; server idle at {rss_idle:.1f} MiB, {fds_idle} fds")

        path = f"/shows/{cast.show_id}/live"
        run_s = plan.warmup_s + plan.duration_s
        viewers = Viewers(
            build_client("soak_client"),
            server.live_port,
            plan.viewers,
            plan.client_processes,
            path=path,
            extra=(str(PING_S), str(run_s + 600)),  # the clients give up on their own
            preexec_fn=die_with_parent,
        )

        async def connected(at_least: int) -> bool:
            return (await metrics(client)).get("vitrine_live_connections", 0) >= at_least

        began = time.monotonic()
        await wait_until(lambda: connected(plan.viewers), 60 + plan.viewers / 20, "viewers")
        connect_s = time.monotonic() - began
        tally = ChatTally()
        chatters = [
            Chatter(f"ws://127.0.0.1:{server.live_port}{path}", t, tally) for t in cast.chatters
        ]
        for chatter in chatters:
            await chatter.connect()
        total = plan.viewers + len(chatters)
        await wait_until(lambda: connected(total), 60, "chatters")
        await asyncio.sleep(1.5)
        rss_connected = server.rss_mib()
        log(f"{plan.viewers} viewers connected in {connect_s:.1f} s, {len(chatters)} chatters; "
            f"{rss_connected:.1f} MiB")  # fmt: skip

        loop = asyncio.get_running_loop()
        steady_at = loop.time() + plan.warmup_s
        end_at = steady_at + plan.duration_s
        cpu_before = server.cpu_s()
        load_before = os.getloadavg()[0]
        samples: list[Sample] = []
        deals_done: list[DealRun] = []

        async def sample() -> None:
            while True:
                figures = await metrics(client)
                samples.append(
                    Sample(
                        t=loop.time() - steady_at,
                        rss_mib=server.rss_mib(),
                        fds=server.fds(),
                        connections=int(figures.get("vitrine_live_connections", 0)),
                        delivered=figures.get("vitrine_live_events_delivered_total", 0),
                    )
                )
                last = samples[-1]
                log(f"t={last.t:7.0f}s rss={last.rss_mib:7.1f}MiB fds={last.fds} "
                    f"connections={last.connections} chat={tally.acked}/{tally.sent} "
                    f"deals={len(deals_done)} delivered={last.delivered:.0f}")  # fmt: skip
                await asyncio.sleep(plan.sample_s)

        async def chat() -> None:
            began = loop.time()
            while (now := loop.time()) < end_at:
                due = int((now - began) * plan.chat_per_s)
                while tally.sent < due:
                    await chatters[tally.sent % len(chatters)].say(f"soak message {tally.sent}")
                for chatter in chatters:
                    await chatter.keep_alive()
                await asyncio.sleep(min(0.05, 1 / plan.chat_per_s))

        async def deals() -> None:
            for index in range(plan.deals):
                at = steady_at + plan.duration_s * (index + 1) / (plan.deals + 1)
                await asyncio.sleep(max(0.0, at - loop.time()))
                run = await run_deal(host, shoppers, cast, plan, index)
                if run.error:
                    errors.append(run.error)
                deals_done.append(run)
                log(f"deal {index + 1}: answers {dict(run.answers)}, paid {run.paid}")

        sampler = asyncio.create_task(sample())
        dealer = asyncio.create_task(deals())
        try:
            await chat()
            await asyncio.wait_for(dealer, timeout=120)
            await wait_until(lambda: not tally.pending, 60, "chat answers")
        finally:
            sampler.cancel()
            dealer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sampler
        cpu_s = server.cpu_s() - cpu_before
        wall_s = loop.time() - steady_at + plan.warmup_s
        load_after = os.getloadavg()[0]
        final = await metrics(client)
        fds_end = server.fds()

        # The host closes: every viewer reads up to the announcement, then reports.
        stop = await host.act(f"/studio/{cast.show_id}/announce", {"text": STOP})
        if stop.status_code != 200:
            errors.append(f"the closing announcement answered {stop.status_code}")
        reports = await viewers.results(timeout_s=120)
        outcomes = [await deal_outcome(database_url, run) for run in deals_done if run.deal_id]
        server_errors = server.log_errors()
    finally:
        for chatter in chatters:
            with contextlib.suppress(Exception):
                await chatter.close()
        for browser in browsers:
            with contextlib.suppress(Exception):
                await browser.aclose()
        await client.aclose()
        if viewers is not None:
            viewers.kill()
        server.stop()
        if plan.redis:
            await delete_keys(plan.redis, prefix)
        if drop_database is not None:
            await drop_database()

    steady = [s for s in samples if s.t >= 0] or samples[-1:]
    connected_viewers = sum(r["connected"] for r in reports)
    delivered = sum(r["chat_total"] for r in reports)
    return {
        "duration_s": plan.duration_s,
        "warmup_s": plan.warmup_s,
        "viewers": plan.viewers,
        "chatters": len(chatters),
        "chat_per_s": plan.chat_per_s,
        "deals": plan.deals,
        "shoppers": plan.shoppers,
        "storage": "postgresql" if plan.postgres else "sqlite",
        "broker": "redis" if plan.redis else "memory",
        "connect_s": round(connect_s, 2),
        **memory_figures(samples, plan.duration_s, idle=rss_idle, connected=rss_connected),
        "fds": {
            "idle": fds_idle,
            "start": steady[0].fds,
            "end": fds_end,
            "max": max(s.fds for s in samples),
        },
        "viewers_connected": connected_viewers,
        "viewers_dropped": sum(r["dropped"] for r in reports) + plan.viewers - connected_viewers,
        "viewers_stopped": sum(r["stopped"] for r in reports),
        "sequence_gaps": sum(r["gaps"] for r in reports),
        "chat_sent": tally.sent,
        "chat_acked": tally.acked,
        "chat_refused": dict(tally.refused),
        "chat_ack_ms_p50": round(percentile(tally.ack_ms, 50), 1),
        "chat_ack_ms_p99": round(percentile(tally.ack_ms, 99), 1),
        "messages_expected": tally.acked * plan.viewers,
        "messages_delivered": delivered,
        "messages_per_viewer_min": min((r["chat_min"] for r in reports), default=0),
        "messages_per_viewer_max": max((r["chat_max"] for r in reports), default=0),
        "deals_seen_per_viewer_min": min((r["deals_min"] for r in reports), default=0),
        "deal_results": outcomes,
        "deals_oversold": sum(outcome["oversold"] for outcome in outcomes),
        "events_delivered": int(final.get("vitrine_live_events_delivered_total", 0)),
        "events_delivered_per_s": round(
            final.get("vitrine_live_events_delivered_total", 0) / wall_s
        ),
        "viewer_bytes_received": sum(r["bytes"] for r in reports),
        "server_cpu_share": round(cpu_s / wall_s, 3),
        "errors": errors + server_errors[:20],
        "server_log_errors": len(server_errors),
        "cpus": os.cpu_count(),
        "load_avg_1m_before": round(load_before, 2),
        "load_avg_1m_after": round(load_after, 2),
    }


async def _value(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


async def delete_keys(redis_url: str, prefix: str) -> None:
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url)
    try:
        keys = [key async for key in redis.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await redis.delete(*keys)
    finally:
        await redis.aclose()


async def bounded(plan: Plan, directory: Path) -> dict[str, Any]:
    """The soak under a deadline, stopped cleanly by SIGTERM or Ctrl+C."""
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    limit = plan.warmup_s + plan.duration_s + 900 + plan.viewers / 10
    async with asyncio.timeout(limit):
        return await soak(plan, directory)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--duration-s", type=float, default=1800)
    parser.add_argument("--warmup-s", type=float, default=60)
    parser.add_argument("--viewers", type=int, default=5000)
    parser.add_argument("--chat-per-s", type=float, default=20)
    parser.add_argument("--deals", type=int, default=3)
    parser.add_argument("--deal-units", type=int, default=25)
    parser.add_argument("--shoppers", type=int, default=300)
    parser.add_argument("--deal-s", type=int, default=120, help="each deal's duration")
    parser.add_argument("--sample-s", type=float, default=10)
    parser.add_argument("--processes", type=int, default=2, help="C viewer processes")
    parser.add_argument("--postgres", default="", help="admin URL; a scratch database is made")
    parser.add_argument("--redis", default="", help="URL; the run's keys get a prefix")
    parser.add_argument("--keep", action="store_true", help="keep the run's directory")
    parser.add_argument("--smoke", action="store_true", help="about a minute: the test suite's")
    args = parser.parse_args()
    if args.smoke:
        plan = Plan(30, 10, 200, 5, 3, 10, 30, 10, 1, 1, args.postgres, args.redis)
    else:
        plan = Plan(
            args.duration_s, args.warmup_s, args.viewers, args.chat_per_s, args.deals,
            args.deal_units, args.shoppers, args.deal_s, args.sample_s, args.processes,
            args.postgres, args.redis,
        )  # fmt: skip
    if not (
        1 <= plan.viewers <= 18_000
        and 10 <= plan.duration_s <= 4 * 3600
        and 0 < plan.chat_per_s <= 200
        and 0 <= plan.deals <= 10
        and 1 <= plan.shoppers <= 2_000
        and plan.sample_s >= 0.5
    ):
        sys.exit("out of bounds: 1-18,000 viewers, 10 s-4 h, 0-200 msg/s, 0-10 deals")
    raise_fd_limit(plan.viewers + plan.chatters + plan.shoppers + 1024)
    directory = Path(tempfile.mkdtemp(prefix="vitrine-soak-"))
    try:
        result = asyncio.run(bounded(plan, directory))
    except BaseException:
        print(f"soak: failed; the server's log ends:\n{tail(directory / 'server.log')}",
              file=sys.stderr)  # fmt: skip
        raise
    finally:
        if not args.keep:
            shutil.rmtree(directory, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
