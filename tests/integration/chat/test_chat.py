"""Given a live show, viewers chat; rate limits, slow mode, blocked words and moderation each
tell the viewer why and for how long; events reach the channel only after commit."""

from __future__ import annotations

import msgspec
import pytest

from tests.factories import actor_of, make_merchant, make_show, make_user
from vitrine.accounts.models import User
from vitrine.chat.service import ChatService
from vitrine.core.broker import MemoryBroker
from vitrine.core.db import Database
from vitrine.core.errors import NotAllowed, NotSignedIn
from vitrine.core.ratelimit import MemoryRateLimiter
from vitrine.live import events
from vitrine.live.channel import LiveChannel, show_channel
from vitrine.live.protocols import ActionRefused
from vitrine.shows.live_state import ShowLifecycle
from vitrine.shows.models import Show
from vitrine.shows.snapshot import ShowSnapshots


class Scene:
    def __init__(self, db: Database) -> None:
        self.db = db
        self.broker = MemoryBroker()
        self.chat = ChatService(db, LiveChannel(self.broker), MemoryRateLimiter())

    async def setup(self) -> None:
        self.owner = await make_user(self.db, "owner@example.com", name="Owner")
        self.merchant = await make_merchant(self.db, self.owner, "acme")
        self.show = await make_show(self.db, self.owner, self.merchant)
        await ShowLifecycle(self.db).stream_arrived(self.show.id)
        self.viewer_user = await make_user(self.db, "viewer@example.com", name="Vee")

    def viewer(self, user: User | None = None) -> events.Viewer:
        user = user or self.viewer_user
        return events.Viewer(user_id=str(user.id), display_name=user.display_name)

    async def published(self, show: Show | None = None) -> list[object]:
        kept = await self.broker.since(show_channel(str((show or self.show).id)), 0, 1000)
        assert kept is not None
        decoder = msgspec.json.Decoder(events.ShowEvent)
        return [decoder.decode(envelope.data) for envelope in kept]


@pytest.fixture
async def scene(db: Database) -> Scene:
    made = Scene(db)
    await made.setup()
    return made


async def test_a_message_reaches_the_channel_as_plain_text(scene: Scene) -> None:
    await scene.chat.post_chat(str(scene.show.id), scene.viewer(), "  <b>Is it   waterproof?</b> ")
    [message] = await scene.published()
    assert isinstance(message, events.ChatMessage)
    assert message.text == "<b>Is it waterproof?</b>"
    assert message.author_name == "Vee"
    assert message.badges == []
    recent = await scene.chat.recent(scene.show.id)
    assert [row.text for row in recent] == ["<b>Is it waterproof?</b>"]


async def test_guests_cannot_post(scene: Scene) -> None:
    with pytest.raises(NotSignedIn):
        await scene.chat.post_chat(
            str(scene.show.id), events.Viewer(user_id=None, display_name="guest"), "hi"
        )


async def test_a_show_that_is_not_live_refuses_messages(scene: Scene) -> None:
    upcoming = await make_show(scene.db, scene.owner, scene.merchant, title="Later")
    with pytest.raises(ActionRefused) as refused:
        await scene.chat.post_chat(str(upcoming.id), scene.viewer(), "hello?")
    assert refused.value.code == "not_live"
    assert refused.value.detail == "This show is scheduled; the chat opens when it is live"


async def test_a_flood_is_told_how_long_to_wait(scene: Scene) -> None:
    for n in range(5):
        await scene.chat.post_chat(str(scene.show.id), scene.viewer(), f"message {n}")
    with pytest.raises(ActionRefused) as refused:
        await scene.chat.post_chat(str(scene.show.id), scene.viewer(), "one more")
    assert refused.value.code == "rate_limited"
    assert refused.value.detail == "You are posting too fast; you can post again in 2 s"
    assert len(await scene.published()) == 5


async def test_slow_mode_spaces_out_viewers_but_not_hosts(scene: Scene) -> None:
    owner = await actor_of(scene.db, scene.owner)
    await scene.chat.set_slow_mode(owner, scene.show.id, 10)
    await scene.chat.post_chat(str(scene.show.id), scene.viewer(), "first")
    with pytest.raises(ActionRefused) as refused:
        await scene.chat.post_chat(str(scene.show.id), scene.viewer(), "second")
    assert refused.value.code == "slow_mode"
    assert refused.value.detail == "Slow mode is on; you can post again in 10 s"
    await scene.chat.post_chat(str(scene.show.id), scene.viewer(scene.owner), "host 1")
    await scene.chat.post_chat(str(scene.show.id), scene.viewer(scene.owner), "host 2")
    texts = [e.text for e in await scene.published() if isinstance(e, events.ChatMessage)]
    assert texts == ["first", "host 1", "host 2"]


