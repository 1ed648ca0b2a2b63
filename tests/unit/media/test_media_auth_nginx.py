"""Who may publish: the front door's check and nginx-rtmp's on_publish callback answers."""

from __future__ import annotations

import pytest

from vitrine.media.auth import (
    Granted,
    Refused,
    authorise,
    new_public_name,
    new_stream_key,
    split_publish_name,
)
from vitrine.media.model import Refusal, ShowStream, StopReason, StreamHealth
from vitrine.media.nginx import (
    CallbackAnswer,
    NginxRtmpBackend,
    answer_on_publish,
    show_of_publish_done,
)

SPRING = ShowStream(7, "spring-drop", "s3cret-key-0123456789")
AUTUMN = ShowStream(8, "autumn-sale", "other-key-0123456789")
SHOWS = [SPRING, AUTUMN]


def test_publish_names_split_into_public_name_and_key() -> None:
    assert split_publish_name("spring-drop?key=abc") == ("spring-drop", "abc")
    assert split_publish_name("spring-drop?foo=1&key=a%2Bb") == ("spring-drop", "a+b")
    assert split_publish_name("spring-drop") == ("spring-drop", None)
    assert split_publish_name("/spring-drop?key=") == ("spring-drop", "")


def test_the_right_key_is_granted() -> None:
    assert authorise("spring-drop", SPRING.stream_key, SHOWS, live=set()) == Granted(SPRING)


def test_the_key_alone_as_name_is_granted() -> None:
    assert authorise(AUTUMN.stream_key, None, SHOWS, live=set()) == Granted(AUTUMN)


def test_refusals() -> None:
    assert authorise("spring-drop", "nope", SHOWS, set()) == Refused(7, Refusal.WRONG_KEY)
    assert authorise("spring-drop", AUTUMN.stream_key, SHOWS, set()) == Refused(
        7, Refusal.WRONG_KEY
    )
    assert authorise("spring-drop", None, SHOWS, set()) == Refused(7, Refusal.WRONG_KEY)
    assert authorise("spring-drop", "", SHOWS, set()) == Refused(7, Refusal.WRONG_KEY)
    assert authorise("nobody", SPRING.stream_key, SHOWS, set()) == Refused(
        None, Refusal.UNKNOWN_SHOW
    )
    assert authorise("spring-drop", SPRING.stream_key, SHOWS, {7}) == Refused(
        7, Refusal.ALREADY_LIVE
    )
    assert authorise(SPRING.stream_key, None, SHOWS, {7}) == Refused(7, Refusal.ALREADY_LIVE)


def test_generated_keys_fit_an_srt_passphrase_and_urls() -> None:
    key, name = new_stream_key(), new_public_name()
    assert len(key) == 32 and len(name) == 12
    assert all(c.isalnum() or c in "-_" for c in key + name)


def test_nginx_on_publish_allows_the_key_sent_as_a_query_argument() -> None:
    form = {"call": "publish", "app": "live", "name": "spring-drop", "key": SPRING.stream_key}
    assert answer_on_publish(form, SHOWS, live=set()) == CallbackAnswer(200, 7)


def test_nginx_on_publish_denies_with_403() -> None:
    wrong = {"call": "publish", "app": "live", "name": "spring-drop", "key": "nope"}
    live = {"call": "publish", "app": "live", "name": "spring-drop", "key": SPRING.stream_key}
    play = {"call": "play", "name": "spring-drop", "key": SPRING.stream_key}
    assert answer_on_publish(wrong, SHOWS, set()) == CallbackAnswer(403, 7, Refusal.WRONG_KEY)
    assert answer_on_publish(live, SHOWS, {7}) == CallbackAnswer(403, 7, Refusal.ALREADY_LIVE)
    assert answer_on_publish(play, SHOWS, set()) == CallbackAnswer(
        403, None, Refusal.PROTOCOL_ERROR
    )
    assert answer_on_publish({}, SHOWS, set()) == CallbackAnswer(403, None, Refusal.UNKNOWN_SHOW)


def test_nginx_on_publish_done_names_the_show() -> None:
    assert show_of_publish_done({"call": "publish_done", "name": "autumn-sale"}, SHOWS) == 8
    assert show_of_publish_done({"call": "publish_done", "name": "nobody"}, SHOWS) is None


class Reports:
    def __init__(self) -> None:
        self.events: list[tuple[object, ...]] = []

    async def stream_started(self, show_id: int, *, resumed: bool) -> None:
        self.events.append(("started", show_id, resumed))

    async def stream_interrupted(self, show_id: int) -> None:
        self.events.append(("interrupted", show_id))

    async def stream_stopped(self, show_id: int, reason: StopReason) -> None:
        self.events.append(("stopped", show_id, reason))

    async def stream_health(self, show_id: int, health: StreamHealth) -> None: ...

    async def stream_refused(self, show_id: int | None, name: str, reason: Refusal) -> None:
        self.events.append(("refused", show_id, name, reason))


@pytest.mark.anyio
async def test_nginx_callbacks_drive_the_show_through_the_grace_period() -> None:
    # given the nginx backend with a show, on a clock the test moves
    now = [0.0]
    reports = Reports()
    backend = NginxRtmpBackend(reports, grace_s=60, clock=lambda: now[0])
    await backend.open_show(SPRING)
    publish = {"call": "publish", "name": "spring-drop", "key": SPRING.stream_key}
    # when nginx reports publish, a second publish, publish_done, a return, then silence
    assert await backend.on_publish(publish) == 200
    assert await backend.on_publish(publish) == 403
    assert await backend.on_publish_done({"call": "publish_done", "name": "spring-drop"}) == 200
    now[0] = 30
    assert await backend.on_publish(publish) == 200
    await backend.on_publish_done({"call": "publish_done", "name": "spring-drop"})
    now[0] = 89
    await backend.tick()
    now[0] = 90
    await backend.tick()
    # then the show saw exactly this, and is still open until the host ends it
    assert reports.events == [
        ("started", 7, False),
        ("refused", 7, "spring-drop", Refusal.ALREADY_LIVE),
        ("interrupted", 7),
        ("started", 7, True),
        ("interrupted", 7),
        ("stopped", 7, StopReason.GRACE_EXPIRED),
    ]
    assert backend.live_playlist_url(7) == "/hls-live/spring-drop/index.m3u8"
    assert await backend.close_show(7) is None  # no recordings configured
