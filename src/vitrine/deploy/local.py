"""The production topology on one machine: nginx in front (HTTP, the live channel's WebSockets,
HLS, nginx-rtmp ingest), several Vitrine instances, Redis and PostgreSQL, all on free ports.

Each instance is a `vitrine serve` process with its live edge in the same event loop (the
default), or, with `edges > 0`, web processes without an edge plus separate `vitrine edge`
processes. Redis and PostgreSQL are private ones started here unless URLs are given. This is
what `make cluster` runs and what tests/cluster/ starts for each test."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

from vitrine.core.migrate import upgrade
from vitrine.deploy.nginx import RTMP_MODULE, NginxSite, render_nginx
from vitrine.deploy.processes import ChildProcess, ClusterError, free_port, listening
from vitrine.deploy.stores import PrivatePostgres, PrivateRedis

NGINX = "/usr/sbin/nginx"
START_TIMEOUT_S = 120.0  # a busy CI machine starting several Pythons at once


def _answers_health(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:  # noqa: S310
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


class Instance:
    """One Vitrine process: `web` (pages, API, and its live edge unless edges run apart) or
    `edge` (the live channel only)."""

    def __init__(self, name: str, kind: str, directory: Path, env: Mapping[str, str]) -> None:
        self.name = name
        self.kind = kind
        self.port = free_port()
        self.live_port = free_port()
        command = "serve" if kind == "web" else "edge"
        self.env = {
            **env,
            "VITRINE_PORT": str(self.port),
            "VITRINE_LIVE_PORT": str(self.live_port),
        }
        self.child = ChildProcess(
            name,
            [sys.executable, "-m", "vitrine", command],
            directory / f"{name}.log",
            env=self.env,
        )

    @property
    def url(self) -> str:
        """The instance itself, bypassing nginx."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def live_url(self) -> str:
        """Its live edge, bypassing nginx."""
        return f"ws://127.0.0.1:{self.live_port}"

    @property
    def has_edge(self) -> bool:
        return self.kind == "edge" or self.env.get("VITRINE_LIVE_EDGE", "true") == "true"

    def start(self) -> None:
        self.child.start()

    def wait_ready(self) -> None:
        if self.kind == "web":
            self.child.wait_until(
                lambda: _answers_health(self.url), timeout_s=START_TIMEOUT_S, what="/healthz"
            )
        if self.has_edge:
            self.child.wait_until(
                lambda: listening(self.live_port), timeout_s=START_TIMEOUT_S, what="live edge"
            )

    def restart(self) -> None:
        self.stop()
        self.start()
        self.wait_ready()

    def stop(self) -> None:
        self.child.stop()

    def kill(self) -> None:
        self.child.kill()


