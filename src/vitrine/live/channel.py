"""The one way domains send events to viewers: `LiveChannel.publish`, called after commit."""

from __future__ import annotations

from collections.abc import Sequence

from vitrine.core.broker import Broker
from vitrine.live.events import SEQUENCED_EXCEPT, ShowEvent, encode


def show_channel(show_id: str) -> str:
    """The broker channel of a show."""
    return f"show:{show_id}"


class LiveChannel:
    """Hands events of a show to the broker, which numbers them and fans them out to every edge
    instance. Call it from an on-commit hook, never inside a transaction that may roll back."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.published = 0  # events handed to the broker, for /metrics

    async def publish(self, show_id: str, event: ShowEvent) -> int:
        """Send one event; returns its sequence number (0 for tallies and counts, which are
        not numbered). Raises BrokerUnavailable when the broker cannot be reached."""
        return await self.publish_many(show_id, (event,))

    async def publish_many(self, show_id: str, events: Sequence[ShowEvent]) -> int:
        """Send events in order in one round trip; returns the last sequence number."""
        channel = show_channel(show_id)
        self.published += len(events)
        numbered = [encode(event) for event in events if type(event) not in SEQUENCED_EXCEPT]
        for event in events:
            if type(event) in SEQUENCED_EXCEPT:
                await self.broker.publish(channel, encode(event))
        return await self.broker.append(channel, numbered) if numbered else 0
