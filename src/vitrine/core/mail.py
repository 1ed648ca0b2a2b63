"""Sending e-mail through the configured SMTP server. The stdlib client runs in a worker
thread so a slow server never stalls the event loop; no server configured means no e-mail."""

from __future__ import annotations

import asyncio
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid


class MailNotSent(Exception):
    """The SMTP server refused the message or could not be reached."""


@dataclass(frozen=True, slots=True)
class Letter:
    """One e-mail to one person: a plain-text part, an HTML part, and extra headers."""

    to: str
    subject: str
    text: str
    html: str
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class SmtpMailer:
    host: str
    port: int
    sender: str
    username: str = ""
    password: str = ""
    starttls: bool = False
    timeout_s: float = 20.0

    @property
    def enabled(self) -> bool:
        return bool(self.host)

    def message(self, letter: Letter) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = letter.to
        message["Subject"] = letter.subject
        message["Message-ID"] = make_msgid(
            domain=self.sender.rpartition("@")[2].strip("> ") or None
        )
        for name, value in letter.headers:
            message[name] = value
        message.set_content(letter.text)
        message.add_alternative(letter.html, subtype="html")
        return message

    async def send(self, letter: Letter) -> None:
        """Deliver one letter; raises MailNotSent with the server's reason."""
        try:
            message = self.message(letter)
        except (ValueError, TypeError) as error:  # e.g. an address the headers cannot hold
            raise MailNotSent(f"the message could not be built: {error}") from error
        await asyncio.to_thread(self._send, message)

    def _send(self, message: EmailMessage) -> None:
        try:
            with smtplib.SMTP(self.host, self.port, timeout=self.timeout_s) as client:
                if self.starttls:
                    client.starttls(context=ssl.create_default_context())
                if self.username:
                    client.login(self.username, self.password)
                client.send_message(message)
        except (smtplib.SMTPException, OSError) as error:
            raise MailNotSent(f"{self.host}:{self.port}: {error}") from error
