"""nginx-rtmp backend: the answers to nginx's on_publish / on_publish_done callbacks.

nginx-rtmp POSTs form fields (`call`, `app`, `name`, `addr`, `tcurl`...) plus the publish
name's query arguments (`key=<secret>` from `live/<public-name>?key=<secret>`). A 2xx answer
allows, 4xx/5xx refuses; 3xx (rename) is broken in the module, so it is never used.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from vitrine.media import grace
from vitrine.media.auth import Granted, KeyAttempts, Refused, authorise, split_publish_name
from vitrine.media.model import (
    MediaError,
    Recording,
    Refusal,
    ShowStream,
    StreamHealth,
    StreamListener,
)
from vitrine.media.replay import make_replay_from_recordings

ALLOW = 200
DENY = 403


@dataclass(frozen=True, slots=True)
class CallbackAnswer:
    status: int  # what the web layer answers nginx (body can be empty)
    show_id: int | None
    refusal: Refusal | None = None


def decide_on_publish(
    form: Mapping[str, str], shows: Iterable[ShowStream], live: Collection[int]
) -> Granted | Refused:
    """Whether an on_publish callback's publisher may stream."""
    if form.get("call", "publish") != "publish":
        return Refused(None, Refusal.PROTOCOL_ERROR)
    name, key_in_name = split_publish_name(form.get("name", ""))
    return authorise(name, form.get("key") or key_in_name, shows, live)


def callback_answer(decision: Granted | Refused) -> CallbackAnswer:
    """What nginx is answered: 2xx allows, 403 refuses."""
    if isinstance(decision, Granted):
        return CallbackAnswer(ALLOW, decision.show.show_id)
    return CallbackAnswer(DENY, decision.show_id, decision.reason)


def answer_on_publish(
    form: Mapping[str, str], shows: Iterable[ShowStream], live: Collection[int]
) -> CallbackAnswer:
    """Allow or deny an on_publish callback."""
    return callback_answer(decide_on_publish(form, shows, live))


def show_of_publish_done(form: Mapping[str, str], shows: Iterable[ShowStream]) -> int | None:
    """Which show an on_publish_done callback is about (None: not one of ours)."""
    name, _ = split_publish_name(form.get("name", ""))
    return next((s.show_id for s in shows if s.public_name == name), None)


class NginxRtmpBackend:
    """MediaBackend for nginx + libnginx-mod-rtmp: nginx ingests and writes HLS/recordings,
    Vitrine authorises through the callbacks and turns them into show state."""

    def __init__(
        self,
        listener: StreamListener,
        *,
        grace_s: float = 60.0,
        ffmpeg: str | None = None,
        recordings_dir: Path | None = None,
        data_dir: Path | None = None,
        live_url_prefix: str = "/hls-live",
        clock: Callable[[], float] = time.monotonic,
        key_attempts: KeyAttempts | None = None,
    ) -> None:
        """`recordings_dir` is nginx's `record_path`; with `ffmpeg` and `data_dir`, closing a
        show turns its recordings into <data_dir>/hls/<show_id>/replay.m3u8 + replay.mp4."""
        self.listener = listener
        self.ffmpeg = ffmpeg
        self.recordings_dir = recordings_dir
        self.data_dir = data_dir
        self.live_url_prefix = live_url_prefix.rstrip("/")
        self.grace_s = grace_s
        self._clock = clock
        self.key_attempts = key_attempts or KeyAttempts()
        self._shows: dict[int, ShowStream] = {}
        self._states: dict[int, grace.PublishState] = {}

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self._shows.clear()

    async def open_show(self, stream: ShowStream) -> None:
        self._shows[stream.show_id] = stream
        self._states.setdefault(stream.show_id, grace.PublishState(grace_s=self.grace_s))

    async def close_show(self, show_id: int) -> Recording | None:
        stream = self._shows.pop(show_id, None)
        state = self._states.pop(show_id, None)
        if state is not None:
            _, notices = grace.show_closed(state, self._clock())
            await self._notify(show_id, notices)
        if stream is None or self.ffmpeg is None or self.recordings_dir is None:
            return None
        if self.data_dir is None:
            return None
        files = sorted(self.recordings_dir.glob(f"{stream.public_name}-*.flv"))
        return await make_replay_from_recordings(
            self.ffmpeg, files, self.data_dir / "hls" / str(show_id), show_id=show_id
        )

    async def rotate_key(self, show_id: int, new_key: str) -> None:
        stream = self._shows.get(show_id)
        if stream is None:
            raise MediaError(f"show {show_id} is not open for streaming")
        self._shows[show_id] = ShowStream(
            stream.show_id, stream.public_name, new_key, stream.simulcast, stream.abr
        )

    def is_publishing(self, show_id: int) -> bool:
        state = self._states.get(show_id)
        return state is not None and state.phase is grace.Phase.LIVE

    def health(self, show_id: int) -> StreamHealth | None:
        return StreamHealth() if show_id in self._shows else None

    def live_playlist_url(self, show_id: int) -> str | None:
        """nginx-rtmp names the HLS folder after the stream (`hls_nested on`), served by nginx."""
        stream = self._shows.get(show_id)
        if stream is None:
            return None
        return f"{self.live_url_prefix}/{stream.public_name}/index.m3u8"

    async def on_publish(self, form: Mapping[str, str]) -> int:
        """The web layer calls this for POST /media/nginx/on_publish and answers the status.
        `addr` is the publisher's address, as nginx saw it: wrong keys are counted there."""
        live = {sid for sid, st in self._states.items() if st.phase is grace.Phase.LIVE}
        decision = decide_on_publish(form, self._shows.values(), live)
        answer = callback_answer(await self.key_attempts.judge(form.get("addr", "?"), decision))
        if answer.refusal is not None:
            await self.listener.stream_refused(answer.show_id, form.get("name", ""), answer.refusal)
            return answer.status
        assert answer.show_id is not None
        state, notices = grace.stream_arrived(self._states[answer.show_id], self._clock())
        self._states[answer.show_id] = state
        await self._notify(answer.show_id, notices)
        return answer.status

    async def on_publish_done(self, form: Mapping[str, str]) -> int:
        """POST /media/nginx/on_publish_done: the grace period starts."""
        show_id = show_of_publish_done(form, self._shows.values())
        if show_id is not None:
            state, notices = grace.stream_dropped(self._states[show_id], self._clock())
            self._states[show_id] = state
            await self._notify(show_id, notices)
        return ALLOW

    async def tick(self) -> None:
        """Call about once a second: reports streams whose grace period ran out."""
        for show_id, state in list(self._states.items()):
            new, notices = grace.clock_ticked(state, self._clock())
            self._states[show_id] = new
            await self._notify(show_id, notices)

    async def _notify(self, show_id: int, notices: list[grace.Notice]) -> None:
        for notice in notices:
            if isinstance(notice, grace.Started):
                await self.listener.stream_started(show_id, resumed=notice.resumed)
            elif isinstance(notice, grace.Interrupted):
                await self.listener.stream_interrupted(show_id)
            else:
                await self.listener.stream_stopped(show_id, notice.reason)
