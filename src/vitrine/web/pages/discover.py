"""Search and categories: what shoppers use to find shows and products."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from litestar import Request, get
from litestar.params import FromPath
from litestar.response import Template

from vitrine.core.errors import ValidationFailed
from vitrine.shows import discovery
from vitrine.web.pages.common import render
from vitrine.web.services import services_of


def _paging(request: Request[Any, Any, Any]) -> tuple[str, int]:
    query = discovery.clean_query(request.query_params.get("q", ""))
    page = discovery.clean_page(request.query_params.get("page", ""))
    return query, page


@get("/search")
async def search_page(request: Request[Any, Any, Any]) -> Template:
    try:
        query, page = _paging(request)
    except ValidationFailed as error:
        return await render(
            request,
            "discover/search.html",
            status=422,
            errors=error.errors,
            found=None,
            query=request.query_params.get("q", "")[: discovery.MAX_QUERY],
            categories=[],
            base="/search",
        )
    db = services_of(request).db
    found = await discovery.search(db, query, page=page) if query else None
    return await render(
        request,
        "discover/search.html",
        found=found,
        query=query,
        categories=await discovery.categories(db),
        base="/search",
    )


@get("/categories")
async def categories_page(request: Request[Any, Any, Any]) -> Template:
    return await render(
        request,
        "discover/categories.html",
        categories=await discovery.categories(services_of(request).db),
    )


@get("/categories/{name:str}")
async def category_page(request: Request[Any, Any, Any], name: FromPath[str]) -> Template:
    db = services_of(request).db
    try:
        query, page = _paging(request)
    except ValidationFailed as error:
        return await render(
            request,
            "discover/category.html",
            status=422,
            errors=error.errors,
            name=name,
            found=None,
            query="",
            base=f"/categories/{quote(name)}",
        )
    found = await discovery.search(db, query, category=name, page=page)
    return await render(
        request,
        "discover/category.html",
        name=name,
        found=found,
        query=query,
        base=f"/categories/{quote(name)}",
    )


routes = [search_page, categories_page, category_page]
