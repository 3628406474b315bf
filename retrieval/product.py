"""The product record the whole system speaks about.

Prices are exact: `price` is a `Decimal` in currency units (49.95), never a float, so that no
arithmetic on it drifts. Every write carries a `version`; the index applies a change only when its
version is newer than the one it holds, which makes updates idempotent and ordered per product.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

LOW_STOCK_THRESHOLD = 5
# Upper bounds, so that a mistyped feed value is rejected instead of stored: the filter columns
# hold prices in int64 cents and stock as int64, and Chroma stores metadata integers as int64.
MAX_PRICE = Decimal("1000000000")
MAX_STOCK = 1_000_000_000
MAX_VERSION = 2**63 - 1


class Availability(StrEnum):
    """What a customer is told about stock."""

    IN_STOCK = "in_stock"
    LOW_STOCK = "low_stock"
    OUT_OF_STOCK = "out_of_stock"

    @classmethod
    def for_quantity(cls, stock: int) -> Availability:
        """The availability that a stock quantity implies."""
        if stock <= 0:
            return cls.OUT_OF_STOCK
        if stock <= LOW_STOCK_THRESHOLD:
            return cls.LOW_STOCK
        return cls.IN_STOCK


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class Product(BaseModel):
    """One sellable product.

    Attributes:
        id: Stable catalog id (the Icecat id for Icecat products).
        title: Display title.
        brand: Brand (Icecat's supplier).
        description: Short description, possibly empty.
        price: Price in currency units, exact.
        currency: ISO 4217 code.
        stock: Units on hand; `availability` is derived from it.
        category: Lower-case category phrase ("toner cartridge", "bluetooth speaker").
        attributes: Specification values by name ("colour": "black").
        image_url: A product image, or None.
        version: Monotonic per product; a write with a version not newer than the stored one is
            ignored.
        updated_at: When this version was written.
    """

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1, max_length=128)
    title: str = Field(min_length=1)
    brand: str = ""
    description: str = ""
    price: Decimal = Field(ge=0, le=MAX_PRICE, decimal_places=2)
    currency: str = Field(default="USD", min_length=3, max_length=3)
    stock: int = Field(default=0, ge=0, le=MAX_STOCK)
    category: str = "other"
    attributes: dict[str, str] = Field(default_factory=dict)
    image_url: str | None = None
    version: int = Field(default=1, ge=0, le=MAX_VERSION)
    updated_at: datetime = Field(default_factory=utcnow)

    @field_validator("price", mode="before")
    @classmethod
    def _no_float_drift(cls, value: Any) -> Any:
        # A float such as 49.95 goes through its shortest repr, never its binary expansion.
        if isinstance(value, float):
            return Decimal(repr(value))
        return value

    @property
    def availability(self) -> Availability:
        """In stock, low stock or out of stock, from `stock`."""
        return Availability.for_quantity(self.stock)

    @property
    def in_stock(self) -> bool:
        """Whether at least one unit is on hand."""
        return self.stock > 0

    @property
    def price_cents(self) -> int:
        """The price in integer cents."""
        return int((self.price * 100).to_integral_value())

    def search_text(self) -> str:
        """The text that is embedded and indexed lexically (no price or stock in it)."""
        parts = [self.title, self.brand, self.category, self.description]
        return " . ".join(p for p in parts if p)

    def text_hash(self) -> str:
        """A digest of `search_text()`: equal hashes mean no re-embedding is needed."""
        return hashlib.sha1(self.search_text().encode("utf-8")).hexdigest()

    def public_dict(self) -> dict[str, Any]:
        """The product as plain JSON data, price as a number in currency units."""
        data = self.model_dump(mode="json")
        data["price"] = float(self.price)
        data["availability"] = self.availability.value
        return data
