"""The nginx configuration in front of Vitrine, rendered from `nginx.conf.j2`: TLS, N web and
M edge instances, the live channel's WebSockets with failover, HLS from disk, nginx-rtmp ingest.
The defaults are the production example of docs/deploy/; the local topology overrides paths
and ports."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATE = "nginx.conf.j2"
RTMP_MODULE = "/usr/lib/nginx/modules/ngx_rtmp_module.so"


@dataclass(frozen=True, slots=True)
class NginxSite:
    """What the template needs. Addresses are `host:port`; an empty `tls_certificate` serves
    plain HTTP on `listen_http` (local use only), an empty `rtmp_listen` leaves ingest out."""

    server_name: str = "shop.example.com"
    web: tuple[str, ...] = ("10.0.0.11:8000", "10.0.0.12:8000")
    edges: tuple[str, ...] = ("10.0.0.11:8001", "10.0.0.12:8001")
    listen_http: str = "80"
    listen_https: str = "443"
    tls_certificate: str = "/etc/letsencrypt/live/shop.example.com/fullchain.pem"
    tls_certificate_key: str = "/etc/letsencrypt/live/shop.example.com/privkey.pem"
    data_dir: str = "/var/lib/vitrine/data"
    hls_live_dir: str = "/var/lib/vitrine/hls-live"
    rtmp_listen: str = "1935"
    callback_listen: str = "127.0.0.1:8080"
    max_body: str = "9m"
    worker_connections: int = 16384
    # the nginx process itself
    user: str = "www-data"
    pid: str = "/run/nginx.pid"
    error_log: str = "/var/log/nginx/error.log"
    access_log: str = "/var/log/nginx/access.log"
    mime_types: str = "/etc/nginx/mime.types"
    rtmp_module: str = RTMP_MODULE
    temp_dir: str = ""  # empty: nginx's own (Debian: /var/lib/nginx)
    foreground: bool = False  # `daemon off`, for a supervisor that keeps nginx as its child

    def __post_init__(self) -> None:
        if not self.web or not self.edges:
            raise ValueError("name at least one web instance and one edge")
        if self.rtmp_listen and ":" not in self.callback_listen:
            raise ValueError("callback_listen is host:port (nginx-rtmp calls it by address)")


def render_nginx(site: NginxSite) -> str:
    """The whole nginx.conf for `site`."""
    environment = Environment(
        loader=FileSystemLoader(Path(__file__).parent),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,  # nginx syntax, not HTML  # noqa: S701
    )
    template = environment.get_template(TEMPLATE)
    fields = {name: getattr(site, name) for name in site.__dataclass_fields__}
    return template.render(**fields)
