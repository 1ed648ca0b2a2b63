"""What a chat message may contain: plain text only, never markup, and none of the brand's
blocked words. Pure functions."""

from __future__ import annotations

import re
import unicodedata

MAX_LENGTH = 300
_CONTROL = {"Cc", "Cf", "Cs", "Co", "Cn"}


def clean_message(text: str) -> str:
    """Strip control and invisible format characters and fold runs of white space. HTML stays
    as the literal characters typed: pages render messages as text, never as markup."""
    kept = "".join(ch for ch in text if ch in " \n" or unicodedata.category(ch) not in _CONTROL)
    return re.sub(r"\s+", " ", kept).strip()


def blocked_words(setting: str) -> list[str]:
    """A brand's list, one word or phrase per line or comma."""
    return [word.strip().lower() for word in re.split(r"[,\n]", setting) if word.strip()]


def first_blocked(text: str, words: list[str]) -> str | None:
    """The first blocked word the message contains as a whole word (case-insensitive)."""
    lowered = text.lower()
    for word in words:
        if re.search(rf"(?<!\w){re.escape(word)}(?!\w)", lowered):
            return word
    return None
