"""Live video: ingest (RTMP/SRT), HLS output, replay, simulcast, for the rest of the app.

The app builds a `MediaConfig`, implements `StreamListener` (the shows domain) and picks a
backend: `EmbeddedBackend` (ffmpeg supervised in-process) or `NginxRtmpBackend`.
"""

from vitrine.media.auth import KeyAttempts, new_public_name, new_stream_key
from vitrine.media.config import MediaConfig
from vitrine.media.embedded import EmbeddedBackend, IngestUrls
from vitrine.media.hls import HlsFile, resolve_hls
from vitrine.media.model import (
    REFUSAL_MESSAGES,
    MediaBackend,
    MediaError,
    Recording,
    Refusal,
    ShowStream,
    SimulcastTarget,
    StopReason,
    StreamHealth,
    StreamListener,
)
from vitrine.media.nginx import NginxRtmpBackend

__all__ = [
    "REFUSAL_MESSAGES",
    "EmbeddedBackend",
    "HlsFile",
    "IngestUrls",
    "KeyAttempts",
    "MediaBackend",
    "MediaConfig",
    "MediaError",
    "NginxRtmpBackend",
    "Recording",
    "Refusal",
    "ShowStream",
    "SimulcastTarget",
    "StopReason",
    "StreamHealth",
    "StreamListener",
    "new_public_name",
    "new_stream_key",
    "resolve_hls",
]
