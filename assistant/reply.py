"""What a turn shows: product cards, drafts of the reply, and the events a stream yields.

Every product fact the customer reads is rendered here by code from tool results. The model's
only contribution, the connecting sentence, is checked elsewhere (`assistant.grounding`) before
it may replace a draft's template intro.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from assistant.intent import Intent
from assistant.tools import Comparison, measure, money, stock_phrase
from retrieval.lexical import tokenize
from retrieval.product import Product
from retrieval.search import Hit


@dataclass
class ProductCard:
    """One product as the customer sees it.

    Attributes:
        alternative: True when the product does not match the request and is shown as the
            closest alternative.
        why: Why it was shown (matched terms, similarity, re-ranker score, filters).
        scores: Retrieval and re-rank scores, for the agent console.
    """

    id: str
    title: str
    brand: str
    price: Decimal
    currency: str
    stock: int
    availability: str
    image_url: str | None
    why: str
    alternative: bool = False
    scores: dict[str, float] = field(default_factory=dict)

    @classmethod
    def of(cls, product: Product, why: str, alternative: bool = False) -> ProductCard:
        """The card of a product."""
        return cls(
            id=product.id,
            title=product.title,
            brand=product.brand,
            price=product.price,
            currency=product.currency,
            stock=product.stock,
            availability=product.availability.value,
            image_url=product.image_url,
            why=why,
            alternative=alternative,
        )

    @classmethod
    def of_hit(cls, hit: Hit, alternative: bool = False) -> ProductCard:
        """The card of a search hit, with its scores."""
        card = cls.of(hit.product, hit.why(), alternative)
        card.scores = {"score": hit.score, **hit.extra_scores}
        if hit.lexical_score is not None:
            card.scores["lexical_score"] = hit.lexical_score
        if hit.dense_score is not None:
            card.scores["dense_score"] = hit.dense_score
        return card

    @property
    def price_text(self) -> str:
        """The price as the customer reads it."""
        return money(self.price, self.currency)

    def line(self, position: int) -> str:
        """The card as one numbered line of reply text."""
        stock = stock_phrase(self.stock)
        tail = " (alternative)" if self.alternative else ""
        return f"{position}. {self.title} - {self.price_text} - {stock}{tail}"

    def as_dict(self) -> dict[str, Any]:
        """The card as JSON data (price as a string: exact)."""
        return {
            "id": self.id,
            "title": self.title,
            "brand": self.brand,
            "price": str(self.price),
            "currency": self.currency,
            "stock": self.stock,
            "availability": self.availability,
            "image_url": self.image_url,
            "why": self.why,
            "alternative": self.alternative,
            "scores": self.scores,
        }


def table_text(table: Comparison) -> str:
    """A comparison as a plain-text (Markdown) table."""
    header = "| | " + " | ".join(p.title for p in table.products) + " |"
    rule = "|---" * (len(table.products) + 1) + "|"
    rows = [f"| {label} | " + " | ".join(values) + " |" for label, values in table.rows]
    return "\n".join([header, rule, *rows])


def either_of(words: list[str]) -> str:
    """Quoted words joined: 'a'; 'a' or 'b'; 'a', 'b' or 'c'."""
    quoted = [repr(w) for w in words]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]


# Endings that make another form of the same word ("record": "recording", "recorder").
_INFLECTIONS = frozenset({"s", "es", "d", "ed", "ing", "r", "er", "ers", "able"})


def mention_text(product: Product, word: str) -> str | None:
    """Where the product's data mentions `word` (an attribute, its description, its title),
    quoted; None when it does not. "does the first one come with a lens?" gets the
    description sentence that says "lens"."""
    tokens = set(tokenize(word))
    if not tokens:
        return None

    def says(text: str) -> bool:  # "record" is said by "recording", "blue" not by "bluetooth"
        return any(
            t == w or (len(w) >= 4 and t.startswith(w) and t[len(w) :] in _INFLECTIONS)
            for t in tokenize(text)
            for w in tokens
        )

    for key, value in product.attributes.items():
        if says(f"{key} {value}"):
            return f"Its {key.replace('_', ' ')} is {measure(key, value)}."
    for sentence in re.split(r"(?<=[.;!?])\s+", product.description):
        if says(sentence):
            quoted = sentence if len(sentence) <= 160 else sentence[:157].rstrip() + "..."
            return f'Its description says: "{quoted}"'
    if says(f"{product.title} {product.category}"):
        return f"Its title mentions {word!r}."
    return None


# How a reply names an attribute where its key would not read well
LABELS = {"display_diagonal": "screen size"}


def details_text(
    product: Product, asked: list[str], full: bool, about: list[str] | None = None
) -> str:
    """The answer to a question about one product, from its data only.

    Args:
        product: The product.
        asked: Attribute names the question mentions.
        full: Also give the description and the main attributes.
        about: Other words the question asks about ("lens"): where the data mentions each.
    """
    parts = [
        f"{product.title}: {money(product.price, product.currency)}, {stock_phrase(product.stock)}."
    ]
    for key in asked:
        label = LABELS.get(key, key.replace("_", " "))
        value = product.attributes.get(key)
        parts.append(
            f"Its {label} is {measure(key, value)}."
            if value
            else f"The catalog does not list its {label}."
        )
    mentions = {word: mention_text(product, word) for word in about or []}
    parts += list(dict.fromkeys(text for text in mentions.values() if text))
    unmentioned = [word for word, text in mentions.items() if text is None]
    if unmentioned:
        parts.append(f"Its product data does not mention {either_of(unmentioned)}.")
    if full:
        if product.description:
            parts.append(product.description[:300])
        for key, value in list(product.attributes.items())[:5]:
            if key not in asked:
                parts.append(f"{key.replace('_', ' ').capitalize()}: {measure(key, value)}.")
    return " ".join(parts)


@dataclass
class Draft:
    """A reply before the model's sentence: what code says and what it may show.

    Attributes:
        intro: The template sentence the model's sentence may replace.
        body: Code-rendered facts (numbered product lines, a table, an answer).
        cards: The products shown, in order.
        evidence: Every product the turn's tools returned (the grounding evidence).
        passages: Text the tools returned (policies, what was searched).
        tools_called: Tool names, in call order.
        table: The comparison, when one was made.
        model_may_write: Whether the model is asked for the connecting sentence.
        shown: The new "shown" list for references; None keeps the previous one.
        subject: The product the conversation is now about; None keeps the previous one.
        refs: Positions in the previous list that this turn's subject was taken from.
        handoff: The conversation was handed to a human.
        state_changed: A store action changed state (an order cancelled, a return created).
        why: Why the products of `shown` were chosen, for a customer who asks "why?" next.
    """

    intro: str
    body: str = ""
    cards: list[ProductCard] = field(default_factory=list)
    evidence: list[Product] = field(default_factory=list)
    passages: list[str] = field(default_factory=list)
    tools_called: list[str] = field(default_factory=list)
    table: Comparison | None = None
    model_may_write: bool = False
    shown: list[str] | None = None
    subject: str | None = None
    refs: list[int] = field(default_factory=list)
    handoff: bool = False
    state_changed: bool = False
    why: str = ""

    def text(self, intro: str | None = None) -> str:
        """The reply: the intro (or the model's sentence instead) and the body."""
        return "\n".join(p for p in ((intro or self.intro), self.body) if p)


@dataclass
class TurnResult:
    """One finished turn.

    Attributes:
        reply: The text shown to the customer.
        products: The cards shown, in order.
        intent: The extracted (merged) intent.
        source: "merged" or "parser" (see `Extraction`).
        grounded: The whole reply passed the grounding checker.
        fallback: The model was wanted but not used (down, invalid, or its text was rejected).
        fault: What went wrong with the model, if anything.
        violations: Why the model's sentence was rejected, if it was.
        wrote: The reply holds a sentence the model wrote (it passed the checkers).
        seconds: Wall time of the turn.
        timings: Seconds spent extracting, running tools and writing the sentence.
    """

    session_id: str
    message: str
    reply: str
    products: list[ProductCard]
    intent: Intent
    source: str
    grounded: bool
    fallback: bool
    tools_called: list[str]
    table: Comparison | None = None
    refs: list[int] = field(default_factory=list)
    handoff: bool = False
    state_changed: bool = False
    fault: str | None = None
    violations: list[str] = field(default_factory=list)
    wrote: bool = False
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The turn as JSON data; `products` holds the ids, `cards` the full cards."""
        return {
            "reply": self.reply,
            "products": [c.id for c in self.products],
            "intent": self.intent.model_dump(mode="json"),
            "grounded": self.grounded,
            "fallback": self.fallback,
            "session": self.session_id,
            "source": self.source,
            "tools_called": self.tools_called,
            "refs": self.refs,
            "handoff": self.handoff,
            "state_changed": self.state_changed,
            "cards": [c.as_dict() for c in self.products],
            "table": (
                None
                if self.table is None
                else {"products": [p.id for p in self.table.products], "rows": self.table.rows}
            ),
            "fault": self.fault,
            "violations": self.violations,
            "wrote": self.wrote,
            "seconds": round(self.seconds, 3),
            "timings": self.timings,
        }


@dataclass
class Status:
    """A stream event: what the assistant is doing now (tool phase)."""

    stage: str
    text: str


@dataclass
class TextDelta:
    """A stream event: the next piece of checked reply text."""

    text: str


@dataclass
class TurnDone:
    """The last stream event: the finished turn."""

    result: TurnResult


Event = Status | TextDelta | TurnDone
