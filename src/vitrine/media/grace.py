"""Publish/unpublish -> show state, as a pure state machine (the grace period lives here).

A stream that drops is given `grace_s` to come back before the backend reports it stopped;
the show itself ends only when the host ends it (the shows domain decides that).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace

from vitrine.media.model import StopReason


class Phase(enum.StrEnum):
    WAITING = "waiting"  # open, no stream yet (or the last one was stopped)
    LIVE = "live"
    INTERRUPTED = "interrupted"  # the stream dropped; within the grace period
    CLOSED = "closed"


@dataclass(frozen=True, slots=True)
class Started:
    resumed: bool


@dataclass(frozen=True, slots=True)
class Interrupted:
    deadline: float  # when the grace period runs out (same clock as `now`)


@dataclass(frozen=True, slots=True)
class Stopped:
    reason: StopReason


Notice = Started | Interrupted | Stopped


@dataclass(frozen=True, slots=True)
class PublishState:
    grace_s: float
    phase: Phase = Phase.WAITING
    deadline: float | None = None


def stream_arrived(state: PublishState, now: float) -> tuple[PublishState, list[Notice]]:
    if state.phase in (Phase.LIVE, Phase.CLOSED):
        return state, []
    resumed = state.phase is Phase.INTERRUPTED
    return replace(state, phase=Phase.LIVE, deadline=None), [Started(resumed=resumed)]


def stream_dropped(state: PublishState, now: float) -> tuple[PublishState, list[Notice]]:
    if state.phase is not Phase.LIVE:
        return state, []
    deadline = now + state.grace_s
    return replace(state, phase=Phase.INTERRUPTED, deadline=deadline), [Interrupted(deadline)]


def clock_ticked(state: PublishState, now: float) -> tuple[PublishState, list[Notice]]:
    if state.phase is Phase.INTERRUPTED and state.deadline is not None and now >= state.deadline:
        return replace(state, phase=Phase.WAITING, deadline=None), [
            Stopped(StopReason.GRACE_EXPIRED)
        ]
    return state, []


def show_closed(state: PublishState, now: float) -> tuple[PublishState, list[Notice]]:
    if state.phase is Phase.CLOSED:
        return state, []
    notices: list[Notice] = []
    if state.phase in (Phase.LIVE, Phase.INTERRUPTED):
        notices.append(Stopped(StopReason.SHOW_CLOSED))
    return replace(state, phase=Phase.CLOSED, deadline=None), notices
