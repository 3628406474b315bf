"""The grounding checker: model-written text may state only what the turn's tool results say.

A reply sentence is rejected when it states a price, a number (id, stock count, days), a brand,
a product name or model code ("XB13", "MX1000"), a stock claim or a policy term that is not in
the evidence: the products and passages the tools returned this turn, plus the customer's own
message (repeating "under $50" back is fine). The assistant then shows its template instead.
The checker errs on the side of rejecting: a false rejection costs some fluency, a false
acceptance could tell a customer something untrue.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from retrieval.product import Product

_MONEY = re.compile(
    r"(?:\$|usd\s*|€|£)\s*(\d{1,6}(?:,\d{3})*(?:\.\d{1,2})?)|"
    r"\b(\d{1,6}(?:\.\d{1,2})?)\s*(?:dollars?|bucks|usd)\b",
    re.I,
)
_NUMBER = re.compile(r"(?<![\w.])(\d+(?:\.\d+)?)(?![\w.])")
_IN_STOCK = re.compile(
    r"\b(in stock|available now|ready to ship|ships today|\d+ left|"
    r"plenty)\b",
    re.I,
)
_OUT_OF_STOCK = re.compile(
    r"\b(out of stock|sold out|unavailable|not available|"
    r"back ?order(?:ed)?)\b",
    re.I,
)
_POLICY = re.compile(
    r"\b(free (?:shipping|returns?|delivery)|money[- ]back|no questions asked|lifetime|"
    r"price match|restocking fee|warranty|guarantee[ds]?)\b",
    re.I,
)
# A model name or code: a word mixing letters and digits ("SRS-XB13", "MX1000", "364XL").
_MODEL_CODE = re.compile(
    r"(?<![\w-])(?=[\w-]*\d)(?=[\w-]*[A-Za-z])[A-Za-z0-9][\w-]*[A-Za-z0-9](?![\w-])"
)
SMALL_COUNT = 10  # "2 options", "the 3rd one": small counts need no evidence


@dataclass(frozen=True)
class Evidence:
    """What this turn's tools returned, and what the customer said.

    Attributes:
        products: Products in the tool results.
        passages: Policy or other text passages in the tool results.
        user_text: The customer's message.
        brands: The catalog's brand vocabulary (to spot brands the evidence lacks).
    """

    products: Sequence[Product] = ()
    passages: Sequence[str] = ()
    user_text: str = ""
    brands: Iterable[str] = ()


@dataclass
class GroundingResult:
    """The verdict on one text: grounded, or the claims that are not."""

    violations: list[str] = field(default_factory=list)

    @property
    def grounded(self) -> bool:
        """True when every checked claim is in the evidence."""
        return not self.violations


def _amount(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", ""))
    except InvalidOperation:
        return None


def check(text: str, evidence: Evidence) -> GroundingResult:
    """Check `text` against `evidence`; see the module docstring for the rules."""
    result = GroundingResult()
    sources = [p.title for p in evidence.products] + [p.id for p in evidence.products]
    sources += [p.description for p in evidence.products] + list(evidence.passages)
    sources += [v for p in evidence.products for v in p.attributes.values()]
    sources.append(evidence.user_text)
    source_text = " \n ".join(sources)
    prices = {p.price for p in evidence.products}
    for said in (evidence.user_text, *evidence.passages):
        prices |= {a for m in _MONEY.finditer(said) if (a := _amount(m[1] or m[2]))}
    numbers = {n for n in _NUMBER.findall(source_text)}
    numbers |= {str(p.stock) for p in evidence.products}
    numbers |= {f"{p.price:.2f}" for p in evidence.products} | {
        str(p.price) for p in evidence.products
    }

    money_spans = []
    for m in _MONEY.finditer(text):
        money_spans.append(m.span())
        amount = _amount(m[1] or m[2])
        if amount is None or amount not in prices:
            result.violations.append(f"price {m[0].strip()!r} is not in the tool results")
    for m in _NUMBER.finditer(text):
        if any(s <= m.start() < e for s, e in money_spans):
            continue
        value = m[1]
        if value in numbers or (value.isdigit() and int(value) <= SMALL_COUNT):
            continue
        result.violations.append(f"number {value!r} is not in the tool results")

    lowered = source_text.lower()
    for m in _MODEL_CODE.finditer(text):
        if m[0].lower() not in lowered:
            result.violations.append(f"product name {m[0]!r} is not in the tool results")
    shown_brands = {p.brand.lower() for p in evidence.products}
    for brand in evidence.brands:
        if not brand or brand.lower() in shown_brands:
            continue
        if re.search(rf"(?<![\w.]){re.escape(brand)}(?!\w)", text, re.I) and not re.search(
            rf"(?<![\w.]){re.escape(brand)}(?!\w)", lowered, re.I
        ):
            result.violations.append(f"brand {brand!r} is not in the tool results")

    if _IN_STOCK.search(text) and not any(p.stock > 0 for p in evidence.products):
        result.violations.append("claims stock, but no product in the tool results is in stock")
    if _OUT_OF_STOCK.search(text) and not any(p.stock <= 0 for p in evidence.products):
        result.violations.append("claims a product is out of stock, but none in the results is")
    for m in _POLICY.finditer(text):
        if m[0].lower() not in lowered:
            result.violations.append(f"policy term {m[0]!r} is not in the retrieved passages")
    return result


def check_sentence(text: str, evidence: Evidence) -> GroundingResult:
    """Stricter rules for the model's connecting sentence, which introduces facts code shows.

    On top of `check`: it may repeat a price only from the customer's message (never a
    product's, which it could pin on the wrong product), and it may make no stock claim at all.
    """
    result = check(text, evidence)
    said = {a for m in _MONEY.finditer(evidence.user_text) if (a := _amount(m[1] or m[2]))}
    for m in _MONEY.finditer(text):
        if _amount(m[1] or m[2]) not in said:
            result.violations.append(f"the sentence states a price ({m[0].strip()!r})")
    if _IN_STOCK.search(text) or _OUT_OF_STOCK.search(text):
        result.violations.append("the sentence makes a stock claim")
    return result
