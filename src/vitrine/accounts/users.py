"""Signing up, logging in and out, and the server-side sessions behind the cookie."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from vitrine.accounts.actor import GUEST, Actor
from vitrine.accounts.models import LoginAttempt, Membership, User, UserSession
from vitrine.accounts.passwords import MIN_LENGTH, hash_password, needs_rehash, password_matches
from vitrine.accounts.tokens import digest, new_token
from vitrine.core.clock import utc_now
from vitrine.core.db import Database
from vitrine.core.errors import Conflict, RateLimited, ValidationFailed
from vitrine.core.ratelimit import RateLimiter, minutes_text

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
LOGIN_WINDOW = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class SignUp:
    email: str
    password: str
    display_name: str


def check_sign_up(form: SignUp) -> SignUp:
    errors: dict[str, str] = {}
    email = form.email.strip().lower()
    name = form.display_name.strip()
    if not EMAIL.match(email) or len(email) > 254:
        errors["email"] = "Enter an e-mail address like name@example.com"
    if len(form.password) < MIN_LENGTH:
        errors["password"] = f"Use at least {MIN_LENGTH} characters"
    elif len(form.password) > 200:
        errors["password"] = "Use at most 200 characters"
    if not name:
        errors["display_name"] = "Tell viewers what to call you"
    elif len(name) > 60:
        errors["display_name"] = "Use at most 60 characters"
    if errors:
        raise ValidationFailed(errors)
    return SignUp(email=email, password=form.password, display_name=name)


async def count_sign_up(limiter: RateLimiter, client: str, *, per_hour: int) -> None:
    """One more account opened from `client`'s address; past `per_hour`, a refusal that says
    when to come back (mass sign-ups, and probing which e-mails have accounts)."""
    if per_hour <= 0:
        return
    wait = await limiter.hit(f"signup:{client}", limit=per_hour, window_s=3600.0)
    if wait:
        raise RateLimited(
            "Too many accounts were opened from your address; "
            f"you can sign up again in {minutes_text(wait)}",
            retry_after_s=math.ceil(wait),
        )


async def sign_up(db: Database, form: SignUp, *, operator: bool = False) -> User:
    checked = check_sign_up(form)
    async with db.write() as tx:
        taken = await tx.session.scalar(select(User.id).where(User.email == checked.email))
        if taken is not None:
            raise ValidationFailed({"email": "An account with this e-mail exists; log in instead"})
        user = User(
            email=checked.email,
            display_name=checked.display_name,
            password_hash=hash_password(checked.password),
            is_operator=operator,
        )
        tx.session.add(user)
    return user


async def log_in(
    db: Database, email: str, password: str, *, client: str, attempts_per_minute: int, days: int
) -> str:
    """Check the password and open a session; returns the cookie's token.

    Failed attempts are counted per e-mail and per client address; past the limit the answer
    is "wait", whether or not the password is right, so guessing gains nothing."""
    email = email.strip().lower()
    now = utc_now()
    keys = (f"email:{email}", f"client:{client}")
    async with db.read() as session:
        counts = (
            await session.execute(
                select(LoginAttempt.key, func.count())
                .where(LoginAttempt.key.in_(keys), LoginAttempt.at > now - LOGIN_WINDOW)
                .group_by(LoginAttempt.key)
            )
        ).all()
        user = await session.scalar(select(User).where(User.email == email))
    recent = max((count for _key, count in counts), default=0)
    if recent >= attempts_per_minute:
        raise RateLimited("Too many failed log-ins; wait a minute and try again", retry_after_s=60)
    if user is None or not password_matches(user.password_hash, password):
        async with db.write() as tx:
            tx.session.add_all([LoginAttempt(key=key, at=now) for key in keys])
            await tx.session.execute(
                delete(LoginAttempt).where(LoginAttempt.at < now - timedelta(hours=1))
            )
        raise ValidationFailed({"password": "That e-mail and password do not match an account"})
    token = new_token()
    async with db.write() as tx:
        if needs_rehash(user.password_hash):
            stored = await tx.session.get(User, user.id)
            if stored is not None:
                stored.password_hash = hash_password(password)
        tx.session.add(
            UserSession(
                token_hash=digest(token), user_id=user.id, expires_at=now + timedelta(days=days)
            )
        )
    return token


async def log_out(db: Database, token: str) -> None:
    async with db.write() as tx:
        await tx.session.execute(delete(UserSession).where(UserSession.token_hash == digest(token)))


async def actor_for_session(db: Database, token: str | None) -> Actor:
    """The person behind a session cookie, with their roles; a guest when it is unknown or old.
    One query (session, user and memberships joined): every page and tap starts here."""
    if not token:
        return GUEST
    async with db.read() as session:
        rows = (
            await session.execute(
                select(
                    User.id,
                    User.display_name,
                    User.is_operator,
                    UserSession.expires_at,
                    Membership.merchant_id,
                    Membership.role,
                )
                .join(UserSession, UserSession.user_id == User.id)
                .outerjoin(Membership, Membership.user_id == User.id)
                .where(UserSession.token_hash == digest(token))
            )
        ).all()
    if not rows or rows[0].expires_at <= utc_now():
        return GUEST
    first = rows[0]
    return Actor(
        user_id=first.id,
        display_name=first.display_name,
        is_operator=first.is_operator,
        memberships={row.merchant_id: row.role for row in rows if row.merchant_id is not None},
    )


async def actor_for_user(session: AsyncSession, user: User) -> Actor:
    memberships = (
        await session.execute(
            select(Membership.merchant_id, Membership.role).where(Membership.user_id == user.id)
        )
    ).all()
    return Actor(
        user_id=user.id,
        display_name=user.display_name,
        is_operator=user.is_operator,
        memberships={merchant_id: role for merchant_id, role in memberships},
    )


async def ensure_user(db: Database, form: SignUp, *, operator: bool) -> User:
    """Create the account unless the e-mail exists (for `create-admin` and the demo)."""
    async with db.read() as session:
        existing = await session.scalar(select(User).where(User.email == form.email.lower()))
    if existing is not None:
        if operator and not existing.is_operator:
            raise Conflict(f"{form.email} exists and is not the operator")
        return existing
    return await sign_up(db, form, operator=operator)
