"""Video over HTTP: HLS playlists and segments, the replay download, nginx-rtmp's callbacks,
and the studio's view of the host's stream."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import File

from vitrine.core.errors import NotFound
from vitrine.media import NginxRtmpBackend, resolve_hls
from vitrine.shows import listing, schedule
from vitrine.shows.models import ShowStatus
from vitrine.web.auth import page_actor
from vitrine.web.services import services_of


@get("/hls/{path:path}")
async def hls_file(request: Request[Any, Any, Any], path: FromPath[str]) -> File:
    """Playlists (short cache) and segments (immutable) of live shows and replays. The MP4
    download of a replay is for the brand's people only."""
    services = services_of(request)
    found = resolve_hls(services.settings.data_dir / "hls", path.lstrip("/"))
    if found is None or not found.path.is_file():
        raise NotFound(
            "No such video file; the show may not have started or its replay is not ready"
        )
    if found.path.suffix == ".mp4":
        actor = await page_actor(request)
        card = await listing.get_show(services.db, found.show_id)
        actor.require_manager(card.merchant.id)
    return File(
        found.path,
        content_disposition_type="attachment" if found.path.suffix == ".mp4" else "inline",
        media_type=found.content_type,
        headers={"cache-control": found.cache_control},
    )


async def _nginx(request: Request[Any, Any, Any]) -> NginxRtmpBackend:
    media = services_of(request).streams.media
    if not isinstance(media, NginxRtmpBackend):
        raise NotFound("This instance does not use nginx-rtmp (VITRINE_MEDIA_BACKEND)")
    return media


@post("/media/nginx/on_publish", status_code=200)
async def nginx_on_publish(request: Request[Any, Any, Any]) -> Response[bytes]:
    """nginx-rtmp asks whether a publisher may stream; any non-2xx answer refuses it."""
    media = await _nginx(request)
    # A show scheduled a moment ago (maybe on another instance) must not be refused.
    await services_of(request).streams.sync()
    form = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
    return Response(b"", status_code=await media.on_publish(form))


@post("/media/nginx/on_publish_done", status_code=200)
async def nginx_on_publish_done(request: Request[Any, Any, Any]) -> Response[bytes]:
    media = await _nginx(request)
    form = {key: value for key, value in (await request.form()).items() if isinstance(value, str)}
    return Response(b"", status_code=await media.on_publish_done(form))


@get("/studio/{show_id:int}/stream")
async def stream_status(request: Request[Any, Any, Any], show_id: FromPath[int]) -> dict[str, Any]:
    """What the studio's go-live panel shows, refreshed every few seconds."""
    services = services_of(request)
    actor = await page_actor(request)
    card = await listing.get_show(services.db, show_id)
    async with services.db.read() as session:
        if not await schedule.is_host(session, actor, card.show):
            raise NotFound(f"No show #{show_id} that you host")
    streams = services.streams
    media = streams.media
    health = streams.health.get(show_id)
    notice = streams.notices.get(show_id)
    return {
        "state": card.show.status.value,
        "open": show_id in streams.opened,
        "publishing": bool(media and media.is_publishing(show_id)),
        "health": None
        if health is None
        else {
            "bitrate_kbps": health.bitrate_kbps,
            "fps": health.fps,
            "keyframe_interval_s": health.keyframe_interval_s,
            "frames": health.frames,
            "dropped_frames": health.dropped_frames,
            "video_codec": health.video_codec,
            "audio_codec": health.audio_codec,
            "resolution": f"{health.width}x{health.height}" if health.width else None,
            "destinations": health.destinations,
        },
        "notice": None if notice is None else {"message": notice.message, "level": notice.level},
        "replay_ready": card.show.status is ShowStatus.ENDED
        and (services.settings.data_dir / "hls" / str(show_id) / "replay.m3u8").is_file(),
    }


routes = [hls_file, nginx_on_publish, nginx_on_publish_done, stream_status]