async def test_blocked_words_are_refused_as_whole_words(scene: Scene) -> None:
    owner = await actor_of(scene.db, scene.owner)
    await scene.chat.set_blocked_words(owner, scene.merchant.id, "scam, cheap knock-off")
    with pytest.raises(ActionRefused) as refused:
        await scene.chat.post_chat(str(scene.show.id), scene.viewer(), "This is a SCAM!")
    assert refused.value.code == "blocked_word"
    assert refused.value.detail == "“scam” is not allowed in this chat"
    await scene.chat.post_chat(str(scene.show.id), scene.viewer(), "scampi for dinner")


async def test_a_ban_holds_for_every_show_of_the_brand(scene: Scene) -> None:
    owner = await actor_of(scene.db, scene.owner)
    await scene.chat.ban(owner, scene.show.id, scene.viewer_user.id, reason="spam")
    other_show = await make_show(scene.db, scene.owner, scene.merchant, title="Next week")
    await ShowLifecycle(scene.db).stream_arrived(other_show.id)
    for show in (scene.show, other_show):
        with pytest.raises(ActionRefused) as refused:
            await scene.chat.post_chat(str(show.id), scene.viewer(), "let me in")
        assert refused.value.code == "banned"
    [banned] = await scene.published()
    assert banned == events.UserBanned(user_id=str(scene.viewer_user.id))


async def test_a_time_out_says_when_it_ends(scene: Scene) -> None:
    owner = await actor_of(scene.db, scene.owner)
    await scene.chat.time_out(owner, scene.show.id, scene.viewer_user.id, minutes=5)
    with pytest.raises(ActionRefused) as refused:
        await scene.chat.post_chat(str(scene.show.id), scene.viewer(), "sorry")
    assert refused.value.code == "timed_out"
    assert refused.value.detail in {
        "You were timed out; you can post again in 300 s",
        "You were timed out; you can post again in 299 s",
    }


async def test_viewers_cannot_moderate(scene: Scene) -> None:
    await scene.chat.post_chat(str(scene.show.id), scene.viewer(), "hello")
    [message] = await scene.chat.recent(scene.show.id)
    other = await make_user(scene.db, "other@example.com")
    with pytest.raises(NotAllowed):
        await scene.chat.remove_message(await actor_of(scene.db, other), scene.show.id, message.id)


async def test_an_appointed_moderator_removes_a_message_for_everyone(scene: Scene) -> None:
    mod = await make_user(scene.db, "mod@example.com", name="Mod")
    await scene.chat.appoint_moderator(
        await actor_of(scene.db, scene.owner), scene.merchant.id, "mod@example.com"
    )
    await scene.chat.post_chat(str(scene.show.id), scene.viewer(), "buy followers at spam.example")
    [message] = await scene.chat.recent(scene.show.id)
    await scene.chat.remove_message(await actor_of(scene.db, mod), scene.show.id, message.id)
    assert await scene.chat.recent(scene.show.id) == []
    assert (await scene.published())[-1] == events.MessageRemoved(message_id=str(message.id))


async def test_a_question_is_queued_for_the_host_and_answered_for_everyone(scene: Scene) -> None:
    await scene.chat.post_chat(str(scene.show.id), scene.viewer(), "Does it come in blue?")
    [message] = await scene.chat.recent(scene.show.id)
    await scene.chat.mark_question(str(scene.show.id), scene.viewer(), str(message.id))
    assert [q.text for q in await scene.chat.open_questions(scene.show.id)] == [
        "Does it come in blue?"
    ]
    await scene.chat.answer_question(
        await actor_of(scene.db, scene.owner), scene.show.id, message.id
    )
    assert await scene.chat.open_questions(scene.show.id) == []
    assert (await scene.published())[1:] == [
        events.QuestionMarked(message_id=str(message.id)),
        events.QuestionAnswered(message_id=str(message.id)),
    ]


async def test_the_snapshot_badges_hosts_and_moderators_as_their_messages_did(
    scene: Scene,
) -> None:
    mod = await make_user(scene.db, "mod@example.com", name="Mod")
    await scene.chat.appoint_moderator(
        await actor_of(scene.db, scene.owner), scene.merchant.id, "mod@example.com"
    )
    show_id = str(scene.show.id)
    for user, text in ((scene.owner, "Welcome!"), (mod, "Be kind"), (scene.viewer_user, "Hi")):
        await scene.chat.post_chat(show_id, scene.viewer(user), text)
    await scene.chat.post_chat(show_id, scene.viewer(scene.owner), "Starting now")

    snapshot = await ShowSnapshots(scene.db).snapshot(show_id)

    posted = [
        message for message in await scene.published() if isinstance(message, events.ChatMessage)
    ]
    assert [(m.text, m.badges) for m in snapshot.chat] == [
        ("Welcome!", ["host"]),
        ("Be kind", ["moderator"]),
        ("Hi", []),
        ("Starting now", ["host"]),
    ]
    assert [m.badges for m in posted] == [m.badges for m in snapshot.chat]
