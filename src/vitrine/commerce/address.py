"""A shipping address, checked field by field with messages a shopper can act on."""

from __future__ import annotations

from dataclasses import dataclass

from vitrine.core.errors import ValidationFailed


@dataclass(frozen=True, slots=True)
class ShippingAddress:
    name: str
    line1: str
    postal_code: str
    city: str
    country: str  # ISO 3166-1 alpha-2, e.g. "FR"
    line2: str = ""

    def checked(self) -> ShippingAddress:
        """The address trimmed and upper-cased where it should be, or ValidationFailed."""
        clean = ShippingAddress(
            name=self.name.strip(),
            line1=self.line1.strip(),
            postal_code=self.postal_code.strip().upper(),
            city=self.city.strip(),
            country=self.country.strip().upper(),
            line2=self.line2.strip(),
        )
        errors: dict[str, str] = {}
        for field, value, limit in (
            ("name", clean.name, 100),
            ("line1", clean.line1, 200),
            ("postal_code", clean.postal_code, 20),
            ("city", clean.city, 100),
        ):
            if not value:
                errors[field] = "Required for delivery"
            elif len(value) > limit:
                errors[field] = f"Keep it under {limit} characters"
        if len(clean.line2) > 200:
            errors["line2"] = "Keep it under 200 characters"
        if len(clean.country) != 2 or not clean.country.isalpha() or not clean.country.isascii():
            errors["country"] = "Use the two-letter country code, such as FR or US"
        if errors:
            raise ValidationFailed(errors)
        return clean

    def columns(self) -> dict[str, str]:
        """The order's ship_* columns."""
        return {
            "ship_name": self.name,
            "ship_line1": self.line1,
            "ship_line2": self.line2,
            "ship_postal_code": self.postal_code,
            "ship_city": self.city,
            "ship_country": self.country,
        }
