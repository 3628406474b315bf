"""The catalog tools, as LangChain tools: typed functions with docstrings.

Each tool returns `(content, artifact)`: `content` is the JSON the model and the logs see, the
artifact holds the typed results (hits, products, a comparison) that code renders from. The turn
loop invokes tools with `ToolCall`s, so every call is validated against the tool's schema and
recorded by name; the same tools can be bound to a model that calls tools itself.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, StructuredTool

from assistant.intent import SortOrder
from assistant.matching import AMOUNT, headed_test, matching, query_words
from assistant.search import ProductSearch, whole_windows
from retrieval.product import Availability, Product
from retrieval.search import Hit, SearchFilters

MAX_COMPARE = 4
# Hits searched for a query with a lower bound, whose matches come first (`search_products`)
_BOUNDED_DEPTH = 50
_COMPARE_ATTRIBUTES = 8


@dataclass
class Comparison:
    """A comparison table built from product data only.

    Attributes:
        products: The compared products, in column order.
        rows: (label, one value per product); "-" where a product lacks the value.
    """

    products: list[Product]
    rows: list[tuple[str, list[str]]]


@dataclass
class ToolResult:
    """One tool call and its typed result."""

    name: str
    args: dict[str, Any]
    content: str
    artifact: Any


def money(price: Decimal, currency: str) -> str:
    """A price as the customer reads it: $1,299.00, €15.50, or "CHF 10.00"."""
    symbol = {"USD": "$", "EUR": "€", "GBP": "£"}.get(currency)
    return f"{symbol}{price:,.2f}" if symbol else f"{currency} {price:,.2f}"


def stock_phrase(stock: int) -> str:
    """What the customer is told about a stock quantity: in stock, only N left, out of stock."""
    availability = Availability.for_quantity(stock)
    if availability is Availability.OUT_OF_STOCK:
        return "out of stock"
    return f"only {stock} left" if availability is Availability.LOW_STOCK else "in stock"


# The units of the catalog's numbers (Icecat's: screen diagonals in inches, storage in GB, cable
# lengths in metres, weights in grams). Internal memory has none: Icecat states it in GB for
# some kinds and MB for others.
UNITS: dict[str, str] = {
    "display_diagonal": '"',
    "storage_capacity": " GB",
    "cable_length": " m",
    "weight": " g",
    "battery_life": " h",
}


def measure(key: str, value: str) -> str:
    """An attribute value as the customer reads it, with its unit: "1814 g", '10.1"'."""
    return f"{value}{UNITS.get(key, '')}"


def _summary(product: Product) -> dict[str, Any]:
    return {
        "id": product.id,
        "title": product.title,
        "brand": product.brand,
        "price": str(product.price),
        "currency": product.currency,
        "stock": product.stock,
        "availability": product.availability.value,
    }


def compare(products: list[Product]) -> Comparison:
    """The comparison table of `products`: price, brand, stock, category, shared attributes."""
    rows: list[tuple[str, list[str]]] = [
        ("Price", [money(p.price, p.currency) for p in products]),
        ("Brand", [p.brand or "-" for p in products]),
        ("Availability", [stock_phrase(p.stock) for p in products]),
        ("Category", [p.category for p in products]),
    ]
    counts = Counter(k for p in products for k in p.attributes)
    for key, _ in counts.most_common(_COMPARE_ATTRIBUTES):
        label = key.replace("_", " ").capitalize()
        rows.append(
            (
                label,
                [measure(key, p.attributes[key]) if key in p.attributes else "-" for p in products],
            )
        )
    return Comparison(products, rows)


class Toolbox:
    """LangChain tools made from bound methods, invoked by name with validated arguments.

    Args:
        functions: Typed methods with docstrings (Google style); each returns
            `(content, artifact)`.
    """

    def __init__(self, functions: Sequence[Callable[..., Any]]) -> None:
        self._tools: dict[str, BaseTool] = {
            f.__name__: StructuredTool.from_function(
                f, parse_docstring=True, response_format="content_and_artifact"
            )
            for f in functions
        }

    @property
    def tools(self) -> list[BaseTool]:
        """The LangChain tools (to bind to a tool-calling model, or to invoke)."""
        return list(self._tools.values())

    def call(self, name: str, args: dict[str, Any]) -> ToolResult:
        """Invoke a tool by name through LangChain (arguments validated by its schema)."""
        call = {"type": "tool_call", "name": name, "args": args, "id": uuid.uuid4().hex}
        message = self._tools[name].invoke(call)
        assert isinstance(message, ToolMessage)
        return ToolResult(name, args, str(message.content), message.artifact)


class CatalogTools(Toolbox):
    """The product tools over one `ProductSearch`.

    Args:
        search: Retrieval + re-ranking.
        candidates: Hits a price sort orders at a time (its window): the cheapest of the best
            `candidates` matches come first.
    """

    def __init__(self, search: ProductSearch, candidates: int = 20) -> None:
        self.search, self.candidates = search, candidates
        super().__init__((self.search_products, self.get_product_details, self.compare_products))

    def search_products(
        self,
        query: str,
        brands: list[str] | None = None,
        price_min: Decimal | None = None,
        price_max: Decimal | None = None,
        attributes: dict[str, str] | None = None,
        in_stock_only: bool = False,
        sort: SortOrder | None = None,
        limit: int = 5,
        category: str | None = None,
    ) -> tuple[str, list[Hit]]:
        """Search the product catalog (hybrid retrieval, then the cross-encoder re-ranker).

        Args:
            query: Product words to search for; may be empty when filters are given.
            brands: Only these brands.
            price_min: Lowest price, in currency units.
            price_max: Highest price, in currency units.
            attributes: Attribute values that must match, e.g. {"colour": "black"}.
            in_stock_only: Only products in stock.
            sort: relevance (default), price_asc or price_desc.
            limit: How many products to return.
            category: Only products of this category (as the catalog names it).
        """
        filters = SearchFilters(
            price_min=price_min,
            price_max=price_max,
            brands=tuple(brands or ()),
            attributes=attributes or {},
            in_stock=in_stock_only,
            category=category or None,
        )
        by_price = sort in ("price_asc", "price_desc")
        # A price sort orders windows of `candidates` hits; by relevance the windows are the
        # re-ranker's. Each window is ordered on its own, so a product's place does not depend
        # on `limit` and the next page goes on where the last one stopped.
        window = self.candidates if by_price else max(1, self.search.candidates)
        k = whole_windows(limit, window)
        # A lower bound ("27\"+ monitor": at least 27 inches) is also searched without its
        # amount, deeper, and the products that state enough come first, from either search and
        # any window: searched with it alone, "27" finds 27-inch monitors only, never a 32-inch
        # one; without it alone, the 27-inch ones may lie deeper than any depth searched.
        unbounded = " ".join(AMOUNT.sub(lambda m: " " if m[3] else m[0], query).split())
        bounded = unbounded != " ".join(query.split()) and bool(query_words(unbounded))
        hits = self.search.search(query, filters, k=k)
        if bounded:
            wider = self.search.search(
                unbounded, filters, k=whole_windows(max(limit, _BOUNDED_DEPTH), window)
            )
            ids = {h.product.id for h in wider}
            hits = wider + [h for h in hits if h.product.id not in ids]
        matched = dict(zip((h.product.id for h in hits), matching(hits, query), strict=True))
        if bounded:
            window = max(1, len(hits))
        if by_price:
            # The price orders the hits that match the query; the rest follow by relevance, so
            # a cheap cable never heads "bluetooth speaker, cheapest first". Kinds do not
            # count here: "cheapest HP ink cartridge" is the cheapest, whatever its category.
            sign = -1 if sort == "price_desc" else 1

            def key(h: Hit) -> tuple[bool, Decimal | int]:
                m = matched[h.product.id]
                return (not m, sign * h.product.price if m else 0)

        elif bounded:
            # the matches of the kind named first, from both searches (`ProductSearch` put
            # them first within each search's windows)
            names = headed_test(query) if not category else (lambda _: True)

            def key(h: Hit) -> tuple[bool, Decimal | int]:
                return (not (matched[h.product.id] and names(h.product.category)), 0)

        else:
            return self._listed(hits[:limit])
        hits = [  # sorted is stable: ties keep the rank
            h
            for start in range(0, len(hits), window)
            for h in sorted(hits[start : start + window], key=key)
        ]
        return self._listed(hits[:limit])

    @staticmethod
    def _listed(hits: list[Hit]) -> tuple[str, list[Hit]]:
        content = [{**_summary(h.product), "why": h.why()} for h in hits]
        return json.dumps(content, ensure_ascii=False), hits

    def get_product_details(self, product_ids: list[str]) -> tuple[str, list[Product]]:
        """Current details of products: price, stock, description, attributes.

        Args:
            product_ids: Catalog ids of the products.
        """
        products = self.search.index.get_many(product_ids)
        content = [
            {**_summary(p), "description": p.description, "attributes": p.attributes}
            for p in products
        ]
        return json.dumps(content, ensure_ascii=False), products

    def compare_products(self, product_ids: list[str]) -> tuple[str, Comparison]:
        """Compare products side by side: price, brand, stock and shared attributes.

        Args:
            product_ids: Catalog ids of 2 to 4 products.
        """
        table = compare(self.search.index.get_many(product_ids[:MAX_COMPARE]))
        content = {"products": [p.id for p in table.products], "rows": table.rows}
        return json.dumps(content, ensure_ascii=False), table
