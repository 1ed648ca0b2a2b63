"""The live channel: the wire contract (`events`), the publishing API (`LiveChannel`) and the
WebSocket edge (`LiveEdge`) that fans events out to viewers."""

from vitrine.live.channel import LiveChannel, show_channel
from vitrine.live.edge import LiveEdge
from vitrine.live.protocols import (
    ActionHandler,
    ActionRefused,
    Identify,
    LiveRequest,
    SnapshotSource,
)
from vitrine.live.room import EdgeSettings

__all__ = [
    "ActionHandler",
    "ActionRefused",
    "EdgeSettings",
    "Identify",
    "LiveChannel",
    "LiveEdge",
    "LiveRequest",
    "SnapshotSource",
    "show_channel",
]
