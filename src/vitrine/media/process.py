"""A running ffmpeg: argv in, stdin pipe, progress on stdout, stderr kept for diagnostics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path

from vitrine.media.progress import Progress, ProgressParser

log = logging.getLogger(__name__)


class FfmpegProcess:
    """Wraps one ffmpeg process; never goes through a shell."""

    def __init__(
        self,
        argv: Sequence[str],
        *,
        cwd: Path,
        on_progress: Callable[[Progress], None] | None = None,
        on_stderr: Callable[[str], None] | None = None,
        stdin: bool = True,
        progress_on_stdout: bool = True,
    ) -> None:
        self.argv = list(argv)
        self.cwd = cwd
        self._on_progress = on_progress
        self._on_stderr = on_stderr
        self._want_stdin = stdin
        self._progress_on_stdout = progress_on_stdout
        self.proc: asyncio.subprocess.Process | None = None
        self.stderr_tail: deque[str] = deque(maxlen=40)
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            *self.argv,
            cwd=self.cwd,
            stdin=asyncio.subprocess.PIPE if self._want_stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        self._tasks.append(asyncio.create_task(self._read_stderr()))
        if self._progress_on_stdout:
            self._tasks.append(asyncio.create_task(self._read_progress()))

    @property
    def stdout(self) -> asyncio.StreamReader:
        assert self.proc is not None and self.proc.stdout is not None
        return self.proc.stdout

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None

    async def _read_stderr(self) -> None:
        assert self.proc is not None and self.proc.stderr is not None
        async for raw in self.proc.stderr:
            line = raw.decode("utf-8", "replace").rstrip()
            self.stderr_tail.append(line)
            if self._on_stderr is not None:
                self._on_stderr(line)

    async def _read_progress(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        parser = ProgressParser()
        async for raw in self.proc.stdout:
            block = parser.feed(raw.decode("utf-8", "replace"))
            if block is not None and self._on_progress is not None:
                self._on_progress(block)

    async def write(self, data: bytes) -> bool:
        """Write to stdin; False when ffmpeg is gone."""
        if self.proc is None or self.proc.stdin is None or not self.alive:
            return False
        try:
            self.proc.stdin.write(data)
            await self.proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            return False
        return True

    async def finish(self, wait_s: float = 10.0) -> int | None:
        """Close stdin so ffmpeg flushes its last segment and playlists, then wait for it."""
        if self.proc is None:
            return None
        if self.proc.stdin is not None and not self.proc.stdin.is_closing():
            self.proc.stdin.close()
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                await self.proc.stdin.wait_closed()
        try:
            await asyncio.wait_for(self.proc.wait(), wait_s)
        except TimeoutError:
            await self.kill()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(task, 2)
        return self.proc.returncode

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            await self.proc.wait()
        for task in self._tasks:
            task.cancel()
