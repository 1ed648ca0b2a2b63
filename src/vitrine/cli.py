"""`vitrine serve | migrate | create-admin | demo`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from vitrine.config import SettingError, Settings, load_settings
from vitrine.logs import configure as configure_logging


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vitrine", description="Self-hosted live shopping")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="migrate the database and run the server")
    serve.add_argument("--demo", action="store_true", help="seed the demo brand, products and show")
    commands.add_parser(
        "edge", help="run only the live channel's WebSocket edge (for separate edge processes)"
    )
    commands.add_parser("migrate", help="bring the database schema up to date")
    admin = commands.add_parser("create-admin", help="create the operator account")
    admin.add_argument("email")
    admin.add_argument("--name", default="Operator")
    admin.add_argument(
        "--password", help="default: asked on the terminal, or VITRINE_ADMIN_PASSWORD"
    )
    commands.add_parser("demo", help="seed the demo brand, products and show (idempotent)")
    args = parser.parse_args(argv)

    try:
        settings = load_settings()
    except SettingError as error:
        print(f"vitrine: {error}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level, settings.log_format)
    if args.command == "migrate":
        _migrate(settings)
        print(f"Database is up to date: {_shown_url(settings)}")
        return 0
    if args.command == "create-admin":
        return _create_admin(settings, args.email, args.name, args.password)
    if args.command == "demo":
        _migrate(settings)
        logins = asyncio.run(_seed(settings))
        _print_logins(logins)
        return 0
    if args.command == "edge":
        return _edge(settings)
    if args.command == "serve":
        if args.demo:
            settings = settings.with_changes(demo=True)
        return _serve(settings)
    return 2


def _shown_url(settings: Settings) -> str:
    url = settings.database
    return url.split("@")[-1] if "@" in url else url


def _migrate(settings: Settings) -> None:
    from vitrine.core.migrate import upgrade

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    upgrade(settings.database)


async def _seed(settings: Settings) -> list[tuple[str, str, str]]:
    from vitrine.core.db import Database
    from vitrine.demo import seed_demo

    db = Database(settings.database)
    try:
        return await seed_demo(db, settings)
    finally:
        await db.dispose()


def _print_logins(logins: list[tuple[str, str, str]]) -> None:
    print("Demo logins:")
    for role, email, password in logins:
        print(f"  {role:<10} {email}  password: {password}")


def _create_admin(settings: Settings, email: str, name: str, password: str | None) -> int:
    import os

    from vitrine.accounts.users import SignUp, ensure_user
    from vitrine.core.db import Database
    from vitrine.core.errors import VitrineError

    _migrate(settings)
    password = password or os.environ.get("VITRINE_ADMIN_PASSWORD") or getpass.getpass("Password: ")

    async def create() -> None:
        db = Database(settings.database)
        try:
            await ensure_user(db, SignUp(email, password, name), operator=True)
        finally:
            await db.dispose()

    try:
        asyncio.run(create())
    except VitrineError as error:
        print(f"vitrine: {error.detail}", file=sys.stderr)
        return 1
    print(f"Operator account ready: {email}")
    return 0


def _serve(settings: Settings) -> int:
    import uvicorn

    from vitrine.app import create_app

    _migrate(settings)
    if settings.demo:
        _print_logins(asyncio.run(_seed(settings)))
    print(f"Vitrine is running at {settings.base_url}/  (Ctrl+C to stop)", flush=True)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level.lower(),
        log_config=None,  # keep our handlers (and the JSON format) for uvicorn too
        proxy_headers=True,
        ws="none",
    )
    return 0


def _edge(settings: Settings) -> int:
    """A process that serves viewers' WebSockets only; web processes publish to it via Redis."""
    import signal

    from vitrine.wiring import running

    if not settings.redis_url:
        print(
            "vitrine: a separate edge needs VITRINE_REDIS_URL (the web processes publish there)",
            file=sys.stderr,
        )
        return 2

    async def serve_edge() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        async with running(settings, with_edge=True):
            print(f"Live edge listening on {settings.host}:{settings.live_port}", flush=True)
            await stop.wait()

    asyncio.run(serve_edge())
    return 0
