"""The buying side's refusals, each with a message the shopper or host can act on."""

from __future__ import annotations

from vitrine.core.errors import Conflict, NotAllowed, Unavailable, VitrineError


class SoldOut(Conflict):
    title = "Sold out"


class DealClosed(Conflict):
    """The deal has not started yet or has ended."""

    title = "Deal closed"


class LimitReached(Conflict):
    title = "Limit reached"


class KeyReused(Conflict):
    """A client idempotency key sent again for something else than its first purchase."""

    title = "Key already used"


class DealsPaused(Unavailable):
    """The deal gate (Redis) is not answering: nobody wins until it is back, nobody oversells."""

    title = "Deals paused"

    def __init__(self) -> None:
        super().__init__("Deals are paused for a moment; try again", retry_after_s=2)


class BuyingNotAvailable(NotAllowed):
    """This client platform may watch but not buy."""

    title = "Buying not available here"


class ProductUnavailable(Conflict):
    """A product in the cart is archived or no longer sold."""

    title = "Product unavailable"


class PaymentDeclined(VitrineError):
    status = 402
    title = "Payment declined"


class WebhookRefused(VitrineError):
    """A webhook whose signature or timestamp does not check out."""

    status = 400
    title = "Webhook refused"
