"""The typed intent of one customer message: what the model proposes and the parser reads."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SortOrder = Literal["relevance", "price_asc", "price_desc"]
# A size relative to the products shown ("bigger", "something lighter")
Size = Literal["bigger", "smaller", "longer", "shorter", "lighter", "heavier"]


class IntentName(StrEnum):
    """What the customer wants from this turn."""

    SEARCH = "search"
    REFINE = "refine"
    PRODUCT_QUESTION = "product_question"
    COMPARE = "compare"
    ADD_TO_CART = "add_to_cart"
    VIEW_CART = "view_cart"
    ORDER_STATUS = "order_status"
    RETURN_REQUEST = "return_request"
    CANCEL_ORDER = "cancel_order"
    POLICY_QUESTION = "policy_question"
    HANDOFF = "handoff"
    GREETING = "greeting"
    OTHER = "other"


# Slots only the parser reads: they are not in the schema the model decodes under, nor in its
# training targets (the adapter was trained without them; offering them changed its answers).
PARSER_ONLY_FIELDS = frozenset(
    {
        "in_stock",
        "more",
        "quantity",
        "set_quantity",
        "similar",
        "size",
        "gift",
        "recipient",
        "deals",
    }
)


class Intent(BaseModel):
    """One message, structured.

    Attributes:
        intent: What the customer wants.
        query: The product words to search for ("" when none).
        category: A product category, when named.
        brands: Brands named, as the catalog writes them.
        price_min: Lowest price wanted, in currency units.
        price_max: Highest price wanted, in currency units.
        attributes: Attribute values named ("colour": "black", "capacity": "64 GB").
        sort: A requested order.
        refs: Products shown earlier that the message points at: 1-based positions, -1 = last.
        order_id: An order number, when given.
        in_stock: Only products in stock ("only the ones in stock"); read by the parser.
        more: The next products of the active search ("show me more"); read by the parser.
        quantity: How many to add to the cart ("add 2 of the first one"); read by the parser.
        set_quantity: `quantity` is how many the cart should hold, not how many to add ("make
            it 2"); read by the parser.
        similar: Products like the one pointed at ("something similar to the first one"); read
            by the parser.
        size: A size relative to the products shown ("is there a bigger size?", "smaller
            ones", "a longer one", "something lighter"); read by the parser.
        gift: The message asks for a gift or says who the product is for ("a birthday present
            for my dad"); those words are not in the query. Read by the parser.
        recipient: Who it is for, as the reply says it ("your dad", "a 10 year old"); read by
            the parser.
        deals: The message asks for deals, sales or discounts on products ("any deals on
            headphones?"): the catalog has no sale prices, so the cheapest are shown. Read by
            the parser.
        rated: The message asks for ratings, reviews or best sellers ("best rated webcam"): the
            catalog has none, and the reply says so. Read by the parser.
    """

    model_config = ConfigDict(extra="forbid")

    intent: IntentName = IntentName.OTHER
    query: str = ""
    category: str | None = None
    brands: list[str] = Field(default_factory=list)
    price_min: Decimal | None = Field(default=None, ge=0)
    price_max: Decimal | None = Field(default=None, ge=0)
    attributes: dict[str, str] = Field(default_factory=dict)
    sort: SortOrder | None = None
    refs: list[int] = Field(default_factory=list)
    order_id: str | None = None
    in_stock: bool = False
    more: bool = False
    quantity: int = Field(default=1, ge=1, le=999)
    set_quantity: bool = False
    similar: bool = False
    size: Size | None = None
    gift: bool = False
    recipient: str | None = None
    deals: bool = False
    rated: bool = False

    @model_validator(mode="after")
    def _ordered_range(self) -> Intent:
        if (
            self.price_min is not None
            and self.price_max is not None
            and self.price_min > self.price_max
        ):
            self.price_min, self.price_max = self.price_max, self.price_min
        return self
