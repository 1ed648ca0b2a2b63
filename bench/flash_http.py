"""The flash sale's HTTP case: one real web process (uvicorn running the Vitrine app) and wrk
tapping Buy on a deal as signed-in shoppers, then the same for the peer's route (one locked
transaction per request) in the same process. Shoppers' sessions are created directly through
the accounts tables (sign-up is rate-limited per address); each shopper has its own CSRF token,
signed with the instance's secret as the CSRF middleware signs it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import signal
import socket
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from litestar.middleware.csrf import generate_csrf_token
from sqlalchemy import func, select

from vitrine.accounts.models import UserSession
from vitrine.accounts.tokens import digest, new_token
from vitrine.catalog.models import Variant
from vitrine.commerce.announce import RecordingAnnouncer
from vitrine.commerce.deals import DealService
from vitrine.commerce.gate import MemoryDealGate
from vitrine.commerce.models import DealClaim, Order, table_of
from vitrine.core.clock import utc_now
from vitrine.core.db import Database
from vitrine.core.migrate import upgrade

BENCH = Path(__file__).resolve().parent
WRK = shutil.which("wrk") or "/usr/bin/wrk"


async def http_case(
    url: str,
    *,
    seed: Any,
    units: int,
    shoppers: int,
    seconds: float,
    connections: int,
    threads: int,
    deal_price: int,
) -> dict[str, Any]:
    """Attempts per second and p99 for Vitrine's buying route, then for the peer's."""
    await asyncio.to_thread(upgrade, url)
    db = Database(url)
    seeded = await seed(db, buyers=shoppers, stock=2 * units)
    secret = secrets.token_hex(32)
    lines = await _sessions(db, seeded.buyer_ids, secret)
    deals = DealService(db, MemoryDealGate(), RecordingAnnouncer())
    deal = await deals.start_deal(
        seeded.owner,
        seeded.show_id,
        variant_id=seeded.variant_id,
        deal_price=deal_price,
        quantity=units,
        duration_s=600,
    )
    # The peer sells the other half of the stock straight from the variant.
    with tempfile.TemporaryDirectory() as scratch:
        shoppers_file = Path(scratch) / "shoppers.txt"
        shoppers_file.write_text("".join(f"{s} {c}\n" for s, c in lines))
        port = _free_port()
        server = await _start_server(url, Path(scratch), port, secret)
        try:
            base = f"http://127.0.0.1:{port}"
            vitrine = await _wrk(
                f"{base}/deals/{deal.deal_id}/buy",
                shoppers_file,
                seconds=seconds,
                connections=connections,
                threads=threads,
            )
            peer = await _wrk(
                f"{base}/bench/peer/variants/{seeded.variant_id}/buy",
                shoppers_file,
                seconds=seconds,
                connections=connections,
                threads=threads,
            )
        finally:
            await _stop(server)
    async with db.read() as session:
        claimed = await session.scalar(
            select(func.coalesce(func.sum(DealClaim.quantity), 0)).where(
                DealClaim.deal_id == deal.deal_id
            )
        )
        peer_orders = await session.scalar(
            select(func.count()).select_from(Order).where(Order.deal_id.is_(None))
        )
        stock = await session.scalar(select(Variant.stock).where(Variant.id == seeded.variant_id))
    await db.dispose()
    return {
        "http_attempts_per_s": vitrine["attempts_per_s"],
        "http_p99_ms": vitrine["p99_ms"],
        "http_p50_ms": vitrine["p50_ms"],
        "http_statuses": vitrine["statuses"],
        "http_socket_errors": vitrine["socket_errors"],
        "http_oversold": max(0, int(claimed or 0) - units),
        "peer_http_attempts_per_s": peer["attempts_per_s"],
        "peer_http_p99_ms": peer["p99_ms"],
        "peer_http_statuses": peer["statuses"],
        "peer_http_oversold": max(0, int(peer_orders or 0) - units)
        + (1 if (stock or 0) < 0 else 0),
        "http_seconds": seconds,
        "http_connections": connections,
        "http_shoppers": shoppers,
    }


async def _sessions(db: Database, buyer_ids: list[int], secret: str) -> list[tuple[str, str]]:
    """A signed-in session and a CSRF cookie per shopper, as after logging in on the page."""
    tokens = [new_token() for _ in buyer_ids]
    expires = utc_now() + timedelta(days=1)
    async with db.write() as tx:
        for start in range(0, len(buyer_ids), 5_000):
            await tx.session.execute(
                table_of(UserSession).insert(),
                [
                    {
                        "token_hash": digest(token),
                        "user_id": buyer,
                        "created_at": utc_now(),
                        "expires_at": expires,
                    }
                    for token, buyer in zip(
                        tokens[start : start + 5_000], buyer_ids[start : start + 5_000], strict=True
                    )
                ],
            )
    return [(token, generate_csrf_token(secret)) for token in tokens]


async def _start_server(url: str, data_dir: Path, port: int, secret: str) -> Any:
    env = {
        **os.environ,
        "VITRINE_DATABASE_URL": url,
        "VITRINE_DATA_DIR": str(data_dir / "var"),
        "VITRINE_SECRET_KEY": secret,
        "VITRINE_PORT": str(port),
        "VITRINE_LIVE_PORT": str(_free_port()),
        "VITRINE_LOG_LEVEL": "WARNING",
        "VITRINE_REDIS_URL": "",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "flash_http_app:make_app",
        "--app-dir",
        str(BENCH),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
        "--ws",
        "none",
        env=env,
        start_new_session=True,
    )
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            await asyncio.sleep(0.1)
            if process.returncode is not None:
                raise RuntimeError("the web process exited at start")
            try:
                answer = await client.get(f"http://127.0.0.1:{port}/healthz")
            except httpx.TransportError:
                continue
            if answer.status_code < 500:
                return process
    raise RuntimeError("the web process did not answer within 30 s")


async def _stop(process: Any) -> None:
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            process.kill()
            await process.wait()


async def _wrk(
    url: str, shoppers: Path, *, seconds: float, connections: int, threads: int
) -> dict[str, Any]:
    process = await asyncio.create_subprocess_exec(
        WRK,
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(BENCH / "flash_taps.lua"),
        url,
        env={
            **os.environ,
            "FLASH_SHOPPERS": str(shoppers),
            "FLASH_THREADS": str(threads),
            "FLASH_RUN": secrets.token_hex(3) + "-",
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    found = re.search(r"^FLASH (\{.*\})$", out.decode(), re.MULTILINE)
    if found is None:
        raise RuntimeError(f"wrk printed no summary: {out.decode()} {err.decode()}")
    summary = json.loads(found.group(1))
    return {
        "attempts_per_s": round(summary["requests"] / summary["seconds"]),
        "p50_ms": round(summary["p50_ms"], 1),
        "p99_ms": round(summary["p99_ms"], 1),
        "socket_errors": summary["socket_errors"],
        "statuses": summary["statuses"],
    }


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
