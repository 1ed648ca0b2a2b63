"""Where buying is allowed: an operator setting lists the client platforms that may buy."""

from __future__ import annotations

from dataclasses import dataclass

from vitrine.commerce.errors import BuyingNotAvailable

PLATFORM_NAMES = {
    "android": "Android",
    "ios": "iOS",
    "desktop": "desktop",
    "web": "the web",
}


@dataclass(frozen=True, slots=True)
class BuyingPolicy:
    """`allowed_platforms` None means every platform may buy (the default)."""

    allowed_platforms: tuple[str, ...] | None = None

    def may_buy(self, platform: str) -> bool:
        if self.allowed_platforms is None:
            return True
        return platform.strip().lower() in self.allowed_platforms

    def check(self, platform: str) -> None:
        """Refuse a purchase from a watch-only platform, saying the show can still be watched."""
        if not self.may_buy(platform):
            name = PLATFORM_NAMES.get(platform.strip().lower(), platform.strip() or "this device")
            raise BuyingNotAvailable(
                f"Buying is not available on {name} yet; you can keep watching"
            )
