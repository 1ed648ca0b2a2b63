from sqlalchemy import select

from vitrine.accounts.models import User
from vitrine.core.clock import utc_now
from vitrine.core.db import Database


async def test_hooks_run_only_after_the_transaction_commits(db: Database) -> None:
    announced: list[str] = []

    async def announce() -> None:
        announced.append("committed")

    async with db.write() as tx:
        tx.session.add(User(email="a@example.com", display_name="A", password_hash="x"))
        tx.on_commit(announce)
        assert announced == []

    assert announced == ["committed"]


async def test_a_rolled_back_transaction_runs_no_hooks_and_writes_nothing(db: Database) -> None:
    announced: list[str] = []

    async def announce() -> None:
        announced.append("committed")

    try:
        async with db.write() as tx:
            tx.session.add(User(email="b@example.com", display_name="B", password_hash="x"))
            tx.on_commit(announce)
            raise RuntimeError("payment declined")
    except RuntimeError:
        pass

    async with db.read() as session:
        users = (await session.scalars(select(User))).all()
    assert users == []
    assert announced == []


async def test_timestamps_come_back_in_utc(db: Database) -> None:
    moment = utc_now()
    async with db.write() as tx:
        tx.session.add(
            User(email="c@example.com", display_name="C", password_hash="x", created_at=moment)
        )
    async with db.read() as session:
        user = (await session.scalars(select(User))).one()
    assert user.created_at == moment
    assert user.created_at.utcoffset() is not None
