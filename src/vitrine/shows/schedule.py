"""Scheduling shows: title, time (entered in the brand's zone, stored in UTC), hosts, the
product lineup; rescheduling and cancelling before they start; the secret stream key."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from vitrine.accounts.actor import Actor
from vitrine.accounts.merchants import require_approved
from vitrine.accounts.models import Membership, Merchant, User
from vitrine.catalog.models import Product, ProductStatus
from vitrine.core.clock import utc_now
from vitrine.core.db import Database
from vitrine.core.errors import Conflict, NotAllowed, NotFound, NotSignedIn, ValidationFailed
from vitrine.core.pictures import Upload, stored_for_write
from vitrine.shows.models import LineupItem, Show, ShowHost, ShowStatus, SimulcastDestination

MAX_MINUTES = 12 * 60


@dataclass(frozen=True, slots=True)
class ShowDraft:
    """What a merchant says about a show. On a change, None keeps what the show has (a partner's
    PATCH that leaves out the lineup or the hosts must not empty them); a new show starts with
    none."""

    title: str
    description: str | None
    starts_local: (
        str  # "2026-12-01T19:00" in the merchant's time zone, as a datetime-local input sends
    )
    expected_minutes: int
    product_ids: tuple[int, ...] | None = ()
    host_emails: tuple[str, ...] | None = ()
    cover: Upload | None = None  # a new cover picture; None keeps the current one
    # Where else the stream is copied: "Name rtmp://host/app/key" per line. None keeps them.
    simulcast: str | None = None


def new_stream_key() -> str:
    # 32 URL-safe characters: fits an RTMP query argument and an SRT passphrase (10-79 chars).
    return secrets.token_urlsafe(24)


def new_public_name() -> str:
    return secrets.token_hex(8)


def local_to_utc(text: str, zone: str, *, field: str = "starts_at") -> datetime:
    try:
        naive = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValidationFailed({field: "Enter a date and time like 2026-12-01 19:00"}) from None
    if naive.tzinfo is not None:
        return naive.astimezone(ZoneInfo("UTC"))
    return naive.replace(tzinfo=ZoneInfo(zone)).astimezone(ZoneInfo("UTC"))


def _check(draft: ShowDraft, zone: str, now: datetime) -> tuple[str, datetime]:
    errors: dict[str, str] = {}
    title = draft.title.strip()
    if not title or len(title) > 120:
        errors["title"] = "Give the show a title (at most 120 characters)"
    starts = None
    try:
        starts = local_to_utc(draft.starts_local, zone)
    except ValidationFailed as error:
        errors.update(error.errors)
    if starts is not None and starts <= now:
        errors["starts_at"] = f"This time has passed; choose a time after now ({zone} time)"
    if not 1 <= draft.expected_minutes <= MAX_MINUTES:
        errors["expected_minutes"] = f"Enter a duration between 1 and {MAX_MINUTES} minutes"
    if len(draft.description or "") > 5000:
        errors["description"] = "Use at most 5,000 characters"
    if errors:
        raise ValidationFailed(errors)
    assert starts is not None
    return title, starts


async def schedule_show(db: Database, actor: Actor, merchant_id: int, draft: ShowDraft) -> Show:
    actor.require_manager(merchant_id)
    async with (
        stored_for_write(draft.cover, f"shows/{merchant_id}", field="cover") as cover,
        db.write() as tx,
    ):
        merchant = await tx.session.get(Merchant, merchant_id)
        if merchant is None:
            raise NotFound(f"No merchant #{merchant_id}")
        require_approved(merchant)
        title, starts = _check(draft, merchant.time_zone, utc_now())
        show = Show(
            cover_path=cover.path if cover else None,
            merchant_id=merchant_id,
            title=title,
            description=(draft.description or "").strip(),
            scheduled_start=starts,
            expected_minutes=draft.expected_minutes,
            status=ShowStatus.SCHEDULED,
            public_name=new_public_name(),
            stream_key=new_stream_key(),
            created_by=actor.require_signed_in(),
        )
        tx.session.add(show)
        await tx.session.flush()
        await _set_lineup(tx.session, show, draft.product_ids or ())
        await _set_hosts(tx.session, show, draft.host_emails or (), actor)
        await _set_simulcast(tx.session, show, draft.simulcast)
    return show


MAX_DESTINATIONS = 5


def parse_destinations(text: str) -> list[tuple[str, str]]:
    """Lines of "Name rtmp://host/app/key"; the name may have spaces, the URL may not."""
    found: list[tuple[str, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        name, _, url = line.strip().rpartition(" ")
        parsed = urlparse(url)
        if (
            parsed.scheme not in {"rtmp", "rtmps"}
            or not parsed.netloc
            or not parsed.path.strip("/")
        ):
            raise ValidationFailed(
                {
                    "simulcast": f"Line {number}: write a name, a space, then the rtmp:// or "
                    "rtmps:// address with its stream key"
                }
            )
        found.append((name.strip()[:60] or parsed.netloc, url))
    if len(found) > MAX_DESTINATIONS:
        raise ValidationFailed({"simulcast": f"At most {MAX_DESTINATIONS} destinations"})
    return found


async def _set_simulcast(session: AsyncSession, show: Show, text: str | None) -> None:
    if text is None:
        return
    destinations = parse_destinations(text)
    await session.execute(
        delete(SimulcastDestination).where(SimulcastDestination.show_id == show.id)
    )
    session.add_all(
        SimulcastDestination(show_id=show.id, name=name, url=url) for name, url in destinations
    )


async def simulcast_text(session: AsyncSession, show_id: int) -> str:
    rows = (
        await session.scalars(
            select(SimulcastDestination)
            .where(SimulcastDestination.show_id == show_id)
            .order_by(SimulcastDestination.id)
        )
    ).all()
    return "\n".join(f"{row.name} {row.url}" for row in rows)


async def _set_lineup(session: AsyncSession, show: Show, product_ids: tuple[int, ...]) -> None:
    if len(set(product_ids)) != len(product_ids):
        raise ValidationFailed({"product_ids": "A product appears twice in the lineup"})
    if product_ids:
        found = dict(
            (
                await session.execute(
                    select(Product.id, Product.status).where(
                        Product.id.in_(product_ids), Product.merchant_id == show.merchant_id
                    )
                )
            ).all()
        )
        missing = [pid for pid in product_ids if pid not in found]
        if missing:
            raise ValidationFailed(
                {"product_ids": f"Products {missing} are not in this brand's catalog"}
            )
        archived = [pid for pid in product_ids if found[pid] is ProductStatus.ARCHIVED]
        if archived:
            raise ValidationFailed({"product_ids": f"Products {archived} are archived"})
    await session.execute(delete(LineupItem).where(LineupItem.show_id == show.id))
    session.add_all(
        LineupItem(show_id=show.id, product_id=pid, position=index)
        for index, pid in enumerate(product_ids)
    )


async def _set_hosts(
    session: AsyncSession, show: Show, emails: tuple[str, ...], actor: Actor
) -> None:
    wanted = {email.strip().lower() for email in emails if email.strip()}
    user_ids: set[int] = set()
    if wanted:
        rows = (
            await session.execute(select(User.id, User.email).where(User.email.in_(wanted)))
        ).all()
        unknown = wanted - {email for _, email in rows}
        if unknown:
            raise ValidationFailed(
                {"host_emails": f"No account uses {', '.join(sorted(unknown))}; ask them to join"}
            )
        user_ids = {uid for uid, _ in rows}
        members = set(
            (
                await session.scalars(
                    select(Membership.user_id).where(
                        Membership.merchant_id == show.merchant_id, Membership.user_id.in_(user_ids)
                    )
                )
            ).all()
        )
        if user_ids - members:
            raise ValidationFailed(
                {"host_emails": "Hosts must be the brand's staff or invited creators; add them"}
            )
    if not user_ids and actor.user_id is not None:
        user_ids = {actor.user_id}
    await session.execute(delete(ShowHost).where(ShowHost.show_id == show.id))
    session.add_all(ShowHost(show_id=show.id, user_id=uid) for uid in sorted(user_ids))


async def _managed_show(session: AsyncSession, actor: Actor, show_id: int) -> Show:
    if not actor.signed_in:
        raise NotSignedIn("Sign in to manage this brand's shows")
    show = await session.get(Show, show_id)
    if show is None or not actor.manages(show.merchant_id):
        if show is not None and actor.signed_in:
            raise NotAllowed("Only this brand's owner and staff can change its shows")
        raise NotFound(f"No show #{show_id}")
    return show


async def reschedule_show(db: Database, actor: Actor, show_id: int, draft: ShowDraft) -> Show:
    """Change a show's details; only while it has not started."""
    async with db.read() as session:  # refuse someone else's show before decoding a picture
        merchant_id = (await _managed_show(session, actor, show_id)).merchant_id
    async with (
        stored_for_write(draft.cover, f"shows/{merchant_id}", field="cover") as cover,
        db.write() as tx,
    ):
        show = await _managed_show(tx.session, actor, show_id)
        if show.status is not ShowStatus.SCHEDULED:
            raise Conflict(f"This show is {show.status}; only scheduled shows can be changed")
        merchant = await tx.session.get(Merchant, show.merchant_id)
        assert merchant is not None
        show.title, show.scheduled_start = _check(draft, merchant.time_zone, utc_now())
        if draft.description is not None:
            show.description = draft.description.strip()
        show.expected_minutes = draft.expected_minutes
        if cover is not None:
            show.cover_path = cover.path
        if draft.product_ids is not None:
            await _set_lineup(tx.session, show, draft.product_ids)
        if draft.host_emails is not None:
            await _set_hosts(tx.session, show, draft.host_emails, actor)
        await _set_simulcast(tx.session, show, draft.simulcast)
    return show


