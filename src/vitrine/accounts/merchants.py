"""Merchant onboarding: a brand applies, the operator approves or rejects it with a reason and
sets its commission; shoppers follow brands."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlparse

from sqlalchemy import delete, func, select

from vitrine.accounts.actor import Actor
from vitrine.accounts.models import Follow, MemberRole, Membership, Merchant, MerchantStatus, User
from vitrine.accounts.users import EMAIL
from vitrine.core.clock import utc_now
from vitrine.core.db import Database
from vitrine.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from vitrine.core.money import check_currency
from vitrine.core.pictures import StoredPicture, Upload, stored_for_write

HANDLE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,28}[a-z0-9])$")
RESERVED_HANDLES = frozenset(
    {"admin", "api", "static", "media", "shows", "studio", "live", "login"}
)


@dataclass(frozen=True, slots=True)
class Application:
    brand_name: str
    handle: str
    description: str
    website: str
    contact_email: str
    currency: str = "EUR"
    time_zone: str = "UTC"


def check_application(form: Application) -> Application:
    errors: dict[str, str] = {}
    name = form.brand_name.strip()
    handle = form.handle.strip().lower().lstrip("@")
    website = form.website.strip()
    email = form.contact_email.strip().lower()
    if not name or len(name) > 80:
        errors["brand_name"] = "Enter your brand's name (at most 80 characters)"
    if not HANDLE.match(handle) or handle in RESERVED_HANDLES:
        errors["handle"] = (
            "Use 3 to 30 lower-case letters, digits or dashes, not starting or ending with a dash"
        )
    if website:
        parsed = urlparse(website)
        if parsed.scheme not in {"http", "https"} or not parsed.netloc:
            errors["website"] = "Enter the full address, starting with https://"
    if not EMAIL.match(email):
        errors["contact_email"] = "Enter an e-mail address where we can reach you"
    if len(form.description) > 2000:
        errors["description"] = "Use at most 2,000 characters"
    currency = form.currency
    try:
        currency = check_currency(form.currency)
    except ValidationFailed as error:
        errors.update(error.errors)
    if not _known_zone(form.time_zone):
        errors["time_zone"] = f"'{form.time_zone}' is not a time zone; use one like Europe/Paris"
    if errors:
        raise ValidationFailed(errors)
    return Application(
        name, handle, form.description.strip(), website, email, currency, form.time_zone
    )


def _known_zone(name: str) -> bool:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


async def apply(
    db: Database,
    actor: Actor,
    form: Application,
    *,
    commission_bps: int,
    logo: Upload | None = None,
) -> Merchant:
    """File an application; the applicant becomes the pending merchant's owner."""
    user_id = actor.require_signed_in()
    checked = check_application(form)
    async with stored_for_write(logo, "merchants", field="logo") as stored:
        return await _file_application(db, user_id, checked, commission_bps, stored)


async def _file_application(
    db: Database,
    user_id: int,
    checked: Application,
    commission_bps: int,
    logo: StoredPicture | None,
) -> Merchant:
    async with db.write() as tx:
        taken = await tx.session.scalar(
            select(Merchant.id).where(Merchant.handle == checked.handle)
        )
        if taken is not None:
            raise ValidationFailed({"handle": f"@{checked.handle} is taken; choose another handle"})
        merchant = Merchant(
            handle=checked.handle,
            brand_name=checked.brand_name,
            description=checked.description,
            website=checked.website,
            contact_email=checked.contact_email,
            currency=checked.currency,
            time_zone=checked.time_zone,
            logo_path=logo.thumbnail_path if logo else None,
            status=MerchantStatus.PENDING,
            commission_bps=commission_bps,
            applied_by=user_id,
        )
        tx.session.add(merchant)
        await tx.session.flush()
        tx.session.add(Membership(merchant_id=merchant.id, user_id=user_id, role=MemberRole.OWNER))
    return merchant


async def decide(
    db: Database, actor: Actor, merchant_id: int, *, approve: bool, reason: str = ""
) -> Merchant:
    """The operator approves or rejects an application; a rejection must say why."""
    actor.require_operator()
    if not approve and not reason.strip():
        raise ValidationFailed(
            {"reason": "Tell the applicant why, so they can fix it and re-apply"}
        )
    async with db.write() as tx:
        merchant = await tx.session.get(Merchant, merchant_id)
        if merchant is None:
            raise NotFound(f"No merchant #{merchant_id}")
        merchant.status = MerchantStatus.APPROVED if approve else MerchantStatus.REJECTED
        merchant.rejection_reason = "" if approve else reason.strip()
        merchant.decided_at = utc_now()
    return merchant


