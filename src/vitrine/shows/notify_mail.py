"""The e-mails of notifications: a text and an HTML part from templates, with a signed
unsubscribe link in the body and in the List-Unsubscribe header."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from vitrine.accounts.models import Merchant, User
from vitrine.accounts.notifications import unsubscribe_token
from vitrine.core.mail import Letter
from vitrine.shows.models import Show
from vitrine.shows.reminder_models import AnnouncementKind, Notification


@dataclass
class MailComposer:
    templates: Path  # holds show_live.{txt,html} and show_cancelled.{txt,html}
    base_url: str
    secret: str

    def __post_init__(self) -> None:
        self._env = Environment(
            loader=FileSystemLoader(self.templates),
            autoescape=select_autoescape(enabled_extensions=("html",), default=False),
            undefined=StrictUndefined,
            keep_trailing_newline=True,
        )

    def unsubscribe_url(self, user_id: int) -> str:
        return f"{self.base_url}/unsubscribe/{unsubscribe_token(self.secret, user_id)}"

    def letter(
        self, notification: Notification, user: User, show: Show, merchant: Merchant
    ) -> Letter:
        name = "show_live" if notification.kind is AnnouncementKind.LIVE else "show_cancelled"
        unsubscribe = self.unsubscribe_url(user.id)
        context = {
            "user": user,
            "show": show,
            "merchant": merchant,
            "notification": notification,
            "show_url": f"{self.base_url}{notification.url}",
            "unsubscribe_url": unsubscribe,
            "starts": show.scheduled_start.strftime("%a %d %b %Y, %H:%M UTC"),
        }
        return Letter(
            to=user.email,
            subject=" ".join(notification.title.split()),  # a header holds no line breaks
            text=self._env.get_template(f"{name}.txt").render(context),
            html=self._env.get_template(f"{name}.html").render(context),
            headers=(("List-Unsubscribe", f"<{unsubscribe}>"),),
        )
