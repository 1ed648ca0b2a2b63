"""`python -m vitrine.deploy cluster` starts the production topology on this machine (what
`make cluster` runs); `python -m vitrine.deploy nginx-config` prints the nginx.conf for yours."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

from vitrine.deploy.local import LocalCluster
from vitrine.deploy.nginx import NginxSite, render_nginx
from vitrine.deploy.processes import ChildProcess, ClusterError

EXAMPLE = NginxSite()  # the production example of docs/deploy/


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vitrine.deploy")
    commands = parser.add_subparsers(dest="command", required=True)
    cluster = commands.add_parser("cluster", help="run nginx, N instances, Redis, PostgreSQL here")
    cluster.add_argument("--web", type=int, default=2, help="web instances (default 2)")
    cluster.add_argument(
        "--edges", type=int, default=0, help="separate edge processes (default 0: each web "
        "instance serves the live channel itself)",
    )  # fmt: skip
    cluster.add_argument("--redis-url", default="", help="default: a private redis-server")
    cluster.add_argument("--database-url", default="", help="default: a private PostgreSQL")
    cluster.add_argument("--dir", type=Path, help="default: a new folder under var/")
    cluster.add_argument("--no-demo", action="store_true", help="no demo brand, show or video")
    nginx = commands.add_parser("nginx-config", help="print nginx.conf for a production site")
    nginx.add_argument("--server-name", default=EXAMPLE.server_name)
    nginx.add_argument("--web", action="append", help="host:port of a web instance (repeat)")
    nginx.add_argument("--edge", action="append", help="host:port of a live edge (repeat)")
    nginx.add_argument("--tls-certificate", help="default: Let's Encrypt's path for the name")
    nginx.add_argument("--tls-certificate-key")
    nginx.add_argument("--data-dir", default=EXAMPLE.data_dir, help="VITRINE_DATA_DIR")
    nginx.add_argument("--hls-live-dir", default=EXAMPLE.hls_live_dir)
    nginx.add_argument("--no-rtmp", action="store_true", help="leave nginx-rtmp ingest out")
    args = parser.parse_args(argv)
    if args.command == "nginx-config":
        print(render_nginx(_site(args)), end="")
        return 0
    return _run_cluster(args)


def _site(args: argparse.Namespace) -> NginxSite:
    name = args.server_name
    return NginxSite(
        server_name=name,
        web=tuple(args.web or EXAMPLE.web),
        edges=tuple(args.edge or EXAMPLE.edges),
        tls_certificate=args.tls_certificate or f"/etc/letsencrypt/live/{name}/fullchain.pem",
        tls_certificate_key=args.tls_certificate_key or f"/etc/letsencrypt/live/{name}/privkey.pem",
        data_dir=args.data_dir,
        hls_live_dir=args.hls_live_dir,
        rtmp_listen="" if args.no_rtmp else EXAMPLE.rtmp_listen,
    )


def _run_cluster(args: argparse.Namespace) -> int:
    directory = args.dir or Path(tempfile.mkdtemp(prefix="cluster-", dir=_var()))
    cluster = LocalCluster(
        directory,
        web=args.web,
        edges=args.edges,
        redis_url=args.redis_url,
        database_url=args.database_url,
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    print(f"Starting Vitrine on this machine (logs in {directory}) …", flush=True)
    try:
        with cluster:
            source = None if args.no_demo else _demo(cluster)
            _describe(cluster)
            while not stop.is_set() and all(i.child.running() for i in cluster.instances):
                time.sleep(0.5)
            if source is not None:
                source.stop()
    except ClusterError as error:
        print(f"vitrine.deploy: {error}", file=sys.stderr)
        return 1
    return 0


def _var() -> Path:
    folder = Path("var")
    folder.mkdir(exist_ok=True)
    return folder


def _demo(cluster: LocalCluster) -> ChildProcess | None:
    """Seed the demo brand and show, and publish a test pattern to it through nginx-rtmp."""
    print(cluster.vitrine("demo"), end="")
    from vitrine.core.db import Database
    from vitrine.demo import demo_show
    from vitrine.media.argv import demo_source_argv
    from vitrine.media.demo import ffmpeg_path, find_font

    async def stream_key() -> str | None:
        db = Database(cluster.database_url)
        try:
            show = await demo_show(db)
        finally:
            await db.dispose()
        return None if show is None else f"{show.public_name}?key={show.stream_key}"

    key, font = asyncio.run(stream_key()), find_font()
    if key is None or font is None:
        return None
    argv = demo_source_argv(
        ffmpeg_path(),
        url=f"{cluster.rtmp_url}/{key}",
        start_epoch_s=time.time(),
        fontfile=font,
        size="640x360",
        fps=25,
        video_kbps=800,
    )
    source = ChildProcess("demo-source", argv, cluster.directory / "demo-source.log")
    source.start()
    return source


def _describe(cluster: LocalCluster) -> None:
    lines = [
        "",
        f"Vitrine is running at {cluster.url}/  (Ctrl+C stops everything)",
        f"  live channel   {cluster.live_url}/shows/<id>/live",
        f"  RTMP ingest    {cluster.rtmp_url}",
        f"  Redis          {cluster.redis_url}",
        f"  PostgreSQL     {cluster.database_url}",
    ]
    for instance in cluster.instances:
        parts = [instance.url] if instance.kind == "web" else []
        parts += [f"live edge {instance.live_url}"] if instance.has_edge else []
        lines.append(f"  {instance.name:<14} {', '.join(parts)}  (pid {instance.child.pid})")
    lines.append(f"  logs           {cluster.directory}")
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
