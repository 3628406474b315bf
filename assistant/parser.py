"""The deterministic floor of intent extraction: prices, brands, ordinals, order numbers, sizes.

Every turn gets a correct reading from this parser, whatever the model does: the model may add
to it, but the assistant never lets the model replace a number or brand read here with one that
is not in the text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal

from assistant.intent import Intent, IntentName, SortOrder

_NUM = r"(\d{1,6}(?:[.,]\d{1,2})?)"
_CUR = r"(?:\$|usd\s*|eur\s*|€|£)?"
_UNIT = r"(?:\s*(?:dollars?|bucks|usd|euros?))?"
PRICE = _CUR + _NUM + _UNIT

_BETWEEN = re.compile(rf"\b(?:between|from)\s+{PRICE}\s*(?:and|to|-)\s*{PRICE}", re.IGNORECASE)
_RANGE = re.compile(
    rf"{_CUR}{_NUM}\s*(?:-|–|to)\s*{_CUR}{_NUM}{_UNIT}(?=\s|$|[?.!,])", re.IGNORECASE
)
_MAX = re.compile(
    rf"\b(?:under|below|less than|cheaper than|no more than|at most|max(?:imum)?|up to|"
    rf"within|<=?)\s*{PRICE}",
    re.IGNORECASE,
)
_MIN = re.compile(
    rf"\b(?:over|above|more than|at least|min(?:imum)?|from|starting at|>=?)\s*{PRICE}",
    re.IGNORECASE,
)
_AROUND = re.compile(rf"\b(?:around|about|roughly|approximately|~)\s*{PRICE}", re.IGNORECASE)
_BARE_DOLLAR = re.compile(r"\$\s*(\d{1,6}(?:\.\d{1,2})?)")

_ORDER = re.compile(
    r"\border\s*(?:number|no\.?|num|id|#)?\s*[:#]?\s*([A-Z]{0,3}-?\d{3,10})\b", re.IGNORECASE
)
_ORDINALS = {
    "first": 1,
    "1st": 1,
    "second": 2,
    "2nd": 2,
    "third": 3,
    "3rd": 3,
    "fourth": 4,
    "4th": 4,
    "fifth": 5,
    "5th": 5,
    "sixth": 6,
    "6th": 6,
    "seventh": 7,
    "7th": 7,
    "eighth": 8,
    "8th": 8,
    "ninth": 9,
    "9th": 9,
    "tenth": 10,
    "10th": 10,
    "last": -1,
    "final": -1,
}
_ORDINAL = re.compile(
    r"\b(" + "|".join(_ORDINALS) + r")\b(?:\s+(?:one|item|product|option|result))?",
    re.IGNORECASE,
)
_NUMBERED = re.compile(
    r"(?:#|\bnumber\s+|\bno\.\s*|\bitem\s+|\boption\s+)(\d{1,2})\b", re.IGNORECASE
)
_CAPACITY = re.compile(r"\b(\d{1,4}(?:\.\d)?)\s*(gb|tb|mb)\b", re.IGNORECASE)
_SCREEN = re.compile(r"\b(\d{1,2}(?:\.\d)?)\s*(?:\"|inch(?:es)?|in\b|-inch)", re.IGNORECASE)
COLOURS = (
    "black",
    "white",
    "red",
    "blue",
    "green",
    "grey",
    "gray",
    "silver",
    "gold",
    "pink",
    "purple",
    "yellow",
    "orange",
    "brown",
    "beige",
    "rose gold",
)
_COLOUR = re.compile(r"\b(" + "|".join(COLOURS) + r")\b", re.IGNORECASE)

_INTENT_RULES: list[tuple[IntentName, re.Pattern[str]]] = [
    (
        IntentName.HANDOFF,
        re.compile(
            r"\b(human|real person|agent|representative|someone|operator|talk to (?:a|some)one|"
            r"speak to (?:a|some)one|customer service)\b",
            re.I,
        ),
    ),
    (IntentName.CANCEL_ORDER, re.compile(r"\bcancel\b", re.I)),
    (
        IntentName.RETURN_REQUEST,
        re.compile(
            r"\b(return (?:it|this|that|them|my|the|an?)|want to return|send (?:it|this) back|"
            r"refund|rma)\b",
            re.I,
        ),
    ),
    (
        IntentName.POLICY_QUESTION,
        re.compile(
            r"\b(polic(?:y|ies)|warranty|guarantee|shipping (?:cost|time|fee)|delivery time|"
            r"how long .*(?:return|ship|deliver)|return window|privacy|payment methods?|"
            r"do you ship)\b",
            re.I,
        ),
    ),
    (
        IntentName.ORDER_STATUS,
        re.compile(
            r"\b(where is my|track(?:ing)?|order status|status of (?:my )?order|my orders?|"
            r"has (?:it|my order) shipped|when will .* arrive)\b",
            re.I,
        ),
    ),
    (
        IntentName.ADD_TO_CART,
        re.compile(
            r"\b(add (?:it|this|that|them|the|one|\w+ )?.*to (?:my |the )?(?:cart|basket)|"
            r"add to (?:cart|basket)|i'?ll take|buy (?:it|this|that|the)|put .* in (?:my |the )?"
            r"(?:cart|basket))\b",
            re.I,
        ),
    ),
    (
        IntentName.VIEW_CART,
        re.compile(
            r"\b(my (?:cart|basket)|what(?:'s| is) in (?:my|the) (?:cart|basket)|view (?:cart|"
            r"basket)|show (?:my|the) (?:cart|basket))\b",
            re.I,
        ),
    ),
    (
        IntentName.COMPARE,
        re.compile(
            r"\b(compare|comparison|vs\.?|versus|difference between|which is better)\b", re.I
        ),
    ),
]
_GREETING = re.compile(
    r"^\s*(hi|hello|hey|good (?:morning|afternoon|evening)|howdy|hiya|greetings)\b[\s!.,]*"
    r"(there|team|all)?[\s!.,]*$",
    re.I,
)
_REFINE = re.compile(
    r"^\s*(?:only|just|cheaper|less expensive|more expensive|something cheaper|show (?:me )?"
    r"(?:more|cheaper|only)|what about|any in|in (?:black|white|red|blue)|under|below|"
    r"over|above|sort|by price)\b",
    re.I,
)
_QUESTION = re.compile(
    r"\b(in stock|available|how much|price of|does (?:it|this|that)|is (?:it|this|that)|"
    r"what (?:is|are) the|tell me (?:more )?about|details|specs?|colou?rs?|dimensions|"
    r"weight|compatible)\b",
    re.I,
)
_SORT_ASC = re.compile(r"\b(cheapest|lowest price|price low to high|sort by price)\b", re.I)
_SORT_DESC = re.compile(r"\b(most expensive|highest price|price high to low|premium)\b", re.I)
_FILLER = re.compile(
    r"\b(i|i'm|im|me|my|we|you|your|a|an|the|some|any|please|pls|looking|look|for|want|"
    r"wanna|need|would|like|to|buy|get|find|show|search|do|have|got|can|could|is|are|it|"
    r"one|ones|that|this|with|and|or|of|in|on|at|cheap|cheaper|good|best|new|only|just|"
    r"something|anything|stock|price|prices|priced|dollars?|bucks|usd|hi|hello|hey|thanks?|"
    r"what|which|there)\b",
    re.I,
)


_PRODUCT_INTENTS = {
    IntentName.SEARCH,
    IntentName.REFINE,
    IntentName.PRODUCT_QUESTION,
    IntentName.COMPARE,
}


def _amount(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


class MessageParser:
    """Reads the facts of a message that need no model.

    Args:
        brands: The catalog's brand vocabulary (as written in the catalog).
        categories: Category phrases the catalog knows (lower case).
    """

    def __init__(self, brands: Iterable[str] = (), categories: Iterable[str] = ()) -> None:
        names = sorted({b for b in brands if b.strip()}, key=len, reverse=True)
        self._brands = [
            (b, re.compile(r"(?<![\w.])" + re.escape(b) + r"(?![\w])", re.I)) for b in names
        ]
        self._categories = sorted({c.lower() for c in categories if c}, key=len, reverse=True)
        self.brand_names = {name for name, _ in self._brands}

    def parse(self, text: str) -> Intent:
        """The deterministic reading of `text` (intent by keyword rules, slots by pattern)."""
        work = " ".join(text.split())
        lo, hi, spans = self._prices(work)
        order = _ORDER.search(work)
        order_id = order.group(1).upper() if order else None
        if order:
            spans.append(order.span())
        refs = self._refs(work)
        brands = [name for name, pat in self._brands if pat.search(work)]
        brands = [b for b in brands if not any(b != o and b.lower() in o.lower() for o in brands)]
        attributes = self._attributes(work)
        category = next(
            (c for c in self._categories if re.search(rf"\b{re.escape(c)}s?\b", work, re.I)), None
        )
        intent = self._intent(work, refs, order_id, bool(lo or hi or brands or attributes))
        sort: SortOrder | None = None
        if _SORT_ASC.search(work):
            sort = "price_asc"
        elif _SORT_DESC.search(work):
            sort = "price_desc"
        wants_products = intent in _PRODUCT_INTENTS
        return Intent(
            intent=intent,
            query=self._query(work, spans, brands) if wants_products else "",
            category=category,
            brands=brands,
            price_min=lo,
            price_max=hi,
            attributes=attributes,
            sort=sort,
            refs=refs,
            order_id=order_id,
        )

    def _prices(self, text: str) -> tuple[Decimal | None, Decimal | None, list[tuple[int, int]]]:
        lo = hi = None
        spans: list[tuple[int, int]] = []
        m = _BETWEEN.search(text) or _RANGE.search(text)
        if m:
            a, b = _amount(m.group(1)), _amount(m.group(2))
            return min(a, b), max(a, b), [m.span()]
        m = _MAX.search(text)
        if m:
            hi = _amount(m.group(1))
            spans.append(m.span())
        m = _MIN.search(text)
        if m and not (spans and spans[0][0] <= m.start() < spans[0][1]):
            lo = _amount(m.group(1))
            spans.append(m.span())
        m = _AROUND.search(text)
        if m and lo is None and hi is None:
            mid = _amount(m.group(1))
            lo, hi = (
                (mid * Decimal("0.8")).quantize(Decimal("0.01")),
                (mid * Decimal("1.2")).quantize(Decimal("0.01")),
            )
            spans.append(m.span())
        if lo is None and hi is None:
            bare = _BARE_DOLLAR.search(text)
            if bare:
                hi = _amount(bare.group(1))
                spans.append(bare.span())
        return lo, hi, spans

    @staticmethod
    def _refs(text: str) -> list[int]:
        refs = [_ORDINALS[m.group(1).lower()] for m in _ORDINAL.finditer(text)]
        refs += [int(m.group(1)) for m in _NUMBERED.finditer(text) if not _ORDER.search(text)]
        return list(dict.fromkeys(refs))

    @staticmethod
    def _attributes(text: str) -> dict[str, str]:
        out: dict[str, str] = {}
        colour = _COLOUR.search(text)
        if colour:
            out["colour"] = colour.group(1).lower().replace("gray", "grey")
        cap = _CAPACITY.search(text)
        if cap:
            out["capacity"] = f"{cap.group(1)} {cap.group(2).upper()}"
        screen = _SCREEN.search(text)
        if screen:
            out["screen_size"] = f"{screen.group(1)} inch"
        return out

    @staticmethod
    def _intent(text: str, refs: list[int], order_id: str | None, has_filters: bool) -> IntentName:
        if not text.strip():
            return IntentName.OTHER
        if _GREETING.match(text):
            return IntentName.GREETING
        for name, pattern in _INTENT_RULES:
            if pattern.search(text):
                return name
        if order_id:
            return IntentName.ORDER_STATUS
        if refs and (_QUESTION.search(text) or text.rstrip().endswith("?")):
            return IntentName.PRODUCT_QUESTION
        if _REFINE.match(text):
            return IntentName.REFINE
        if refs:
            return IntentName.PRODUCT_QUESTION
        content = _FILLER.sub(" ", re.sub(r"[^\w\s'-]", " ", text))
        if re.search(r"[a-z]{2,}", content, re.I) or has_filters:
            return IntentName.SEARCH
        return IntentName.OTHER

    @staticmethod
    def _query(text: str, spans: list[tuple[int, int]], brands: list[str]) -> str:
        for start, end in sorted(spans, reverse=True):
            text = text[:start] + " " + text[end:]
        text = _ORDINAL.sub(" ", text)
        text = re.sub(r"[^\w\s'.-]", " ", text)
        text = _FILLER.sub(" ", text)
        return " ".join(w.strip(".'-") for w in text.split() if w.strip(".'-"))
