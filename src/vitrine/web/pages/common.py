"""Helpers shared by the page handlers: rendering with the signed-in person, reading forms."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from litestar import Request
from litestar.response import Redirect, Template

from vitrine.accounts.merchants import merchants_of
from vitrine.core.errors import ValidationFailed
from vitrine.core.pictures import Upload
from vitrine.web.auth import page_actor
from vitrine.web.services import services_of


async def render(
    request: Request[Any, Any, Any], template: str, *, status: int = 200, **context: Any
) -> Template:
    actor = await page_actor(request)
    services = services_of(request)
    context.setdefault("errors", {})
    context.setdefault("values", {})
    context["actor"] = actor
    context["my_merchants"] = await merchants_of(services.db, actor)
    context["settings"] = services.settings
    return Template(template, context=context, status_code=status)


async def form_of(request: Request[Any, Any, Any]) -> dict[str, str]:
    """A url-encoded or multipart form's text fields (files are read separately)."""
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


async def invalid(
    request: Request[Any, Any, Any],
    template: str,
    error: ValidationFailed,
    values: Mapping[str, str],
    **context: Any,
) -> Template:
    """Show the form again with what the person typed and what to fix, as a 422."""
    return await render(
        request, template, status=422, errors=error.errors, values=dict(values), **context
    )


def back_to(path: str) -> Redirect:
    return Redirect(path, status_code=303)


def int_field(values: Mapping[str, str], name: str, *, label: str) -> int:
    text = values.get(name, "").strip()
    try:
        return int(text)
    except ValueError:
        raise ValidationFailed({name: f"{label} must be a whole number"}) from None


def percent_to_bps(values: Mapping[str, str], name: str) -> int:
    from decimal import Decimal, InvalidOperation

    text = values.get(name, "").strip().rstrip("%")
    try:
        return int((Decimal(text) * 100).to_integral_value())
    except InvalidOperation:
        raise ValidationFailed({name: "Enter a percentage such as 12.5"}) from None


async def upload_of(request: Request[Any, Any, Any], name: str) -> Upload | None:
    """The file a multipart form sent under `name`, with where pictures are kept."""
    form = await request.form()
    value = form.get(name)
    if value is None or isinstance(value, str):
        return None
    data = await value.read()
    if not data:
        return None
    settings = services_of(request).settings
    return Upload(data, settings.data_dir / "media", settings.max_upload_bytes)
