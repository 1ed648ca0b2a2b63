"""The nginx configuration operators install: the one in docs/deploy/ is what the template
renders for the documented command, and nginx itself accepts it."""

from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.cluster.conftest import require
from vitrine.deploy.__main__ import main
from vitrine.deploy.local import NGINX
from vitrine.deploy.nginx import RTMP_MODULE, NginxSite, render_nginx

DOCUMENTED = Path(__file__).resolve().parents[2] / "docs" / "deploy" / "nginx.conf"
COMMAND = [
    "nginx-config",
    "--server-name", "shop.example.com",
    "--web", "10.0.0.11:8000",
    "--web", "10.0.0.12:8000",
    "--edge", "10.0.0.11:8001",
    "--edge", "10.0.0.12:8001",
]  # fmt: skip


def test_the_documented_config_is_what_the_template_renders(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(COMMAND) == 0
    assert capsys.readouterr().out == DOCUMENTED.read_text()
    assert (
        f"python -m vitrine.deploy {' '.join(COMMAND)}"
        in (DOCUMENTED.parent / "debian.md").read_text()
    )


def test_nginx_accepts_the_production_config(tmp_path: Path) -> None:
    """The documented site (TLS, two web instances, two edges, nginx-rtmp ingest), with its
    files moved under a temporary folder and a throw-away certificate."""
    openssl = shutil.which("openssl")
    require(
        ", ".join(
            what
            for what, there in (
                ("nginx", Path(NGINX).exists()),
                ("libnginx-mod-rtmp", Path(RTMP_MODULE).exists()),
                ("openssl", openssl is not None),
            )
            if not there
        )
    )
    assert openssl is not None
    certificate, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=shop.example.com", "-keyout", str(key), "-out", str(certificate)],
        check=True, capture_output=True,
    )  # fmt: skip
    site = dataclasses.replace(
        NginxSite(),
        tls_certificate=str(certificate),
        tls_certificate_key=str(key),
        data_dir=str(tmp_path / "data"),
        hls_live_dir=str(tmp_path / "hls-live"),
        pid=str(tmp_path / "nginx.pid"),
        error_log=str(tmp_path / "error.log"),
        access_log=str(tmp_path / "access.log"),
        temp_dir=str(tmp_path),
        user="root root" if os.geteuid() == 0 else "",
    )
    conf = tmp_path / "nginx.conf"
    conf.write_text(render_nginx(site))

    checked = subprocess.run(
        [NGINX, "-t", "-p", str(tmp_path), "-e", str(tmp_path / "error.log"), "-c", str(conf)],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr
