"""Sign up, log in, log out."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlparse

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import FromQuery
from litestar.response import Redirect, Template

from vitrine.accounts.users import (
    SignUp,
    check_sign_up,
    count_sign_up,
    log_in,
    log_out,
    sign_up,
)
from vitrine.core.errors import ValidationFailed
from vitrine.web.auth import SESSION_COOKIE, client_address
from vitrine.web.pages.common import form_of, invalid, render
from vitrine.web.pages.shop_common import keep_guest_cart
from vitrine.web.services import services_of


def _safe_next(target: str | None) -> str:
    """Only local paths, so a crafted link cannot send someone to another site after log-in.
    Browsers read a backslash as a slash and drop tabs and newlines: `/\\evil.example` and
    `/<tab>/evil.example` would be another site, so neither is a local path."""
    if not target:
        return "/"
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    if "\\" in target or any(ord(char) <= 0x20 or ord(char) == 0x7F for char in target):
        return "/"
    return target


def _signed_in(request: Request[Any, Any, Any], token: str, target: str) -> Response[Any]:
    settings = services_of(request).settings
    response: Response[Any] = Redirect(_safe_next(target), status_code=303)
    response.set_cookie(
        Cookie(
            key=SESSION_COOKIE,
            value=token,
            httponly=True,
            samesite="lax",
            secure=settings.base_url.startswith("https://"),
            max_age=settings.session_days * 86400,
            path="/",
        )
    )
    return response


@get("/signup")
async def signup_page(request: Request[Any, Any, Any], next: FromQuery[str] = "/") -> Template:
    return await render(request, "accounts/signup.html", next=_safe_next(next))


@post("/signup")
async def signup_submit(request: Request[Any, Any, Any]) -> Response[Any]:
    services = services_of(request)
    values = await form_of(request)
    target = _safe_next(values.get("next"))
    form = SignUp(
        email=values.get("email", ""),
        password=values.get("password", ""),
        display_name=values.get("display_name", ""),
    )
    try:
        check_sign_up(form)  # a typo costs no attempt
        await count_sign_up(
            services.limiter,
            client_address(request),
            per_hour=services.settings.signups_per_hour,
        )
        await sign_up(services.db, form)
        token = await log_in(
            services.db,
            form.email,
            form.password,
            client=client_address(request),
            attempts_per_minute=services.settings.login_attempts_per_minute,
            days=services.settings.session_days,
        )
    except ValidationFailed as error:
        values.pop("password", None)
        return await invalid(request, "accounts/signup.html", error, values, next=target)
    await keep_guest_cart(request, token)
    return _signed_in(request, token, target)


@get("/login")
async def login_page(request: Request[Any, Any, Any], next: FromQuery[str] = "/") -> Template:
    return await render(request, "accounts/login.html", next=_safe_next(next))


@post("/login")
async def login_submit(request: Request[Any, Any, Any]) -> Response[Any]:
    services = services_of(request)
    values = await form_of(request)
    target = _safe_next(values.get("next"))
    old = request.cookies.get(SESSION_COOKIE)
    try:
        token = await log_in(
            services.db,
            values.get("email", ""),
            values.get("password", ""),
            client=client_address(request),
            attempts_per_minute=services.settings.login_attempts_per_minute,
            days=services.settings.session_days,
        )
    except ValidationFailed as error:
        values.pop("password", None)
        return await invalid(request, "accounts/login.html", error, values, next=target)
    if old:  # a fresh token at every log-in: a planted cookie is worth nothing
        await log_out(services.db, old)
        services.sessions.forget(old)
    await keep_guest_cart(request, token)
    return _signed_in(request, token, target)


@post("/logout")
async def logout(request: Request[Any, Any, Any]) -> Response[Any]:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await log_out(services_of(request).db, token)
        services_of(request).sessions.forget(token)
    response: Response[Any] = Redirect("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


routes = [signup_page, signup_submit, login_page, login_submit, logout]