async def cancel_show(db: Database, actor: Actor, show_id: int) -> Show:
    async with db.write() as tx:
        show = await _managed_show(tx.session, actor, show_id)
        if show.status is not ShowStatus.SCHEDULED:
            raise Conflict(
                f"This show is {show.status}; only a show that has not started can be cancelled"
            )
        show.status = ShowStatus.CANCELLED
    return show


async def rotate_stream_key(db: Database, actor: Actor, show_id: int) -> str:
    """A new secret key; the old one stops working at once. Never logged."""
    actor.require_signed_in()
    async with db.write() as tx:
        show = await tx.session.get(Show, show_id)
        if show is None or not await is_host(tx.session, actor, show):
            raise NotFound(f"No show #{show_id}")
        show.stream_key = new_stream_key()
        key = show.stream_key
    return key


async def is_host(session: AsyncSession, actor: Actor, show: Show) -> bool:
    """Hosts of the show and the brand's owner and staff may run it."""
    if actor.manages(show.merchant_id):
        return True
    if actor.user_id is None:
        return False
    return await session.get(ShowHost, (show.id, actor.user_id)) is not None


async def lineup_product_ids(session: AsyncSession, show_id: int) -> list[int]:
    return list(
        (
            await session.scalars(
                select(LineupItem.product_id)
                .where(LineupItem.show_id == show_id)
                .order_by(LineupItem.position)
            )
        ).all()
    )


async def host_emails(session: AsyncSession, show_id: int) -> list[str]:
    return list(
        (
            await session.scalars(
                select(User.email)
                .join(ShowHost, ShowHost.user_id == User.id)
                .where(ShowHost.show_id == show_id)
                .order_by(User.email)
            )
        ).all()
    )


async def count_shows(session: AsyncSession, merchant_id: int) -> int:
    return (
        await session.scalar(
            select(func.count()).select_from(Show).where(Show.merchant_id == merchant_id)
        )
    ) or 0
