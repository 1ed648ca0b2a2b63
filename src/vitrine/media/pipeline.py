"""One open show: turns an authorised publisher's FLV tags into HLS, supervising ffmpeg."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from typing import Any

from vitrine.media import grace
from vitrine.media.argv import abr_argv, live_copy_argv
from vitrine.media.config import MediaConfig
from vitrine.media.flv import (
    AUDIO,
    SCRIPT,
    VIDEO,
    FlvTag,
    audio_codec,
    encode_tag,
    file_header,
    video_codec,
)
from vitrine.media.health import HealthMeter
from vitrine.media.model import Refusal, ShowStream, StopReason, StreamHealth, StreamListener
from vitrine.media.process import FfmpegProcess
from vitrine.media.progress import Progress, parse_slave_failure

log = logging.getLogger(__name__)

ACCEPTED_VIDEO = {"h264"}
ACCEPTED_AUDIO = {"aac"}
MAX_TAGS_BEFORE_VIDEO = 200


class ShowPipeline:
    """Owns the show's ffmpeg processes and its publish state (grace period included)."""

    def __init__(
        self,
        config: MediaConfig,
        stream: ShowStream,
        listener: StreamListener,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.stream = stream
        self.listener = listener
        self._clock = clock
        self.state = grace.PublishState(grace_s=config.grace_s)
        self.claimed = False
        self.meter = HealthMeter()
        self.dropped_frames = 0
        self.destinations: dict[str, str] = {}
        self.restarts = 0
        self.first_segment_at: float | None = None
        self._copy: FfmpegProcess | None = None
        self._abr: FfmpegProcess | None = None
        self._headers: dict[int, FlvTag] = {}  # metadata and sequence headers, for restarts
        self._publisher: asyncio.Task[Any] | None = None
        self._grace_timer: asyncio.Task[None] | None = None
        self._closing = False
        self.dir = config.show_dir(stream.show_id)
        self.dir.mkdir(parents=True, exist_ok=True)

    @property
    def show_id(self) -> int:
        return self.stream.show_id

    @property
    def abr(self) -> bool:
        return self.config.abr_ladder if self.stream.abr is None else self.stream.abr

    def claim(self) -> bool:
        """Reserve the show for one publisher (synchronous: no race between two publishers)."""
        if self.claimed or self.state.phase is grace.Phase.CLOSED:
            return False
        self.claimed = True
        return True

    def health(self) -> StreamHealth:
        return self.meter.snapshot(
            dropped_frames=self.dropped_frames, destinations=self.destinations
        )

    async def _notify(self, notices: list[grace.Notice]) -> None:
        for notice in notices:
            if isinstance(notice, grace.Started):
                await self.listener.stream_started(self.show_id, resumed=notice.resumed)
            elif isinstance(notice, grace.Interrupted):
                await self.listener.stream_interrupted(self.show_id)
                self._start_grace_timer(notice.deadline)
            else:
                await self.listener.stream_stopped(self.show_id, notice.reason)

    def _start_grace_timer(self, deadline: float) -> None:
        async def expire() -> None:
            await asyncio.sleep(max(0.0, deadline - self._clock()))
            self.state, notices = grace.clock_ticked(self.state, self._clock())
            await self._notify(notices)

        self._grace_timer = asyncio.create_task(expire())

    # ffmpeg ---------------------------------------------------------------------------------

    def _on_progress(self, progress: Progress) -> None:
        self.dropped_frames = progress.drop_frames
        if self.first_segment_at is None and (self.dir / "live.m3u8").exists():
            self.first_segment_at = self._clock()
        task = asyncio.get_running_loop().create_task(
            self.listener.stream_health(self.show_id, self.health())
        )
        task.add_done_callback(lambda t: t.exception())

    def _on_stderr(self, line: str) -> None:
        index = parse_slave_failure(line, self._slave_urls())
        if index is not None and index >= 2:  # slaves 0 and 1 are the HLS outputs
            target = self.stream.simulcast[index - 2]
            self.destinations[target.name] = "failed"
            log.warning("show %s: simulcast to %s failed: %s", self.show_id, target.name, line)

    def _slave_urls(self) -> list[str]:
        return ["live.m3u8", "event.m3u8", *(t.url for t in self.stream.simulcast)]

    async def _start_ffmpeg(self) -> None:
        self._copy = FfmpegProcess(
            live_copy_argv(
                self.config.ffmpeg,
                segment_s=self.config.segment_s,
                live_window=self.config.live_window,
                resume=(self.dir / "event.m3u8").exists(),
                simulcast=self.stream.simulcast,
            ),
            cwd=self.dir,
            on_progress=self._on_progress,
            on_stderr=self._on_stderr,
        )
        await self._copy.start()
        for target in self.stream.simulcast:
            self.destinations.setdefault(target.name, "live")
        await self._copy.write(
            file_header() + b"".join(encode_tag(t) for t in self._headers.values())
        )
        if self.abr and (self._abr is None or not self._abr.alive):
            self._abr = FfmpegProcess(
                abr_argv(
                    self.config.ffmpeg,
                    segment_s=self.config.segment_s,
                    live_window=self.config.live_window,
                    session=int(time.time()),
                ),
                cwd=self.dir,
                progress_on_stdout=False,
            )
            await self._abr.start()
            await self._abr.write(
                file_header() + b"".join(encode_tag(t) for t in self._headers.values())
            )

    async def _restart_ffmpeg(self) -> bool:
        """After a crash: back off, start again; False once restarts are exhausted."""
        assert self._copy is not None
        log.warning("show %s: ffmpeg exited: %s", self.show_id, "\n".join(self._copy.stderr_tail))
        await self._copy.kill()
        if self.restarts >= self.config.restart_attempts:
            return False
        await asyncio.sleep(self.config.restart_backoff_s * 2**self.restarts)
        self.restarts += 1
        await self._start_ffmpeg()
        return True

    # publishing -----------------------------------------------------------------------------

    async def run_publish(self, tags: AsyncIterator[FlvTag]) -> Refusal | None:
        """Feed one publisher's tags to ffmpeg until it leaves. Call after `claim()`.

        Returns a refusal when the stream is not H.264/AAC (nothing has been written then).
        """
        self._publisher = asyncio.current_task()
        self.restarts = 0
        self.meter = HealthMeter()
        self._headers = {}
        started = False
        pending: list[FlvTag] = []
        need_keyframe = False
        try:
            async for tag in tags:
                self.meter.feed(tag)
                if tag.kind == SCRIPT or tag.is_sequence_header:
                    self._headers[tag.kind if tag.kind != SCRIPT else 0] = tag
                if not started:
                    refusal = _codec_refusal(tag)
                    if refusal is not None:
                        return refusal
                    pending.append(tag)
                    if tag.kind == VIDEO and not tag.is_sequence_header:
                        await self._go_live()
                        started = True
                        for t in pending:
                            if t.kind != SCRIPT and not t.is_sequence_header:
                                await self._write(t)
                        pending = []
                    elif len(pending) > MAX_TAGS_BEFORE_VIDEO:
                        return Refusal.BAD_CODEC
                    continue
                if tag.kind == VIDEO and tag.data and _codec_refusal(tag) is not None:
                    continue  # a codec switch mid-stream: drop, the studio shows the codec
                if need_keyframe:
                    if not tag.is_keyframe:
                        continue
                    need_keyframe = False
                if not await self._write(tag):
                    if not await self._restart_ffmpeg():
                        await self._end_publish(StopReason.FFMPEG_FAILED)
                        return None
                    need_keyframe = True
            return None
        finally:
            if started:
                await self._end_publish(None)
            self.claimed = False
            self._publisher = None

    async def _go_live(self) -> None:
        if self._grace_timer is not None:
            self._grace_timer.cancel()
        await self._start_ffmpeg()
        self.state, notices = grace.stream_arrived(self.state, self._clock())
        await self._notify(notices)

    async def _write(self, tag: FlvTag) -> bool:
        assert self._copy is not None
        data = encode_tag(tag)
        if self._abr is not None:
            await self._abr.write(data)
        return await self._copy.write(data)

    async def _end_publish(self, reason: StopReason | None) -> None:
        for proc in (self._copy, self._abr):
            if proc is not None:
                await proc.finish()
        self._copy = self._abr = None
        if self._closing or self.state.phase is not grace.Phase.LIVE:
            return
        if reason is not None:
            await self.listener.stream_stopped(self.show_id, reason)
            self.state = replace(self.state, phase=grace.Phase.WAITING)
            return
        self.state, notices = grace.stream_dropped(self.state, self._clock())
        await self._notify(notices)

    async def close(self) -> None:
        """The host ended the show: stop the publisher (if any) and finalise the files."""
        self._closing = True
        publisher = self._publisher
        if publisher is not None:
            publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await publisher
        if self._grace_timer is not None:
            self._grace_timer.cancel()
        for proc in (self._copy, self._abr):
            if proc is not None:
                await proc.finish()
        self.state, notices = grace.show_closed(self.state, self._clock())
        await self._notify(notices)


def _codec_refusal(tag: FlvTag) -> Refusal | None:
    if tag.kind == VIDEO and video_codec(tag.data) not in ACCEPTED_VIDEO:
        return Refusal.BAD_CODEC
    if tag.kind == AUDIO and audio_codec(tag.data) not in ACCEPTED_AUDIO:
        return Refusal.BAD_CODEC
    return None
