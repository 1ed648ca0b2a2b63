"""The buying side's refusals, each with a message the shopper or host can act on."""

from __future__ import annotations

from vitrine.core.errors import Conflict, NotAllowed, VitrineError


class SoldOut(Conflict):
    title = "Sold out"


class DealClosed(Conflict):
    """The deal has not started yet or has ended."""

    title = "Deal closed"


class LimitReached(Conflict):
    title = "Limit reached"


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