async def set_commission(db: Database, actor: Actor, merchant_id: int, commission_bps: int) -> None:
    actor.require_operator()
    if not 0 <= commission_bps <= 10_000:
        raise ValidationFailed({"commission": "Enter a percentage between 0 and 100"})
    async with db.write() as tx:
        merchant = await tx.session.get(Merchant, merchant_id)
        if merchant is None:
            raise NotFound(f"No merchant #{merchant_id}")
        merchant.commission_bps = commission_bps


async def merchant_by_handle(db: Database, handle: str) -> Merchant:
    async with db.read() as session:
        merchant = await session.scalar(select(Merchant).where(Merchant.handle == handle.lower()))
    if merchant is None:
        raise NotFound(f"No brand called @{handle}")
    return merchant


async def get_merchant(db: Database, merchant_id: int) -> Merchant:
    async with db.read() as session:
        merchant = await session.get(Merchant, merchant_id)
    if merchant is None:
        raise NotFound(f"No merchant #{merchant_id}")
    return merchant


def require_approved(merchant: Merchant) -> None:
    if merchant.status is not MerchantStatus.APPROVED:
        raise NotAllowed(
            f"{merchant.brand_name} is not approved yet; shows can be scheduled once the "
            "operator approves the application"
        )


async def list_merchants(db: Database, *, status: MerchantStatus | None = None) -> list[Merchant]:
    query = select(Merchant).order_by(Merchant.applied_at.desc())
    if status is not None:
        query = query.where(Merchant.status == status)
    async with db.read() as session:
        return list((await session.scalars(query)).all())


async def merchants_of(db: Database, actor: Actor) -> list[Merchant]:
    if not actor.memberships:
        return []
    async with db.read() as session:
        query = select(Merchant).where(Merchant.id.in_(actor.memberships)).order_by(Merchant.id)
        return list((await session.scalars(query)).all())


async def add_member(
    db: Database, actor: Actor, merchant_id: int, email: str, role: MemberRole
) -> Membership:
    """Owners add staff and invite creators as hosts, by the e-mail of their Vitrine account."""
    actor.require_signed_in()
    if actor.memberships.get(merchant_id) is not MemberRole.OWNER:
        raise NotAllowed("Only the brand's owner can add people")
    async with db.write() as tx:
        user = await tx.session.scalar(select(User).where(User.email == email.strip().lower()))
        if user is None:
            raise ValidationFailed(
                {"email": "No Vitrine account uses this e-mail; ask them to sign up"}
            )
        exists = await tx.session.scalar(
            select(Membership).where(
                Membership.merchant_id == merchant_id, Membership.user_id == user.id
            )
        )
        if exists is not None:
            raise Conflict(f"{user.display_name} already works with this brand as {exists.role}")
        membership = Membership(merchant_id=merchant_id, user_id=user.id, role=role)
        tx.session.add(membership)
    return membership


async def follow(db: Database, actor: Actor, merchant_id: int, *, on: bool) -> int:
    """Follow or unfollow a brand; returns its follower count."""
    user_id = actor.require_signed_in()
    async with db.write() as tx:
        if await tx.session.get(Merchant, merchant_id) is None:
            raise NotFound(f"No merchant #{merchant_id}")
        existing = await tx.session.get(Follow, (user_id, merchant_id))
        if on and existing is None:
            tx.session.add(Follow(user_id=user_id, merchant_id=merchant_id))
        elif not on and existing is not None:
            await tx.session.execute(
                delete(Follow).where(Follow.user_id == user_id, Follow.merchant_id == merchant_id)
            )
    return await follower_count(db, merchant_id)


async def follower_count(db: Database, merchant_id: int) -> int:
    async with db.read() as session:
        count = await session.scalar(
            select(func.count()).select_from(Follow).where(Follow.merchant_id == merchant_id)
        )
    return count or 0


async def follows(db: Database, actor: Actor, merchant_id: int) -> bool:
    if actor.user_id is None:
        return False
    async with db.read() as session:
        return await session.get(Follow, (actor.user_id, merchant_id)) is not None
