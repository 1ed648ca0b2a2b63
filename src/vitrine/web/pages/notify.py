"""Reminders, the calendar file, the notifications list and the unsubscribe link."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import FromPath
from litestar.response import Template

from vitrine.accounts import notifications
from vitrine.accounts.models import MerchantStatus
from vitrine.core.errors import NotFound
from vitrine.shows import listing, reminders
from vitrine.shows.discovery import clean_page
from vitrine.shows.ics import CalendarEvent, show_calendar
from vitrine.shows.models import ShowStatus
from vitrine.web.auth import page_actor
from vitrine.web.errors import wants_json
from vitrine.web.pages.common import back_to, form_of, render
from vitrine.web.services import services_of


@post("/shows/{show_id:int}/remind")
async def remind(request: Request[Any, Any, Any], show_id: FromPath[int]) -> Response[Any]:
    """Set (on=1) or clear (on=0) the signed-in shopper's reminder."""
    services = services_of(request)
    values = await form_of(request)
    on = values.get("on", "1") != "0"
    reminded = await reminders.set_reminder(services.db, await page_actor(request), show_id, on=on)
    if wants_json(request):
        return Response({"reminded": reminded}, status_code=200)
    return back_to(f"/shows/{show_id}")


@get("/shows/{show_id:int}/calendar.ics")
async def calendar(request: Request[Any, Any, Any], show_id: FromPath[int]) -> Response[str]:
    services = services_of(request)
    card = await listing.get_show(services.db, show_id)
    actor = await page_actor(request)
    if card.merchant.status is not MerchantStatus.APPROVED and not actor.works_for(
        card.merchant.id
    ):
        raise NotFound(f"No show #{show_id}")
    base = services.settings.base_url
    host = base.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0] or "localhost"
    text = show_calendar(
        CalendarEvent(
            uid=f"show-{card.show.id}@{host}",
            title=f"{card.show.title} · {card.merchant.brand_name}",
            description=card.show.description or f"A live show by {card.merchant.brand_name}",
            starts=card.show.scheduled_start,
            minutes=card.show.expected_minutes,
            url=f"{base}/shows/{card.show.id}",
            organizer=card.merchant.brand_name,
            cancelled=card.show.status is ShowStatus.CANCELLED,
        )
    )
    return Response(
        text,
        media_type="text/calendar",
        headers={"content-disposition": f'attachment; filename="show-{card.show.id}.ics"'},
    )


@get("/notifications")
async def notifications_page(request: Request[Any, Any, Any]) -> Template:
    services = services_of(request)
    actor = await page_actor(request)
    page = clean_page(request.query_params.get("page", ""))
    listing_page = await notifications.notifications_of(services.db, actor, page=page)
    # Seen now: the nav count drops once the list has been shown.
    await notifications.mark_all_read(services.db, actor)
    return await render(request, "notify/list.html", listing=listing_page)


@get("/notifications/unread")
async def unread(request: Request[Any, Any, Any]) -> dict[str, int]:
    """What the nav shows next to Notifications (0 for guests)."""
    return {
        "unread": await notifications.unread_count(
            services_of(request).db, await page_actor(request)
        )
    }


@post("/notifications/email")
async def email_settings(request: Request[Any, Any, Any]) -> Response[Any]:
    """Turn notification e-mails back on after unsubscribing."""
    await notifications.resubscribe(services_of(request).db, await page_actor(request))
    return back_to("/notifications")


@get("/unsubscribe/{token:str}")
async def unsubscribe_page(request: Request[Any, Any, Any], token: FromPath[str]) -> Template:
    """Asks to confirm (a mail scanner opening the link unsubscribes nobody)."""
    services = services_of(request)
    notifications.user_of_token(services.notifier.composer.secret, token)
    return await render(request, "notify/unsubscribe.html", token=token, done=False)


@post("/unsubscribe/{token:str}")
async def unsubscribe(request: Request[Any, Any, Any], token: FromPath[str]) -> Template:
    services = services_of(request)
    user_id = notifications.user_of_token(services.notifier.composer.secret, token)
    await notifications.unsubscribe(services.db, user_id)
    return await render(request, "notify/unsubscribe.html", token=token, done=True)


routes = [
    remind,
    calendar,
    notifications_page,
    unread,
    email_settings,
    unsubscribe_page,
    unsubscribe,
]
