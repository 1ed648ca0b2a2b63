"""Merchants for catalog tests, written straight into the accounts tables."""

from __future__ import annotations

from dataclasses import dataclass

from vitrine.accounts.actor import Actor
from vitrine.accounts.models import MemberRole, Membership, Merchant, MerchantStatus, User
from vitrine.core.db import Database


@dataclass(frozen=True)
class Shop:
    merchant_id: int
    owner: Actor


async def make_shop(db: Database, handle: str, *, role: MemberRole = MemberRole.OWNER) -> Shop:
    """An approved merchant whose owner (or staff/host, per `role`) is signed in."""
    async with db.write() as tx:
        user = User(email=f"{handle}@example.com", display_name=handle.title(), password_hash="x")
        tx.session.add(user)
        await tx.session.flush()
        merchant = Merchant(
            handle=handle,
            brand_name=handle.title(),
            contact_email=f"{handle}@example.com",
            status=MerchantStatus.APPROVED,
            commission_bps=1000,
            applied_by=user.id,
        )
        tx.session.add(merchant)
        await tx.session.flush()
        tx.session.add(Membership(merchant_id=merchant.id, user_id=user.id, role=role))
    actor = Actor(user_id=user.id, display_name=user.display_name, memberships={merchant.id: role})
    return Shop(merchant_id=merchant.id, owner=actor)
