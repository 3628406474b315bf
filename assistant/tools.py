"""The catalog tools, as LangChain tools: typed functions with docstrings.

Each tool returns `(content, artifact)`: `content` is the JSON the model and the logs see, the
artifact holds the typed results (hits, products, a comparison) that code renders from. The turn
loop invokes tools with `ToolCall`s, so every call is validated against the tool's schema and
recorded by name; the same tools can be bound to a model that calls tools itself.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from langchain_core.messages import ToolMessage
from langchain_core.tools import BaseTool, StructuredTool

from assistant.intent import SortOrder
from assistant.search import ProductSearch, whole_windows
from retrieval.lexical import query_terms, tokenize, word_alternatives
from retrieval.product import Availability, Product
from retrieval.search import Hit, SearchFilters

MAX_COMPARE = 4
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


def size_of(product: Product, key: str) -> float | None:
    """A size attribute of the product as a positive number; None when it has none."""
    try:
        value = float(product.attributes.get(key, ""))
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


# An amount of a query: "1 TB" as the parser writes capacities, '17"' as a search writes screen
# sizes ("17 inch" too), and lengths ("3 m", "10 ft", "2 metres"); a "+" after it is a lower
# bound ('27"+': at least 27 inches, as the turn writes "at least 27 inches").
_LENGTH_UNITS = r"m|cm|ft|feet|foot|metres?|meters?"
AMOUNT = re.compile(
    rf'(?<![\w.])(\d+(?:\.\d+)?)\s*(tb\b|gb\b|mb\b|inch\b|"|(?:{_LENGTH_UNITS})\b)(\+)?', re.I
)
# A unit that ends in "+" asks for at least the amount
AT_LEAST = "+"
# Hits searched for a query with a lower bound, whose matches come first (`search_products`)
_BOUNDED_DEPTH = 50
_IN_GB = {"tb": 1000.0, "gb": 1.0, "mb": 0.001}
_IN_M = {"m": 1.0, "cm": 0.01, "ft": 0.3048}
_LENGTH = re.compile(rf"(?<![\w.])(\d+(?:\.\d+)?)\s*({_LENGTH_UNITS})\b", re.I)
# A length stated in the other system is the same when within this share: 10 ft is 3.05 m,
# 6 ft 1.83 m; 3 ft (0.91 m) is no 1 m.
_LENGTH_TOLERANCE = 0.025


def _unit(written: str) -> str:
    """The unit as amounts name it: "metres" -> "m", "feet" -> "ft", '"' -> "inch"."""
    u = written.lower()
    if u in ('"', "inch"):
        return "inch"
    if u.startswith(("metre", "meter")):
        return "m"
    return "ft" if u in ("feet", "foot") else u


def _data_text(product: Product) -> str:
    """What a product's data writes: its search text and its attribute values."""
    return " ".join((product.search_text(), *product.attributes.values()))


def query_words(query: str) -> list[str]:
    """The query's words without its amounts ("usb cable 2 m" -> usb, cable)."""
    return tokenize(AMOUNT.sub(" ", query))


def lengths_of(product: Product) -> list[float]:
    """Every length the product's data states, in metres: its cable length, and the lengths
    its title and description write ("3 m", "10 ft.", "1.8m")."""
    found = [float(m[1]) * _IN_M[_unit(m[2])] for m in _LENGTH.finditer(_data_text(product))]
    cable = size_of(product, "cable_length")
    return found + ([cable] if cable is not None else [])


def states_amount(product: Product, number: str, unit: str) -> bool:
    """Whether the product's data states this amount: written out ("1 TB", "1TB", '17"',
    "17 inch"), or as its storage or memory in GB, or its screen diagonal in inches; a length
    in metres or feet, either way ("10 ft" is a 3 m cable, `lengths_of`). A unit ending in
    `AT_LEAST` asks for that amount or more ("inch+": a 32" monitor states at least 27")."""
    if unit.endswith(AT_LEAST):
        return _states_at_least(product, float(number), unit.removesuffix(AT_LEAST))
    if unit in _IN_M:  # a length, in either system
        wanted = float(number) * _IN_M[unit]
        return any(abs(v - wanted) <= _LENGTH_TOLERANCE * wanted for v in lengths_of(product))
    text = _data_text(product)
    units = r'(?:inch\b|"|-inch\b)' if unit == "inch" else rf"{unit}\b"
    if re.search(rf"(?<![\d.]){re.escape(number)}\s*{units}", text, re.I):
        return True
    if unit == "inch":
        return size_of(product, "display_diagonal") == float(number)
    wanted = float(number) * _IN_GB[unit]
    return any(size_of(product, k) == wanted for k in ("storage_capacity", "internal_memory"))


