"""Real nginx with libnginx-mod-rtmp in front of a real Vitrine server (VITRINE_MEDIA_BACKEND=
nginx-rtmp): the app's /media/nginx/ callbacks authorise the key and turn publishing into
show state."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.browser.conftest import LiveServer, free_port, start_server, stop_server
from tests.integration.media.conftest import publish
from tests.integration.media.test_media_nginx_rtmp import CONF, MODULE, NGINX, pytestmark
from tests.waiting import wait_until

__all__ = ["pytestmark"]


@pytest.fixture
def nginx_app(tmp_path: Path) -> Iterator[tuple[LiveServer, int]]:
    server = start_server(tmp_path / "app", extra_env={"VITRINE_MEDIA_BACKEND": "nginx-rtmp"})
    server.vitrine("demo")
    rtmp_port = free_port()
    prefix = tmp_path / "nginx"
    for sub in ("hls", "recordings"):
        (prefix / sub).mkdir(parents=True)
    conf = CONF.format(
        module=MODULE,
        user="user root root;" if os.geteuid() == 0 else "",
        prefix=prefix,
        rtmp_port=rtmp_port,
        callback_port=server.url.rsplit(":", 1)[1],
    )
    (prefix / "nginx.conf").write_text(conf)
    assert NGINX is not None
    nginx = subprocess.Popen(
        [
            NGINX,
            "-p",
            str(prefix),
            "-e",
            str(prefix / "error.log"),
            "-c",
            str(prefix / "nginx.conf"),
        ],
        stdin=subprocess.DEVNULL,
    )
    yield server, rtmp_port
    nginx.terminate()
    nginx.wait(timeout=10)
    stop_server(server)


def _state(server: LiveServer) -> str:
    return str(httpx.get(f"{server.url}/api/v1/shows/1").json()["status"])


async def test_nginx_ingests_only_with_the_right_key_and_the_show_goes_live(
    nginx_app: tuple[LiveServer, int], ffmpeg: str, font: str
) -> None:
    server, rtmp_port = nginx_app
    show = await server.show()
    await asyncio.sleep(1)  # nginx binding its port

    forged = f"rtmp://127.0.0.1:{rtmp_port}/live/{show.public_name}?key={'x' * 32}"
    code, _ = await publish(ffmpeg, forged, font, seconds=2)
    assert code != 0
    assert _state(server) == "scheduled"

    good = f"rtmp://127.0.0.1:{rtmp_port}/live/{show.public_name}?key={show.stream_key}"
    publisher = asyncio.create_task(publish(ffmpeg, good, font, seconds=6))
    await wait_until(lambda: _state(server) == "live", timeout_s=20)
    code, _ = await publisher
    assert code == 0
    assert show.stream_key not in server.log.read_text()  # keys are never logged
