"""What a query asks of a product, read by code: its amounts ("32 GB", '27"', "at least 3 m"),
whether a hit holds its words (`matching`), and the kind of product it names (`kind_test`,
`headed_test`), by which `kind_first` orders hits: the matches of the kind named first.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

from retrieval.lexical import query_terms, tokenize, word_alternatives
from retrieval.product import Product
from retrieval.search import Hit


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


def kind_first(hits: list[Hit], query: str, window: int) -> list[Hit]:
    """The hits with the matches of the kind the query names first (they hold its words, and
    their category is the kind: `matching`, `headed_test`), in windows of `window` hits: within
    each window, in their order. "Camera" shows cameras before camera cases, "tablet" tablets
    before stands; a hit's place never depends on how many hits there are past its window."""
    if not hits or not query_words(query):
        return hits
    names = headed_test(query)
    first = [
        m and names(h.product.category) for h, m in zip(hits, matching(hits, query), strict=True)
    ]
    order = [
        i
        for start in range(0, len(hits), window)
        for i in sorted(range(start, min(start + window, len(hits))), key=lambda i: not first[i])
    ]
    return [hits[i] for i in order]
