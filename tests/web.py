"""A browser-like client for page and API tests: keeps cookies and sends the CSRF token the
way a page's form does."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx
from litestar.testing import AsyncTestClient

CSRF_COOKIE = "vitrine_csrf"


class Browser:
    """One person's browser. Several share one test client (one app, one event loop), each
    with a cookie jar of its own."""

    def __init__(self, client: AsyncTestClient[Any]) -> None:
        self.client = client
        self.cookies = httpx.Cookies()

    async def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        self.client.cookies = self.cookies
        try:
            return await self.client.request(method, path, **kwargs)
        finally:
            self.cookies = self.client.cookies

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", path, **kwargs)

    async def submit(
        self, path: str, form: Mapping[str, Any] | None = None, *, files: Any = None
    ) -> httpx.Response:
        """POST a form as a page would: with the CSRF token from the cookie."""
        token = self.cookies.get(CSRF_COOKIE)
        if token is None:
            await self.get("/login")
            token = self.cookies.get(CSRF_COOKIE)
        data = {**(form or {}), "_csrf_token": token}
        return await self.request("POST", path, data=data, files=files, follow_redirects=False)

    async def sign_up(
        self, email: str, name: str = "Someone", password: str = "a-long-password"
    ) -> None:
        response = await self.submit(
            "/signup", {"email": email, "password": password, "display_name": name}
        )
        assert response.status_code == 303, response.text

    async def log_in(self, email: str, password: str = "a-long-password") -> httpx.Response:
        return await self.submit("/login", {"email": email, "password": password})
