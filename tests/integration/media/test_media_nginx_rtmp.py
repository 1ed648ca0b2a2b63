"""nginx + libnginx-mod-rtmp ingesting, with Vitrine answering on_publish / on_publish_done."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from tests.integration.media.conftest import KEY, RecordingListener, publish, show
from tests.waiting import wait_until
from vitrine.media.model import Refusal, StopReason
from vitrine.media.nginx import NginxRtmpBackend

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
MODULE = Path("/usr/lib/nginx/modules/ngx_rtmp_module.so")

pytestmark = [
    pytest.mark.media,
    pytest.mark.nginx,
    pytest.mark.anyio,
    pytest.mark.skipif(
        NGINX is None or not MODULE.exists(),
        reason="nginx with libnginx-mod-rtmp is not installed (apt-get install nginx libnginx-mod-rtmp)",
    ),
]

CONF = """
load_module {module};
{user}
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{ worker_connections 64; }}
rtmp {{
    server {{
        listen 127.0.0.1:{rtmp_port};
        chunk_size 4096;
        application live {{
            live on;
            allow play 127.0.0.1;
            deny play all;
            notify_method post;
            on_publish http://127.0.0.1:{callback_port}/media/nginx/on_publish;
            on_publish_done http://127.0.0.1:{callback_port}/media/nginx/on_publish_done;
            hls on;
            hls_path {prefix}/hls;
            hls_nested on;
            hls_fragment 1s;
            hls_playlist_length 6s;
            hls_continuous on;
            record all;
            record_path {prefix}/recordings;
            record_unique on;
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def serve_callbacks(backend: NginxRtmpBackend) -> asyncio.Server:
    """The two routes the web layer exposes, as a bare asyncio HTTP server."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readline()
        headers: dict[str, str] = {}
        while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
            key, _, value = line.decode().partition(":")
            headers[key.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        form = dict(parse_qsl(body.decode()))
        path = request.split()[1].decode()
        if path == "/media/nginx/on_publish":
            status = await backend.on_publish(form)
        elif path == "/media/nginx/on_publish_done":
            status = await backend.on_publish_done(form)
        else:
            status = 404
        writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, "127.0.0.1", 0)


@pytest.fixture
async def nginx(
    tmp_path: Path, listener: RecordingListener, ffmpeg: str
) -> AsyncIterator[tuple[NginxRtmpBackend, int, Path]]:
    backend = NginxRtmpBackend(
        listener,
        ffmpeg=ffmpeg,
        recordings_dir=tmp_path / "recordings",
        data_dir=tmp_path / "data",
    )
    server = await serve_callbacks(backend)
    rtmp_port = free_port()
    for sub in ("hls", "recordings"):
        (tmp_path / sub).mkdir()
    conf = CONF.format(
        module=MODULE,
        user="user root root;" if os.geteuid() == 0 else "",
        prefix=tmp_path,
        rtmp_port=rtmp_port,
        callback_port=server.sockets[0].getsockname()[1],
    )
    (tmp_path / "nginx.conf").write_text(conf)
    assert NGINX is not None
    proc = await asyncio.create_subprocess_exec(
        NGINX, "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(tmp_path / "nginx.conf"),
        stdin=asyncio.subprocess.DEVNULL,
    )  # fmt: skip

    def listening() -> bool:
        with socket.socket() as s:
            return s.connect_ex(("127.0.0.1", rtmp_port)) == 0

    try:
        await wait_until(listening, timeout_s=10)
        yield backend, rtmp_port, tmp_path
    finally:
        proc.terminate()
        await proc.wait()
        server.close()


async def test_nginx_publishes_only_with_the_right_key_and_records(
    nginx: tuple[NginxRtmpBackend, int, Path], listener: RecordingListener, ffmpeg: str, font: str
) -> None:
    backend, port, prefix = nginx
    await backend.open_show(show())
    # when a publisher uses a wrong key, then nginx refuses it and writes nothing
    code, _ = await publish(
        ffmpeg, f"rtmp://127.0.0.1:{port}/live/spring-drop?key=wrong-key-12345", font, seconds=1
    )
    assert code != 0
    assert listener.events == [("refused", 7, "spring-drop", Refusal.WRONG_KEY)]
    assert list((prefix / "hls").iterdir()) == []
    # when the host publishes with the right key, then the show goes live, HLS and a recording
    code, _ = await publish(
        ffmpeg, f"rtmp://127.0.0.1:{port}/live/spring-drop?key={KEY}", font, seconds=3
    )
    assert code == 0
    await wait_until(lambda: ("interrupted", 7) in listener.events)
    assert listener.events[1:] == [("started", 7, False), ("interrupted", 7)]
    assert (prefix / "hls" / "spring-drop" / "index.m3u8").exists()
    assert backend.live_playlist_url(7) == "/hls-live/spring-drop/index.m3u8"
    assert [p.suffix for p in (prefix / "recordings").iterdir()] == [".flv"]
    # when the host ends the show, then the recording becomes the replay
    recording = await backend.close_show(7)
    assert listener.events[-1] == ("stopped", 7, StopReason.SHOW_CLOSED)
    assert recording is not None
    assert (recording.playlist, recording.mp4) == ("hls/7/replay.m3u8", "hls/7/replay.mp4")
    assert 2.5 <= recording.duration_s <= 3.5
    replay = (prefix / "data" / recording.playlist).read_text()
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in replay and replay.endswith("#EXT-X-ENDLIST\n")
