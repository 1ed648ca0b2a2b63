"""The embedded backend: an RTMP front door and one SRT listener per show, in the app's loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, replace

from vitrine.media.argv import srt_ingest_argv
from vitrine.media.auth import Granted, KeyAttempts, Refused, authorise, split_publish_name
from vitrine.media.config import MediaConfig
from vitrine.media.flv import FlvReader, FlvTag
from vitrine.media.model import (
    REFUSAL_MESSAGES,
    MediaError,
    Recording,
    Refusal,
    ShowStream,
    StreamHealth,
    StreamListener,
)
from vitrine.media.pipeline import ShowPipeline
from vitrine.media.process import FfmpegProcess
from vitrine.media.progress import parse_stream_line
from vitrine.media.replay import make_replay
from vitrine.media.rtmp import RtmpError, RtmpSession

log = logging.getLogger(__name__)

HANDSHAKE_TIMEOUT_S = 10.0
MAX_RTMP_SESSIONS = 64  # connections beyond this are closed at once (no slow-loris pile-up)


@dataclass(frozen=True, slots=True)
class IngestUrls:
    """What the studio shows the host (with copy buttons)."""

    rtmp_server: str  # rtmp://host:port/live
    rtmp_stream_key: str  # <public-name>?key=<secret>
    srt_url: str | None  # srt://host:port?passphrase=<secret>...


class EmbeddedBackend:
    """Implements MediaBackend with ffmpeg supervised by the app."""

    def __init__(
        self, config: MediaConfig, listener: StreamListener, key_attempts: KeyAttempts | None = None
    ) -> None:
        self.config = config
        self.listener = listener
        self.key_attempts = key_attempts or KeyAttempts()
        self._pipelines: dict[int, ShowPipeline] = {}
        self._srt_tasks: dict[int, asyncio.Task[None]] = {}
        self._srt_ports: dict[int, int] = {}
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[None]] = set()
        self._background: set[asyncio.Task[None]] = set()

    # lifecycle --------------------------------------------------------------------------------

    async def start(self) -> None:
        self.config.hls_root.mkdir(parents=True, exist_ok=True)
        self._server = await asyncio.start_server(
            self._serve_rtmp, self.config.rtmp_host, self.config.rtmp_port
        )

    @property
    def rtmp_port(self) -> int:
        """The bound RTMP port (differs from the configured one when that is 0)."""
        if self._server is None:
            return self.config.rtmp_port
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for show_id in list(self._pipelines):
            await self.close_show(show_id, make_recording=False)
        for task in list(self._sessions):
            task.cancel()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    # shows ------------------------------------------------------------------------------------

    async def open_show(self, stream: ShowStream) -> None:
        if stream.show_id in self._pipelines:
            self._pipelines[stream.show_id].stream = stream
            return
        self._pipelines[stream.show_id] = ShowPipeline(self.config, stream, self.listener)
        port = self._free_srt_port()
        if port is not None:
            self._srt_ports[stream.show_id] = port
            self._srt_tasks[stream.show_id] = asyncio.create_task(self._srt_loop(stream.show_id))

    async def close_show(self, show_id: int, *, make_recording: bool = True) -> Recording | None:
        pipeline = self._pipelines.pop(show_id, None)
        if pipeline is None:
            return None
        await self._stop_srt(show_id)
        self._srt_ports.pop(show_id, None)
        await pipeline.close()
        if not make_recording:
            return None
        return await make_replay(self.config, show_id)

    async def rotate_key(self, show_id: int, new_key: str) -> None:
        """New connections need the new key; a publisher already live keeps streaming."""
        pipeline = self._require(show_id)
        pipeline.stream = replace(pipeline.stream, stream_key=new_key)
        if show_id in self._srt_tasks and not pipeline.claimed:
            await self._stop_srt(show_id)
            self._srt_tasks[show_id] = asyncio.create_task(self._srt_loop(show_id))

    def is_publishing(self, show_id: int) -> bool:
        pipeline = self._pipelines.get(show_id)
        return pipeline is not None and pipeline.state.phase.value == "live"

    def health(self, show_id: int) -> StreamHealth | None:
        pipeline = self._pipelines.get(show_id)
        return None if pipeline is None else pipeline.health()

    def live_playlist_url(self, show_id: int) -> str | None:
        return f"/hls/{show_id}/live.m3u8" if show_id in self._pipelines else None

    def srt_port(self, show_id: int) -> int | None:
        return self._srt_ports.get(show_id)

    def ingest_urls(self, show_id: int, public_host: str) -> IngestUrls:
        stream = self._require(show_id).stream
        port = self._srt_ports.get(show_id)
        srt = None
        if port is not None:
            srt = f"srt://{public_host}:{port}?passphrase={stream.stream_key}&pbkeylen=32"
        return IngestUrls(
            rtmp_server=f"rtmp://{public_host}:{self.rtmp_port}/live",
            rtmp_stream_key=f"{stream.public_name}?key={stream.stream_key}",
            srt_url=srt,
        )

    def first_segment_at(self, show_id: int) -> float | None:
        pipeline = self._pipelines.get(show_id)
        return None if pipeline is None else pipeline.first_segment_at

    def _require(self, show_id: int) -> ShowPipeline:
        try:
            return self._pipelines[show_id]
        except KeyError:
            raise MediaError(f"show {show_id} is not open for streaming") from None

    # RTMP front door ---------------------------------------------------------------------------

    async def _serve_rtmp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        if len(self._sessions) >= MAX_RTMP_SESSIONS:
            writer.close()
            return
        self._sessions.add(task)
        session = RtmpSession(reader, writer)
        name = ""
        granted: int | None = None
        try:
            await asyncio.wait_for(session.handshake(), HANDSHAKE_TIMEOUT_S)
            request = await asyncio.wait_for(session.read_publish(), HANDSHAKE_TIMEOUT_S)
            name, key = split_publish_name(request.name)
            live = {sid for sid, p in self._pipelines.items() if p.claimed}
            decision = await self.key_attempts.judge(
                _address_of(writer),
                authorise(name, key, (p.stream for p in self._pipelines.values()), live),
            )
            if isinstance(decision, Granted) and not self._pipelines[decision.show.show_id].claim():
                decision = Refused(decision.show.show_id, Refusal.ALREADY_LIVE)
            if isinstance(decision, Refused):
                await session.refuse_publish(decision.message)
                await self.listener.stream_refused(decision.show_id, name, decision.reason)
                return
            pipeline = self._pipelines[decision.show.show_id]
            granted = pipeline.show_id
            await session.accept_publish(name)
            refusal = await pipeline.run_publish(session.media_tags())
            if refusal is not None:
                await session.refuse_publish(REFUSAL_MESSAGES[refusal], "NetStream.Publish.Failed")
                await self.listener.stream_refused(pipeline.show_id, name, refusal)
        except (RtmpError, TimeoutError, EOFError, ConnectionError) as exc:
            log.info("RTMP publisher %r dropped: %s", name, exc)
            if isinstance(exc, RtmpError):
                await self.listener.stream_refused(granted, name, Refusal.PROTOCOL_ERROR)
        finally:
            session.close()
            self._sessions.discard(task)

    # SRT ----------------------------------------------------------------------------------------

    def _free_srt_port(self) -> int | None:
        used = set(self._srt_ports.values())
        for port in range(self.config.srt_port, self.config.srt_port + self.config.srt_port_count):
            if port not in used:
                return port
        return None

    async def _stop_srt(self, show_id: int) -> None:
        task = self._srt_tasks.pop(show_id, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    def _srt_log(self, show_id: int, codecs: list[tuple[str, str]]) -> Callable[[str], None]:
        """Reads the SRT listener's stderr: input codecs, and callers with a wrong passphrase."""

        def on_stderr(line: str) -> None:
            stream = parse_stream_line(line)
            if stream is not None and stream.file_index == 0:
                codecs.append((stream.kind, stream.codec))
            elif "Incorrect passphrase" in line and show_id in self._pipelines:  # libsrt, once
                name = self._pipelines[show_id].stream.public_name
                task = asyncio.get_running_loop().create_task(
                    self.listener.stream_refused(show_id, name, Refusal.WRONG_KEY)
                )
                self._background.add(task)
                task.add_done_callback(self._background.discard)

        return on_stderr

    async def _srt_loop(self, show_id: int) -> None:
        """Keep an SRT listener (passphrase = stream key) waiting for the show's publisher."""
        failures = 0
        while show_id in self._pipelines:
            pipeline = self._pipelines[show_id]
            codecs: list[tuple[str, str]] = []

            proc = FfmpegProcess(
                srt_ingest_argv(
                    self.config.ffmpeg,
                    host=self.config.srt_host,
                    port=self._srt_ports[show_id],
                    passphrase=pipeline.stream.stream_key,
                ),
                cwd=pipeline.dir,
                on_stderr=self._srt_log(show_id, codecs),
                stdin=False,
                progress_on_stdout=False,
            )
            await proc.start()
            try:
                first = await proc.stdout.read(65536)
                if first and pipeline.claim():
                    failures = 0
                    refusal = await pipeline.run_publish(_flv_tags(first, proc.stdout))
                    if refusal is not None:
                        await self.listener.stream_refused(
                            show_id, pipeline.stream.public_name, refusal
                        )
                elif first:
                    await self.listener.stream_refused(
                        show_id, pipeline.stream.public_name, Refusal.ALREADY_LIVE
                    )
                elif any(c not in ("h264", "aac") for _, c in codecs):
                    await self.listener.stream_refused(
                        show_id, pipeline.stream.public_name, Refusal.BAD_CODEC
                    )
                else:
                    failures += 1
            finally:
                await proc.kill()
            await asyncio.sleep(min(5.0, 0.2 * 2 ** min(failures, 5)))


def _address_of(writer: asyncio.StreamWriter) -> str:
    peer = writer.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) and peer else "unknown"


async def _flv_tags(first: bytes, stdout: asyncio.StreamReader) -> AsyncIterator[FlvTag]:
    reader = FlvReader()
    for tag in reader.feed(first):
        yield tag
    while chunk := await stdout.read(65536):
        for tag in reader.feed(chunk):
            yield tag
