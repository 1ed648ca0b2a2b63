"""Per-merchant API tokens for partners. The token is shown once; only its hash is kept."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update

from vitrine.accounts.actor import Actor
from vitrine.accounts.models import ApiToken, MemberRole
from vitrine.accounts.tokens import digest, new_token
from vitrine.core.clock import utc_now
from vitrine.core.db import Database
from vitrine.core.errors import NotFound, NotSignedIn, ValidationFailed

PREFIX = "vtr_"


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: ApiToken
    secret: str  # shown to the merchant once


async def issue_token(db: Database, actor: Actor, merchant_id: int, name: str) -> IssuedToken:
    actor.require_manager(merchant_id)
    name = name.strip()
    if not name or len(name) > 60:
        raise ValidationFailed({"name": "Name the token after the partner or tool using it"})
    secret = new_token(PREFIX)
    async with db.write() as tx:
        token = ApiToken(
            merchant_id=merchant_id,
            name=name,
            token_hash=digest(secret),
            prefix=secret[:10],
            created_by=actor.require_signed_in(),
        )
        tx.session.add(token)
    return IssuedToken(token, secret)


async def revoke_token(db: Database, actor: Actor, merchant_id: int, token_id: int) -> None:
    actor.require_manager(merchant_id)
    async with db.write() as tx:
        result = await tx.session.execute(
            update(ApiToken)
            .where(ApiToken.id == token_id, ApiToken.merchant_id == merchant_id)
            .values(revoked_at=utc_now())
        )
        if result.rowcount == 0:  # type: ignore[attr-defined]
            raise NotFound(f"No API token #{token_id} for this brand")


async def tokens_of(db: Database, actor: Actor, merchant_id: int) -> list[ApiToken]:
    actor.require_manager(merchant_id)
    async with db.read() as session:
        query = select(ApiToken).where(ApiToken.merchant_id == merchant_id).order_by(ApiToken.id)
        return list((await session.scalars(query)).all())


async def actor_for_api_token(db: Database, scheme: str, secret: str) -> Actor:
    """The merchant staff rights a live token carries; a clear refusal for a bad one."""
    if scheme.lower() != "bearer" or not secret.startswith(PREFIX):
        raise NotSignedIn("Send your API token as 'Authorization: Bearer vtr_…'")
    async with db.read() as session:
        token = await session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(secret)))
    if token is None or token.revoked_at is not None:
        raise NotSignedIn("This API token is unknown or was revoked; create a new one in Settings")
    now = utc_now()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        async with db.write() as tx:
            await tx.session.execute(
                update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now)
            )
    return Actor(
        user_id=token.created_by,
        display_name=f"API token {token.name}",
        memberships={token.merchant_id: MemberRole.STAFF},
        via_api_token=True,
    )
