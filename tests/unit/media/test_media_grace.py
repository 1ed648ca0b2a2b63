"""Publish/unpublish as show state: the grace period, resuming, closing."""

from __future__ import annotations

from vitrine.media.grace import (
    Interrupted,
    Phase,
    PublishState,
    Started,
    Stopped,
    clock_ticked,
    show_closed,
    stream_arrived,
    stream_dropped,
)
from vitrine.media.model import StopReason


def test_a_stream_arriving_makes_the_show_live() -> None:
    state, notices = stream_arrived(PublishState(grace_s=60), now=0)
    assert (state.phase, notices) == (Phase.LIVE, [Started(resumed=False)])


def test_a_drop_starts_the_grace_period_and_a_return_within_it_resumes() -> None:
    state, _ = stream_arrived(PublishState(grace_s=60), now=0)
    state, notices = stream_dropped(state, now=10)
    assert (state.phase, notices) == (Phase.INTERRUPTED, [Interrupted(deadline=70)])
    state, notices = clock_ticked(state, now=69.9)
    assert notices == []
    state, notices = stream_arrived(state, now=69.9)
    assert (state.phase, notices) == (Phase.LIVE, [Started(resumed=True)])


def test_no_return_within_the_grace_period_reports_the_stream_stopped_not_the_show_ended() -> None:
    state, _ = stream_arrived(PublishState(grace_s=60), now=0)
    state, _ = stream_dropped(state, now=10)
    state, notices = clock_ticked(state, now=70)
    assert (state.phase, notices) == (Phase.WAITING, [Stopped(StopReason.GRACE_EXPIRED)])
    # a later stream starts afresh (not a resume)
    state, notices = stream_arrived(state, now=100)
    assert notices == [Started(resumed=False)]


def test_closing_a_live_show_stops_the_stream_and_nothing_happens_after() -> None:
    state, _ = stream_arrived(PublishState(grace_s=60), now=0)
    state, notices = show_closed(state, now=5)
    assert (state.phase, notices) == (Phase.CLOSED, [Stopped(StopReason.SHOW_CLOSED)])
    assert stream_arrived(state, now=6) == (state, [])
    assert stream_dropped(state, now=6) == (state, [])


def test_closing_a_show_that_never_went_live_reports_nothing() -> None:
    state, notices = show_closed(PublishState(grace_s=60), now=0)
    assert (state.phase, notices) == (Phase.CLOSED, [])


def test_a_second_arrival_or_a_drop_while_waiting_changes_nothing() -> None:
    live, _ = stream_arrived(PublishState(grace_s=60), now=0)
    assert stream_arrived(live, now=1) == (live, [])
    waiting = PublishState(grace_s=60)
    assert stream_dropped(waiting, now=1) == (waiting, [])