class LocalCluster:
    """Start with `with LocalCluster(directory) as cluster:`; `cluster.url` is the shop."""

    def __init__(
        self,
        directory: Path,
        *,
        web: int = 2,
        edges: int = 0,
        redis_url: str = "",
        database_url: str = "",
        env: Mapping[str, str] | None = None,
    ) -> None:
        if web < 1:
            raise ValueError("run at least one web instance")
        self.directory = directory.resolve()
        self.redis = None if redis_url else PrivateRedis(self.directory / "redis")
        self.postgres = None if database_url else PrivatePostgres()
        self._redis_url = redis_url
        self._database_url = database_url
        # A shared Redis gets keys of this cluster's own; a private one the production default.
        self.redis_prefix = f"vitrine-cluster-{secrets.token_hex(4)}:" if redis_url else "vitrine:"
        self.http_port = free_port()
        self.rtmp_port = free_port()
        self.callback_port = free_port()
        self.secret_key = secrets.token_urlsafe(40)
        self.extra_env = dict(env or {})
        common = self.environment()
        if edges:
            common["VITRINE_LIVE_EDGE"] = "false"
        self.instances = [
            Instance(f"web-{chr(ord('a') + i)}", "web", self.directory, common) for i in range(web)
        ]
        self.instances += [
            Instance(f"edge-{i + 1}", "edge", self.directory, self.environment())
            for i in range(edges)
        ]
        self.nginx = ChildProcess(
            "nginx",
            [
                NGINX,
                "-p", str(self.directory / "nginx"),
                "-e", str(self.directory / "nginx" / "error.log"),
                "-c", str(self.directory / "nginx" / "nginx.conf"),
            ],
            self.directory / "nginx.log",
        )  # fmt: skip

    # -- addresses ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The shop, through nginx."""
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def live_url(self) -> str:
        """The live channel, through nginx: `<live_url>/shows/<id>/live`."""
        return f"ws://127.0.0.1:{self.http_port}/live"

    @property
    def rtmp_url(self) -> str:
        return f"rtmp://127.0.0.1:{self.rtmp_port}/live"

    @property
    def redis_url(self) -> str:
        return self.redis.url if self.redis is not None else self._redis_url

    @property
    def database_url(self) -> str:
        return self.postgres.url if self.postgres is not None else self._database_url

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def hls_live_dir(self) -> Path:
        return self.directory / "hls-live"

    @property
    def web(self) -> list[Instance]:
        return [instance for instance in self.instances if instance.kind == "web"]

    @property
    def edges(self) -> list[Instance]:
        return [instance for instance in self.instances if instance.has_edge]

    def environment(self) -> dict[str, str]:
        """The settings every instance shares (docs/deploy/ lists them)."""
        return {
            **os.environ,
            "VITRINE_HOST": "127.0.0.1",
            "VITRINE_DATA_DIR": str(self.data_dir),
            "VITRINE_DATABASE_URL": self.database_url,
            "VITRINE_REDIS_URL": self.redis_url,
            "VITRINE_REDIS_PREFIX": self.redis_prefix,
            "VITRINE_SECRET_KEY": self.secret_key,
            "VITRINE_PUBLIC_URL": self.url,
            "VITRINE_LIVE_PUBLIC_URL": self.live_url,
            "VITRINE_MEDIA_BACKEND": "nginx-rtmp",
            "VITRINE_RTMP_PORT": str(self.rtmp_port),
            "VITRINE_RTMP_PUBLIC_URL": self.rtmp_url,
            "VITRINE_LOG_FORMAT": "json",
            **self.extra_env,
        }

    def nginx_site(self) -> NginxSite:
        nginx_dir = self.directory / "nginx"
        return NginxSite(
            server_name="localhost",
            web=tuple(f"127.0.0.1:{instance.port}" for instance in self.web),
            edges=tuple(f"127.0.0.1:{instance.live_port}" for instance in self.edges),
            listen_http=f"127.0.0.1:{self.http_port}",
            tls_certificate="",
            tls_certificate_key="",
            data_dir=str(self.data_dir),
            hls_live_dir=str(self.hls_live_dir),
            rtmp_listen=f"127.0.0.1:{self.rtmp_port}" if Path(RTMP_MODULE).exists() else "",
            callback_listen=f"127.0.0.1:{self.callback_port}",
            worker_connections=4096,
            user="root root" if os.geteuid() == 0 else "",
            pid=str(nginx_dir / "nginx.pid"),
            error_log=str(nginx_dir / "error.log"),
            access_log=str(nginx_dir / "access.log"),
            temp_dir=str(nginx_dir / "tmp"),
            foreground=True,
        )

    # -- running --------------------------------------------------------------------------------

    def start(self) -> None:
        """Stores, the schema (migrated once, before any instance), instances, then nginx."""
        if not Path(NGINX).exists():
            raise ClusterError("nginx is not installed (apt-get install nginx libnginx-mod-rtmp)")
        for folder in (self.data_dir / "recordings", self.hls_live_dir):
            folder.mkdir(parents=True, exist_ok=True)
        if self.redis is not None:
            self.redis.start()
        if self.postgres is not None:
            self.postgres.start()
        upgrade(self.database_url)  # `vitrine migrate`, once, before any instance starts
        for instance in self.instances:
            instance.start()
        for instance in self.instances:
            instance.wait_ready()
        self.start_nginx()

    def start_nginx(self) -> None:
        nginx_dir = self.directory / "nginx"
        (nginx_dir / "tmp").mkdir(parents=True, exist_ok=True)
        (nginx_dir / "nginx.conf").write_text(render_nginx(self.nginx_site()))
        self.nginx.start()
        self.nginx.wait_until(
            lambda: listening(self.http_port), timeout_s=START_TIMEOUT_S, what="HTTP port"
        )

    def vitrine(self, *args: str) -> str:
        """Run a `vitrine` command (migrate, demo, create-admin…) with the cluster's settings."""
        done = subprocess.run(
            [sys.executable, "-m", "vitrine", *args],
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=START_TIMEOUT_S,
            check=False,
        )
        if done.returncode != 0:
            raise ClusterError(f"vitrine {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def stop(self) -> None:
        """Everything down, nginx first so nobody reaches a half-stopped instance."""
        self.nginx.stop()
        for instance in self.instances:
            instance.stop()
        if self.redis is not None:
            self.redis.stop()
        if self.postgres is not None:
            self.postgres.remove()

    def __enter__(self) -> LocalCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop()
