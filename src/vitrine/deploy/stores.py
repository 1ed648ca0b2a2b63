"""A private Redis and a private PostgreSQL on free ports, so the local topology (and each
cluster test) can stop and restart them without disturbing anyone else's."""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

from vitrine.deploy.processes import ChildProcess, ClusterError, free_port


class PrivateRedis:
    """redis-server with an append-only file, as production should run it: a restart keeps
    the deal gates and the live channel's numbers."""

    def __init__(self, directory: Path, *, port: int | None = None) -> None:
        self.directory = directory
        self.port = port or free_port()
        binary = shutil.which("redis-server")
        if binary is None:
            raise ClusterError("redis-server is not installed (apt-get install redis-server)")
        self.child = ChildProcess(
            "redis",
            [
                binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--dir", str(directory),
                "--appendonly", "yes",
                "--appendfsync", "everysec",
                "--save", "",
                "--protected-mode", "no",
                "--daemonize", "no",
            ],
            directory / "redis.log",
        )  # fmt: skip

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.child.start()
        self.child.wait_until(self._answers, timeout_s=30, what="answer to PING")

    def stop(self) -> None:
        """A clean shutdown (SIGTERM): Redis writes its append-only file and exits."""
        self.child.stop()

    def kill(self) -> None:
        self.child.kill()

    def restart(self) -> None:
        self.stop()
        self.start()

    def _answers(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")


def postgres_bin_dir() -> Path:
    """Where Debian keeps PostgreSQL's server programs (the newest version installed)."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3])
    )
    if candidates:
        return candidates[-1].parent
    found = shutil.which("initdb")
    if found is None:
        raise ClusterError("PostgreSQL is not installed (apt-get install postgresql)")
    return Path(found).parent


class PrivatePostgres:
    """A PostgreSQL cluster of its own (initdb in a temporary directory, trust on 127.0.0.1),
    run as the `postgres` user when we are root. Durability is traded for speed (fsync off):
    it is for development and tests, never for data anyone keeps."""

    def __init__(self, *, port: int | None = None) -> None:
        self.port = port or free_port()
        self.bin = postgres_bin_dir()
        self.root = Path(tempfile.mkdtemp(prefix="vitrine-pg-"))
        self.data = self.root / "data"
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user is not None:
            account = pwd.getpwnam(self.user)
            os.chown(self.root, account.pw_uid, account.pw_gid)
        self.child = ChildProcess(
            "postgresql",
            [
                str(self.bin / "postgres"),
                "-D", str(self.data),
                "-p", str(self.port),
                "-k", str(self.root),
                "-c", "listen_addresses=127.0.0.1",
                "-c", "max_connections=200",
                "-c", "fsync=off",
                "-c", "synchronous_commit=off",
                "-c", "full_page_writes=off",
            ],
            self.root / "postgresql.log",
            user=self.user,
        )  # fmt: skip
        self._initialised = False

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        if not self._initialised:
            self._initdb()
        self.child.start()
        self.child.wait_until(self._accepts, timeout_s=60, what="connections")

    def stop(self) -> None:
        """A fast shutdown (SIGINT): open transactions are rolled back, connections cut."""
        self.child.stop(signal.SIGINT)

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        """Stop and delete the cluster's files."""
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def _initdb(self) -> None:
        done = subprocess.run(
            [
                str(self.bin / "initdb"),
                "-D", str(self.data),
                "-U", "postgres",
                "-A", "trust",
                "-E", "UTF8",
                "--no-sync",
            ],
            capture_output=True,
            text=True,
            user=self.user,
            group=self.user,
            extra_groups=[] if self.user else None,
            check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise ClusterError(f"initdb failed:\n{done.stdout}\n{done.stderr}")
        self._initialised = True

    def _accepts(self) -> bool:
        ready = subprocess.run(
            [str(self.bin / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port)],
            check=False,
        )
        return ready.returncode == 0