def _states_at_least(product: Product, wanted: float, unit: str) -> bool:
    """Whether the product states an amount of `unit`'s kind of at least `wanted`."""
    text = _data_text(product)
    if unit in _IN_M:
        least = wanted * _IN_M[unit] * (1 - _LENGTH_TOLERANCE)
        return any(v >= least for v in lengths_of(product))
    if unit == "inch":
        stated = [
            float(m[1])
            for m in re.finditer(r'(?<![\d.])(\d+(?:\.\d+)?)\s*(?:inch\b|"|-inch\b)', text)
        ]
        stated += [v for v in [size_of(product, "display_diagonal")] if v is not None]
        return any(v >= wanted for v in stated)
    least = wanted * _IN_GB[unit]
    stated = [
        float(m[1]) * _IN_GB[m[2].lower()]
        for m in re.finditer(r"(?<![\d.])(\d+(?:\.\d+)?)\s*(tb|gb|mb)\b", text, re.I)
    ]
    stated += [v for k in ("storage_capacity", "internal_memory") if (v := size_of(product, k))]
    return any(v >= least for v in stated)


def amounts(query: str) -> list[tuple[str, str]]:
    """The amounts a query asks for, as (number, unit): "32 GB usb flash drive" ->
    [("32", "gb")], '27" monitor' -> [("27", "inch")], "10 feet cable" -> [("10", "ft")],
    '27"+ monitor' -> [("27", "inch+")]."""
    return [(m[1], _unit(m[2]) + (m[3] or "")) for m in AMOUNT.finditer(query)]


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


def kind_test(query: str) -> Callable[[str], bool]:
    """Whether the query names a category in full, through the shop vocabulary, and with its
    last word (the head: what is wanted, "bag" in "laptop bag"): "notebook" for "gaming
    laptop", "headphones/headset" for "head set"; not "notebook" for "laptop bag", "hair
    styling set" for "head set", nor "adapter" for "hot shoe" words. An amount is no word of it
    ("usb cable 2 m" is headed by "cable"). The query is read once."""
    query = AMOUNT.sub(" ", query)
    tokens = query_words(query)
    if not tokens:
        return lambda category: False
    heads = {tokens[-1], *word_alternatives(tokens)[tokens[-1]]}
    terms = set(query_terms(query))

    def names(category: str) -> bool:
        return any(
            bool(kind) and set(kind) <= terms and bool(heads & set(kind))
            for kind in (tokenize(part) for part in category.split("/"))
        )

    return names


def headed_test(query: str) -> Callable[[str], bool]:
    """Whether a category is of the kind the query asks for: for one word, a category whose
    own last word it is ("printer": "laser printer" and "inkjet printer" too, not "printer
    supplies"; "camera": "digital camera", not "camera case"); for more, one the query names
    in full (`kind_test`)."""
    tokens = query_words(query)
    if len(tokens) != 1:
        return kind_test(query)
    heads = {tokens[0], *word_alternatives(tokens)[tokens[0]]}
    return lambda category: (tokenize(category) or [""])[-1] in heads


def matching(hits: list[Hit], query: str) -> list[bool]:
    """Which hits contain most of the query's words (or their synonyms) and state every amount
    it asks for; all do when there is no query. "netflix gift cards" is not matched by a memory
    card, "order pizza" not by a cable that mentions ordering, "32 GB usb flash drive" not by a
    16 GB one. An amount counts as stated, not as words: "hdmi cable 3 m" needs both words
    of a 3 m cable, so a 3 m VGA cable is no match."""
    asked = amounts(query)
    tokens = query_words(query)
    words = set(tokens)
    if not words and not asked:
        return [True] * len(hits)
    alternatives = word_alternatives(tokens)  # "headset" covers "head" and "set"

    def covered(terms: set[str]) -> int:
        return sum(1 for w in words if w in terms or terms & alternatives[w])

    return [
        (not words or 2 * covered(set(h.matched_terms)) > len(words))
        and all(states_amount(h.product, number, unit) for number, unit in asked)
        for h in hits
    ]


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

        elif not category:
            # By relevance, the matches of the kind the query names come first among those the
            # re-ranker scored together: "camera" shows cameras before camera cases,
            # "smartphones" phones before screen protectors.
            names = headed_test(query)

            def key(h: Hit) -> tuple[bool, Decimal | int]:
                return (not (matched[h.product.id] and names(h.product.category)), 0)

        elif bounded:

            def key(h: Hit) -> tuple[bool, Decimal | int]:
                return (not matched[h.product.id], 0)

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
