"""Typed settings read from VITRINE_* environment variables. The defaults are the embedded
column of docs/architecture.md: SQLite under var/, in-process broker, ffmpeg supervised by the
app. Every setting is documented in docs/configuration.md."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, get_type_hints


class SettingError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    data_dir: Path = Path("var")
    database_url: str = ""  # default: sqlite+aiosqlite:///<data_dir>/vitrine.db
    redis_url: str = ""  # empty: in-process broker, deal gates and rate limits
    redis_prefix: str = "vitrine:"  # keys of this instance group (several Vitrines, one Redis)
    secret_key: str = ""  # default: generated once and kept in <data_dir>/secret_key
    public_url: str = ""  # how browsers reach this instance; default http://host:port
    default_commission_bps: int = 1000  # 10 % of each paid order
    max_upload_bytes: int = 8 * 1024 * 1024
    login_attempts_per_minute: int = 10  # failed log-ins, per e-mail and per address
    signups_per_hour: int = 10  # accounts opened from one address; 0: no limit
    session_days: int = 30
    demo: bool = False  # seed the demo brand and show on start and run the synthetic source
    log_level: str = "INFO"
    log_format: str = "text"  # text | json (one object per line)
    # live channel (WebSocket edge)
    live_port: int = 8001  # the edge listens here, in the web process by default
    live_edge: bool = True  # false: this web process runs no edge (`vitrine edge` runs it)
    live_public_url: str = ""  # what browsers connect to; default ws://<host>:<live_port>
    # media
    media_backend: str = "embedded"  # embedded | nginx-rtmp
    ffmpeg: str = ""  # default: the binary bundled with imageio-ffmpeg
    rtmp_port: int = 1935
    srt_port: int = 9000
    rtmp_public_url: str = ""  # what hosts type into OBS; default rtmp://<host>:<rtmp_port>/live
    stream_grace_s: int = 60
    stream_key_attempts_per_minute: int = 10  # wrong keys from one address; 0: no limit
    abr_ladder: bool = False
    sync_product_events: bool = True
    # buying
    reservation_minutes: int = 10
    buy_platforms: tuple[str, ...] = ("ios", "android", "desktop", "web")
    payment_webhook_secret: str = ""
    # email
    smtp_host: str = ""
    smtp_port: int = 25
    mail_from: str = "Vitrine <no-reply@localhost>"
    smtp_username: str = ""  # empty: no SMTP log-in
    smtp_password: str = ""
    smtp_starttls: bool = False
    notify_sweep_s: int = 15  # how often pending notifications and cancelled shows are swept

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'vitrine.db'}"

    @property
    def live_url(self) -> str:
        return self.live_public_url.rstrip("/") or f"ws://{self.host}:{self.live_port}"

    @property
    def base_url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"

    def with_changes(self, **changes: Any) -> Settings:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values.update(changes)
        return Settings(**values)


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build settings from VITRINE_<NAME> variables; a bad value names the variable."""
    env = os.environ if environ is None else environ
    hints = get_type_hints(Settings)
    values: dict[str, Any] = {}
    for spec in fields(Settings):
        raw = env.get(f"VITRINE_{spec.name.upper()}")
        if raw is None:
            continue
        values[spec.name] = _parse(spec.name, hints[spec.name], raw)
    return Settings(**values)


def _parse(name: str, kind: Any, raw: str) -> Any:
    variable = f"VITRINE_{name.upper()}"
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            raise SettingError(f"{variable}={raw!r} must be a whole number") from None
    if kind is bool:
        if raw.lower() in {"1", "true", "yes", "on"}:
            return True
        if raw.lower() in {"0", "false", "no", "off", ""}:
            return False
        raise SettingError(f"{variable}={raw!r} must be true or false")
    if kind is Path:
        return Path(raw)
    if kind == tuple[str, ...]:
        return tuple(part.strip().lower() for part in raw.split(",") if part.strip())
    return raw


def settings_documentation() -> list[tuple[str, str]]:
    """(variable, default) pairs, used by a test that keeps docs/configuration.md complete."""
    defaults = Settings()
    return [(f"VITRINE_{f.name.upper()}", str(getattr(defaults, f.name))) for f in fields(Settings)]


def secret_key(settings: Settings) -> str:
    """VITRINE_SECRET_KEY, or one generated on first start and kept in the data directory."""
    if settings.secret_key:
        return settings.secret_key
    path = settings.data_dir / "secret_key"
    if path.exists():
        return path.read_text().strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key
