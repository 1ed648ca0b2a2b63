"""A real SMTP server on 127.0.0.1 (aiosmtpd) that keeps every message it receives, and the
settings and notifier of an instance that mails through it."""

from __future__ import annotations

import email
import email.policy
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from tests.browser.conftest import free_port
from vitrine.config import Settings
from vitrine.core.db import Database
from vitrine.shows.notify import Notifier
from vitrine.wiring import notifier_for


@dataclass
class Mailbox:
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [message for message in self.messages if message["To"] == address]


@dataclass
class SmtpServer:
    host: str
    port: int
    mailbox: Mailbox


def running_smtp() -> Iterator[SmtpServer]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield SmtpServer("127.0.0.1", port, mailbox)
    controller.stop()


def mail_settings(database_url: str, tmp_path: Path, smtp: SmtpServer | None) -> Settings:
    return Settings(
        data_dir=tmp_path / "var",
        database_url=database_url,
        secret_key="test-secret-key-" + "x" * 32,
        live_port=0,
        public_url="https://shop.example",
        smtp_host=smtp.host if smtp else "",
        smtp_port=smtp.port if smtp else 25,
        notify_sweep_s=0,
    )


def make_notifier(db: Database, settings: Settings) -> Notifier:
    """Built as the app builds it, with the same secret, in the test's own event loop."""
    return notifier_for(settings, db, settings.secret_key)


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())
