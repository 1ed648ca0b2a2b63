"""Making the people and brands a test needs, through the same services the product uses."""

from __future__ import annotations

from datetime import timedelta

from vitrine.accounts import merchants
from vitrine.accounts.actor import Actor
from vitrine.accounts.models import Merchant, User
from vitrine.accounts.users import SignUp, actor_for_user, sign_up
from vitrine.core.clock import utc_now
from vitrine.core.db import Database
from vitrine.shows import schedule
from vitrine.shows.models import Show

PASSWORD = "a-long-password"


async def make_user(db: Database, email: str, *, name: str = "", operator: bool = False) -> User:
    return await sign_up(
        db, SignUp(email, PASSWORD, name or email.split("@")[0]), operator=operator
    )


async def actor_of(db: Database, user: User) -> Actor:
    async with db.read() as session:
        return await actor_for_user(session, user)


async def make_merchant(
    db: Database, owner: User, handle: str, *, approved: bool = True, operator: User | None = None
) -> Merchant:
    merchant = await merchants.apply(
        db,
        await actor_of(db, owner),
        merchants.Application(
            brand_name=handle.title(),
            handle=handle,
            description=f"{handle} makes things",
            website=f"https://{handle}.example",
            contact_email=f"hello@{handle}.example",
            currency="EUR",
            time_zone="Europe/Paris",
        ),
        commission_bps=1000,
    )
    if approved:
        boss = operator or await make_user(db, f"operator-{handle}@example.com", operator=True)
        merchant = await merchants.decide(db, await actor_of(db, boss), merchant.id, approve=True)
    return merchant


def in_hours(hours: float) -> str:
    """A local time string in the merchant zone used by make_merchant, `hours` from now."""
    from zoneinfo import ZoneInfo

    return (
        (utc_now() + timedelta(hours=hours))
        .astimezone(ZoneInfo("Europe/Paris"))
        .strftime("%Y-%m-%dT%H:%M")
    )


async def make_show(
    db: Database,
    owner: User,
    merchant: Merchant,
    *,
    title: str = "Spring live",
    hours: float = 2,
    product_ids: tuple[int, ...] = (),
) -> Show:
    return await schedule.schedule_show(
        db,
        await actor_of(db, owner),
        merchant.id,
        schedule.ShowDraft(
            title=title,
            description="",
            starts_local=in_hours(hours),
            expected_minutes=30,
            product_ids=product_ids,
        ),
    )
