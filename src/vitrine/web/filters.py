"""Jinja filters for money and times (stored UTC, shown in the viewer's zone by time.js)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar.plugins.jinja import JinjaTemplateEngine

from vitrine.core.clock import as_utc
from vitrine.core.money import format_amount


def money(amount: int | None, currency: str) -> str:
    return "" if amount is None else format_amount(amount, currency)


def iso(moment: datetime | None) -> str:
    return "" if moment is None else as_utc(moment).isoformat().replace("+00:00", "Z")


def utc_text(moment: datetime | None) -> str:
    return "" if moment is None else as_utc(moment).strftime("%a %d %b %Y, %H:%M UTC")


def percent(bps: int) -> str:
    return f"{bps / 100:g} %"


def install(engine: JinjaTemplateEngine) -> None:
    environment: Any = engine.engine
    environment.filters.update(money=money, iso=iso, utc_text=utc_text, percent=percent)
