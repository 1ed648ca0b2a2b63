"""Who is asking: a guest, a signed-in person with their roles, or a partner's API token.
Every domain service takes an Actor and checks it, so rules hold for pages and API alike."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from vitrine.accounts.models import MemberRole
from vitrine.core.errors import NotAllowed, NotSignedIn

_CATALOG_ROLES = frozenset({MemberRole.OWNER, MemberRole.STAFF})


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: int | None = None
    display_name: str = ""
    is_operator: bool = False
    memberships: Mapping[int, MemberRole] = field(default_factory=dict)
    via_api_token: bool = False

    @property
    def signed_in(self) -> bool:
        return self.user_id is not None or self.via_api_token

    def require_signed_in(self) -> int:
        """The user id, or a clear refusal for guests."""
        if self.user_id is None:
            raise NotSignedIn("Sign in to do this")
        return self.user_id

    def works_for(self, merchant_id: int) -> bool:
        return merchant_id in self.memberships

    def manages(self, merchant_id: int) -> bool:
        """Owner or staff: may edit the catalog, schedule shows and see orders."""
        return self.memberships.get(merchant_id) in _CATALOG_ROLES

    def require_manager(self, merchant_id: int) -> None:
        if not self.signed_in:
            raise NotSignedIn("Sign in to manage this brand")
        if not self.manages(merchant_id):
            raise NotAllowed("Only this brand's owner and staff can do this")

    def require_operator(self) -> None:
        if not self.signed_in:
            raise NotSignedIn("Sign in as the operator")
        if not self.is_operator:
            raise NotAllowed("Only the operator of this Vitrine can do this")


GUEST = Actor()
