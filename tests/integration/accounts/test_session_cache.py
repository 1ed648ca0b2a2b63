"""The buying routes' session lookup: the same person as `actor_for_session`, from memory for
a few seconds, forgotten at log-out."""

from datetime import timedelta

from sqlalchemy import update

from tests.factories import make_merchant, make_user
from vitrine.accounts.actor import GUEST
from vitrine.accounts.models import UserSession
from vitrine.accounts.session_cache import SessionCache
from vitrine.accounts.tokens import digest
from vitrine.accounts.users import actor_for_session, log_in, log_out
from vitrine.core.clock import utc_now
from vitrine.core.db import Database


async def sign_in(db: Database, email: str) -> str:
    return await log_in(
        db, email, "a-long-password", client="test", attempts_per_minute=10, days=30
    )


async def test_a_session_is_the_same_person_as_the_pages_see_with_their_roles(
    db: Database,
) -> None:
    owner = await make_user(db, "owner@example.com", name="Olga")
    await make_merchant(db, owner, "northwind")
    shopper = await make_user(db, "ana@example.com", name="Ana")
    cache = SessionCache(db)

    for user in (owner, shopper):
        token = await sign_in(db, user.email)
        assert await cache.actor(token) == await actor_for_session(db, token)
    assert await cache.actor("not-a-session") == GUEST
    assert await cache.actor(None) == GUEST


async def test_an_expired_session_is_a_guest_and_a_logged_out_one_is_forgotten(
    db: Database,
) -> None:
    await make_user(db, "ana@example.com", name="Ana")
    now = [0.0]
    cache = SessionCache(db, ttl_s=10, clock=lambda: now[0])
    token = await sign_in(db, "ana@example.com")
    other = await sign_in(db, "ana@example.com")
    assert (await cache.actor(token)).display_name == "Ana"
    assert (await cache.actor(other)).display_name == "Ana"

    async with db.write() as tx:
        await tx.session.execute(
            update(UserSession)
            .where(UserSession.token_hash == digest(token))
            .values(expires_at=utc_now() - timedelta(minutes=1))
        )
    remembered = await cache.actor(token)
    now[0] = 11.0
    expired = await cache.actor(token)
    await log_out(db, other)
    cache.forget(other)

    assert remembered.display_name == "Ana"  # within the few seconds it is kept
    assert expired == GUEST
    assert await cache.actor(other) == GUEST
