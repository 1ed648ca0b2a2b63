"""Who may see a brand's figures: its own people, and the operator of this Vitrine."""

from __future__ import annotations

from vitrine.accounts.actor import Actor
from vitrine.core.errors import NotAllowed, NotSignedIn


def require_analytics(actor: Actor, merchant_id: int) -> None:
    """Refuse anyone who neither works for the brand nor operates the platform."""
    if not actor.signed_in:
        raise NotSignedIn("Sign in to see this brand's analytics")
    if not (actor.is_operator or actor.works_for(merchant_id)):
        raise NotAllowed("Only this brand's people can see its analytics")
