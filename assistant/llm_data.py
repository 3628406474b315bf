"""Training data for the LoRA-tuned model: intents and connecting sentences, labelled by
construction.

Product words are real customer wording (Home Depot search terms, the Icecat judgment queries,
the demo catalog's categories); templates wrap them with prices, ranges, brands (the demo
catalog's), colours, sizes, ordinals, order numbers, refinements and service requests. Each
template knows the `Intent` it encodes, so every label is exact. Messages of the evaluation set
(`tests/data/intent_set.jsonl`) are excluded, and so are product phrases whose words equal the
words of one of its gold queries.

The tuned model sees a short prompt (`intent_messages`, `reply_messages`): a one-line system
prompt and the message, no few-shot examples (those are what the base model copies). Its intent
target is compact JSON with only the non-default fields (`intent_target`); "around $X" is
written `"price_around": X`, the number the message states, and code computes the range
(`Proposal`).
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import Field

from assistant.chat_model import Message
from assistant.intent import PARSER_ONLY_FIELDS, Intent
from assistant.parser import around
from retrieval.product import Product

# Words a query label never holds (the parser's filler); a phrase containing one is skipped, so
# that the label's words are exactly the phrase's words.
_STOP = {"a", "an", "the", "for", "with", "and", "of", "to", "in", "on", "or", "by", "at"}
_FILLER = set(
    "i im me my we us our you your some any all please pls looking look want wanna need would "
    "like buy get find show search sell offer do does did have has had got can could will is "
    "are was were am be it its they them one that this from about than so also cheap good best "
    "new something anything stock price prices priced dollar dollars bucks usd euro euros hi "
    "hello hey thanks thank what which where when how much many there here tell know let more "
    "less compare comparison vs versus difference between better sort sorted only just cheaper "
    "under over below above instead same but else ones these those order cart basket return "
    "refund cancel human agent policy shipping warranty first second third last".split()
)
COLOURS = ("black", "white", "red", "blue", "green", "grey", "silver", "gold", "pink", "purple")
_ALL_COLOURS = set(COLOURS) | {"gray", "yellow", "orange", "brown", "beige", "rose"}
_UNIT = re.compile(r"\d\s*(gb|tb|mb|inch|in\b|\")|\$|%|\binch", re.I)
_PHRASE_TOKEN = re.compile(r"[a-z0-9][a-z0-9./-]*")
PRICES = (10, 15, 20, 25, 30, 35, 40, 50, 60, 75, 80, 100, 120, 150, 200, 250, 300, 500, 800)
_ORDINAL_WORDS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", 6: "sixth"}
_ORDINAL_SHORT = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", 5: "5th", 6: "6th"}


@dataclass(frozen=True)
class Example:
    """One supervised example.

    Attributes:
        kind: "intent" or "reply".
        group: The template and phrase it came from; the validation split holds out whole groups.
        messages: The prompt (system and user message).
        target: What the model should answer.
        text: The customer's message.
    """

    kind: str
    group: str
    messages: tuple[Message, ...]
    target: str
    text: str


def _prompt(name: str) -> str:
    return (resources.files("assistant") / "prompts" / name).read_text(encoding="utf-8").strip()


def intent_messages(text: str) -> list[Message]:
    """The tuned model's intent prompt: a one-line system prompt and the message."""
    return [Message("system", _prompt("intent_short.md")), Message("user", text)]


def reply_messages(customer: str, titles: Sequence[str]) -> list[Message]:
    """The tuned model's prompt for the sentence that introduces a product list."""
    listing = "\n".join(f"- {t}" for t in titles)
    return [
        Message("system", _prompt("reply_short.md")),
        Message("user", f"Customer: {customer}\nProducts:\n{listing}"),
    ]


class Proposal(Intent):
    """What the model answers: an `Intent`, and "around $X" as the number X alone.

    The model copies numbers well and does arithmetic badly: asked for the two ends of "around
    $50", the adapter wrote one bound of 50 (7 of blind set 3's 20 slot misses). So it writes
    `price_around` and code computes the range, as the parser reads it (`parser.around`).

    Attributes:
        price_around: The amount of "around $X", in currency units.
    """

    price_around: Decimal | None = Field(default=None, ge=0)

    def to_intent(self) -> Intent:
        """The intent, with `price_around` as the range it means (for the ends not given)."""
        data = self.model_dump(exclude={"price_around"})
        if self.price_around is not None:
            low, high = around(self.price_around)
            data["price_min"] = low if self.price_min is None else self.price_min
            data["price_max"] = high if self.price_max is None else self.price_max
        return Intent.model_validate(data)


def read_target(text: str) -> Intent:
    """The model's JSON answer (or a target) as an `Intent`.

    Raises:
        pydantic.ValidationError: It is not JSON, or not a valid `Proposal`.
    """
    return Proposal.model_validate_json(text).to_intent()


def json_number(value: Decimal) -> int | float:
    """An amount as JSON writes it: 50, not 50.0; 49.99."""
    return int(value) if value == value.to_integral_value() else float(value)


# The order of a target's fields, which the decoding schema keeps: `Intent`'s, with
# `price_around` right after `price_max`.
_FIELDS = tuple(f for f in Intent.model_fields if f not in PARSER_ONLY_FIELDS)
TARGET_ORDER = (
    *_FIELDS[: _FIELDS.index("price_max") + 1],
    "price_around",
    *_FIELDS[_FIELDS.index("price_max") + 1 :],
)


def intent_target(intent: Intent) -> str:
    """Compact JSON of the intent's non-default fields (the intent name always first). A
    `Proposal` writes "around $X" as its amount (`price_around`): the model copies the number
    and `Proposal.to_intent` computes the range."""
    values = intent.model_dump(exclude_defaults=True)
    values["intent"] = intent.intent.value
    data = {
        key: json_number(values[key]) if isinstance(values[key], Decimal) else values[key]
        for key in TARGET_ORDER
        if key in values
    }
    return json.dumps(data, separators=(",", ":"))


def normalise(text: str) -> str:
    """Lower-case word tokens: two messages with the same form are near duplicates."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def clean_phrase(raw: str, brands: Iterable[str]) -> str | None:
    """The product words of a search term when it can be a query label as is, else None.

    A phrase is kept when its words are plain product words: no filler, colour, size, capacity,
    price or catalog brand (those are slots a template adds with a known label); `for`, `with`
    and the like are dropped, as the labels drop them.
    """
    text = " ".join(raw.lower().split())
    if not text or not text.isascii() or _UNIT.search(text):
        return None
    tokens = text.split()
    if not 1 <= len(tokens) <= 5 or not all(_PHRASE_TOKEN.fullmatch(t) for t in tokens):
        return None
    if any(t in _FILLER or t in _ALL_COLOURS for t in tokens):
        return None
    lowered = f" {text} "
    if any(f" {b.lower()} " in lowered for b in brands if b):
        return None
    words = [t for t in tokens if t not in _STOP]
    if not words or tokens[0] in _STOP or tokens[-1] in _STOP or not re.search("[a-z]", text):
        return None
    return text


def _query(phrase: str) -> str:
    return " ".join(t for t in phrase.split() if t not in _STOP)


def _price(rng: random.Random) -> int:
    return rng.choice(PRICES)


def _money(rng: random.Random, p: int) -> str:
    return rng.choice(
        [
            f"${p}",
            f"{p}",
            f"{p} dollars",
            f"${p}",
            f"{p} bucks",
            f"£{p}",
            f"{p} quid",
            f"{p} pounds",
        ]
    )


def _wide_price(rng: random.Random) -> int:
    """A price from a wide range (not only the round ones of `PRICES`)."""
    return rng.choice([rng.randint(5, 99), rng.randint(100, 600), rng.randint(5, 80) * 25])


def _around(p: int) -> dict[str, Any]:
    """The label of "around $p": the amount, written as is (`intent_target`); the range it
    means is the parser's (`Proposal.to_intent`)."""
    return {"price_around": p}


def _varied_price_clause(rng: random.Random) -> tuple[str, dict[str, Any]]:
    """More ways to state a price, with prices from a wide range (the `variety` data)."""
    p = _wide_price(rng)
    money = _money(rng, p)
    kind = rng.random()
    if kind < 0.3:
        word = rng.choice(
            ["under", "below", "less than", "at most", "up to", "max", "no more than", "within"]
        )
        text = rng.choice(
            [
                f"{word} {money}",
                f"for {word} {money}",
                f"{money} max",
                f"max {money}",
                f"{money} or less",
                f"{money} tops",
                f"budget of {money}",
                f"my budget is {money}",
                f"cheaper than {money}",
                f"less expensive than {money}",
                f"{rng.choice(['nothing over', 'nothing above', 'not over'])} {money}",
                f"no more than {money}",
            ]
        )
        return text, {"price_max": p}
    if kind < 0.6:
        text = rng.choice(
            [
                f"{rng.choice(['over', 'above', 'more than', 'at least', 'from'])} {money}",
                f"{money} or more",
                f"starting at {money}",
                f"no less than {money}",
                f"${p}+",
                f"{p}+",
                f"from {money} up",
                f"{money} and up",
                f"{rng.choice(['pricier', 'more expensive'])} than {money}",
                f"{rng.choice(['north', 'upwards'])} of {money}",
                f"{rng.choice(['nothing under', 'nothing below', 'not under'])} {money}",
                f"no cheaper than {money}",
            ]
        )
        return text, {"price_min": p}
    if kind < 0.8:
        word = rng.choice(
            ["around", "about", "roughly", "approximately", "for about", "budget around"]
            + ["close to", "ballpark", "somewhere around", "budget about"]
        )
        text = rng.choice(
            [f"{word} {money}"] * 4
            + [f"{money} or so", f"in the {money} range", f"{money} give or take"]
        )
        return text, _around(p)
    a, b = sorted(rng.sample(range(5, 900), 2))
    form = rng.choice(
        [
            "between {a} and {b}",
            "between ${a} and ${b}",
            "{a} to {b} dollars",
            "${a}-${b}",
            "{a}-{b} bucks",
            "{a}-{b} dollars",
            "£{a}-£{b}",
        ]
    )
    return form.format(a=a, b=b), {"price_min": a, "price_max": b}


def _price_clause(rng: random.Random, variety: bool = False) -> tuple[str, dict[str, Any]]:
    if rng.random() < (0.7 if variety else 0.6):
        return _varied_price_clause(rng)
    kind = rng.random()
    if kind < 0.55:
        p = _price(rng)
        word = rng.choice(["under", "below", "less than", "no more than", "up to", "max"])
        return f"{word} {_money(rng, p)}", {"price_max": p}
    if kind < 0.75:
        p = _price(rng)
        word = rng.choice(["over", "above", "more than", "at least"])
        return f"{word} {_money(rng, p)}", {"price_min": p}
    a, b = sorted(rng.sample(PRICES, 2))
    form = rng.choice(
        ["between {a} and {b}", "between ${a} and ${b}", "from {a} to {b} dollars", "${a}-${b}"]
    )
    return form.format(a=a, b=b), {"price_min": a, "price_max": b}


def _ref(rng: random.Random, n: int) -> str:
    if n == -1:
        return rng.choice(["the last one", "the last", "the final one"])
    return rng.choice(
        [
            f"the {_ORDINAL_WORDS[n]} one",
            f"the {_ORDINAL_WORDS[n]}",
            f"the {_ORDINAL_SHORT[n]} one",
            f"the {_ORDINAL_SHORT[n]}",
            f"number {n}",
            f"#{n}",
            f"option {n}",
            f"item {n}",
        ]
    )


def _brand_text(rng: random.Random, brand: str) -> str:
    return brand if rng.random() < 0.45 else brand.lower()


def _order_id(rng: random.Random) -> str:
    if rng.random() < 0.6:
        return str(rng.randint(1000, 99_999_999))
    letters = "".join(rng.choice("ABCDEFGHJKLMNPRSTUVWXYZ") for _ in range(rng.choice([1, 1, 2])))
    return f"{letters}-{rng.randint(100, 99_999)}"


_SEARCH_WRAPS = (
    "{q}",
    "{q}",
    "I need {q}",
    "i need a {q}",
    "I'm looking for {q}",
    "looking for a {q}",
    "do you have {q}?",
    "do you sell {q}",
    "show me {q}",
    "any {q}?",
    "can you find me a {q}",
    "I want to buy {q}",
    "where can I find {q}?",
    "need {q}",
    "got any {q}?",
    "searching for {q}",
    "I'd like a {q}",
    "{q} please",
    "hi, I need {q}",
    "do you carry {q}?",
)
_STORAGE = ("usb stick", "flash drive", "memory card", "ssd", "sd card", "usb drive", "hard disk")
_SCREENS = ("monitor", "tv", "laptop", "tablet", "projector screen", "display", "notebook")
_ADJECTIVES = (
    "wireless",
    "bluetooth",
    "usb",
    "portable",
    "rechargeable",
    "gaming",
    "waterproof",
    "ergonomic",
    "compact",
    "mechanical",
    "outdoor",
    "foldable",
)
_NOUNS = ("mouse", "keyboard", "speaker", "headset", "printer", "laptop", "monitor", "charger")
_QUESTIONS = (
    "is {r} in stock?",
    "how much is {r}?",
    "tell me about {r}",
    "does {r} have bluetooth?",
    "does {r} have a warranty?",
    "what are the specs of {r}?",
    "is {r} compatible with windows?",
    "how heavy is {r}?",
    "what colours does {r} come in?",
    "more details on {r} please",
    "{r}",
    "is {r} any good?",
    "does {r} come with a cable?",
    "how big is {r}?",
    "what is the battery life of {r}?",
    "can you tell me more about {r}",
    "is {r} wireless?",
    "what's the warranty on {r}?",
    "how long would {r} take to arrive?",
    "is {r} available for next day delivery?",
    "when would {r} arrive if I order today?",
    "how much storage does {r} have",
    "can {r} scan to email?",
    "{r} - is that the newest model?",
    "whats the screen size on {r}",
    "does {r} work with mac?",
)
# Questions about the product under discussion, with no position: "it", "that kettle".
_PRONOUN_QUESTIONS = (
    "how heavy is it",
    "does it work with mac?",
    "does it come with a charger?",
    "is it waterproof?",
    "how long is the warranty on it?",
    "what colours does it come in?",
    "is that one in stock?",
    "is this one any good?",
    "how many watts is that {n}",
    "is that {n} wireless?",
    "does that {n} have usb?",
    "how big is this {n}?",
)


class _Builder:
    """Draws intent examples for one seed from the phrase and brand pools."""

    def __init__(
        self,
        rng: random.Random,
        phrases: Sequence[tuple[str, str]],
        brands: list[str],
        variety: bool = False,
    ):
        self.rng, self.phrases, self.brands, self.variety = rng, phrases, brands, variety

    def phrase(self) -> tuple[str, str]:
        return self.rng.choice(self.phrases)

    def brand(self) -> str:
        return self.rng.choice(self.brands)

    def search(self) -> tuple[str, str, dict[str, Any]]:
        rng = self.rng
        source, phrase = self.phrase()
        label: dict[str, Any] = {"intent": "search", "query": _query(phrase)}
        front, back = "", ""
        roll = rng.random()
        if roll < 0.12:
            n = rng.choice([16, 32, 64, 128, 256, 512]) if rng.random() < 0.8 else 1
            unit = "GB" if n > 1 else "TB"
            thing = rng.choice(_STORAGE)
            phrase, label["query"] = thing, thing
            size = rng.choice([f"{n}{unit}", f"{n} {unit}", f"{n}{unit.lower()}"])
            front, label["attributes"] = f"{size} ", {"capacity": f"{n} {unit}"}
            source = "capacity"
        elif roll < 0.22:
            inches = rng.choice(["13", "14", "15.6", "17", "24", "27", "32", "43", "55", "65"])
            thing = rng.choice(_SCREENS)
            phrase, label["query"] = thing, thing
            front = rng.choice([f"{inches} inch ", f"{inches}-inch ", f'{inches}" '])
            label["attributes"] = {"screen_size": f"{inches} inch"}
            source = "screen"
        if rng.random() < (0.2 if self.variety else 0.45):
            brands = [self.brand()]
            if rng.random() < 0.3:
                brands = sorted({brands[0], self.brand()})
            named = " or ".join(_brand_text(rng, b) for b in brands)
            if rng.random() < 0.5:
                front = f"{named} {front}"
            else:
                back = rng.choice(
                    [" from {b}", " by {b}", ", {b}", ", {b} maybe", " - {b}"]
                ).format(b=named)
            label["brands"] = brands
        if rng.random() < 0.14 and "attributes" not in label:
            colour = rng.choice(COLOURS)
            if rng.random() < 0.5:
                front = f"{front}{colour} "
            else:
                back = f"{back} in {colour}"
            label["attributes"] = {"colour": colour}
        if rng.random() < 0.5:
            clause, prices = _price_clause(rng, self.variety)
            sep = rng.choice([" ", " ", ", ", ", ", " - "])
            back, label = f"{back}{sep}{clause}", {**label, **prices}
        elif rng.random() < 0.1:
            if rng.random() < 0.5:
                front = f"{rng.choice(['cheapest', 'the cheapest'])} {front}"
                label["sort"] = "price_asc"
            else:
                front = f"{rng.choice(['most expensive', 'the priciest'])} {front}"
                label["sort"] = "price_desc"
        wrap = rng.choice(_SEARCH_WRAPS)
        text = wrap.replace("{q}", f"{front}{phrase}{back}")
        return text, f"search:{source}:{phrase}", label

    def refine(self) -> tuple[str, str, dict[str, Any]]:
        rng = self.rng
        b, b2 = rng.sample(self.brands, 2)
        p = _price(rng)
        a, c = sorted(rng.sample(PRICES, 2))
        colour = rng.choice(COLOURS)
        adj = rng.choice(_ADJECTIVES)
        n = rng.choice([32, 64, 128, 256])
        bt, bt2 = _brand_text(rng, b), _brand_text(rng, b2)
        options: list[tuple[str, str, dict[str, Any]]] = [
            (rng.choice(["cheaper", "anything cheaper?", "cheaper ones please"]), "cheaper", {}),
            (rng.choice(["something less expensive", "more expensive ones"]), "pricier", {}),
            (rng.choice([f"only {bt}", f"just {bt}", f"{bt} only"]), "only-brand", {"brands": [b]}),
            (
                rng.choice([f"what about {bt}?", f"how about {bt} instead"]),
                "about",
                {"brands": [b]},
            ),
            (f"only {bt} or {bt2}", "two-brands", {"brands": [b, b2]}),
            (f"narrow it down to {bt}", "narrow", {"brands": [b]}),
            (
                rng.choice([f"under {p}", f"what about under ${p}?", f"make it under {p}"]),
                "max",
                {"price_max": p},
            ),
            (rng.choice([f"over {p} only", f"above ${p} please"]), "min", {"price_min": p}),
            (f"between {a} and {c}", "range", {"price_min": a, "price_max": c}),
            (
                rng.choice(
                    [
                        f"in {colour}",
                        f"any in {colour}?",
                        f"do you have these in {colour}?",
                        f"only {colour} ones",
                        f"the same but in {colour}",
                    ]
                ),
                "colour",
                {"attributes": {"colour": colour}},
            ),
            (
                rng.choice([f"only the {n}GB ones", f"same but {n}GB", f"what about {n} GB?"]),
                "capacity",
                {"attributes": {"capacity": f"{n} GB"}},
            ),
            (
                rng.choice(
                    [
                        "sort by price",
                        "cheapest first please",
                        "lowest price first",
                        "price low to high",
                    ]
                ),
                "asc",
                {"sort": "price_asc"},
            ),
            (
                rng.choice(
                    ["sort by price, highest first", "most expensive first", "price high to low"]
                ),
                "desc",
                {"sort": "price_desc"},
            ),
            (
                rng.choice([f"only {adj} ones", f"any {adj} ones?", f"just the {adj} ones"]),
                "adjective",
                {"query": adj},
            ),
            (f"only {adj} ones under {p}", "adjective-max", {"query": adj, "price_max": p}),
            (f"just the {bt} {rng.choice(_NOUNS)}s", "brand-noun", {"brands": [b]}),
            (
                rng.choice(
                    [
                        f"any from {bt} instead?",
                        f"anything from {bt}?",
                        f"just show me the {bt} ones",
                        f"any {bt} ones",
                    ]
                ),
                "from-brand",
                {"brands": [b]},
            ),
            (f"any from {bt} or {bt2}?", "from-two-brands", {"brands": [b, b2]}),
            (
                rng.choice(
                    [
                        "these are too pricey",
                        "too expensive, anything cheaper?",
                        "something a bit cheaper",
                        "any with more storage",
                        "bigger screen size?",
                        "the bigger sizes please",
                        "any smaller ones?",
                    ]
                ),
                "vague",
                {},
            ),
            (
                rng.choice(
                    ["sort them by price, lowest first", "can you sort by price low to high"]
                ),
                "asc-long",
                {"sort": "price_asc"},
            ),
            (
                rng.choice(
                    [
                        f"these are too pricey, anything {w} {_money(rng, p)}"
                        for w in ("below", "under")
                    ]
                ),
                "pricey-max",
                {"price_max": p},
            ),
            (
                rng.choice([f"in {colour}?", f"got it in {colour}?", f"{colour} ones only"]),
                "colour-short",
                {"attributes": {"colour": colour}},
            ),
        ]
        clause, prices = _varied_price_clause(rng)
        wrap = rng.choice(
            ["{c}", "what about {c}?", "anything {c}?", "ones {c}", "{c} please", "something {c}"]
        )
        options += [(wrap.format(c=clause), "varied-price", prices)] * (4 if self.variety else 3)
        text, name, label = rng.choice(options)
        if name == "brand-noun":
            label = {**label, "query": text.rsplit(" ", 1)[1]}
        return text, f"refine:{name}", {"intent": "refine", **label}

    def product_question(self) -> tuple[str, str, dict[str, Any]]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.2:
            template = rng.choice(_PRONOUN_QUESTIONS)
            label: dict[str, Any] = {"intent": "product_question"}
            noun = rng.choice(_NOUNS)
            if "{n}" in template:
                label["query"] = noun
            return template.format(n=noun), f"pq:{template}", label
        if roll < 0.8:
            n = rng.choice([1, 2, 3, 4, 5, 6, -1])
            template = rng.choice(_QUESTIONS)
            return (
                template.format(r=_ref(rng, n)),
                f"pq:{template}",
                {
                    "intent": "product_question",
                    "refs": [n],
                },
            )
        b = self.brand()
        if roll < 0.9:
            noun = rng.choice(_NOUNS)
            text = rng.choice(
                [
                    f"how heavy is the {{b}} {noun}?",
                    f"does the {{b}} {noun} have usb?",
                    f"is the {{b}} {noun} any good?",
                ]
            ).format(b=_brand_text(rng, b))
            return (
                text,
                "pq:brand-noun",
                {
                    "intent": "product_question",
                    "query": noun,
                    "brands": [b],
                },
            )
        text = f"is the {_brand_text(rng, b)} one {rng.choice(_ADJECTIVES)}?"
        return text, "pq:brand-one", {"intent": "product_question", "brands": [b]}

    def compare(self) -> tuple[str, str, dict[str, Any]]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.6:
            x, y = sorted(rng.sample([1, 2, 3, 4, 5], 2))
            if rng.random() < 0.2:
                y = -1
            rx, ry = _ref(rng, x), _ref(rng, y)
            form = rng.choice(
                [
                    "compare {x} and {y}",
                    "which is better, {x} or {y}?",
                    "{x} vs {y}",
                    "what's the difference between {x} and {y}?",
                    "how does {x} compare to {y}?",
                    "compare {x} with {y}",
                ]
            )
            return form.format(x=rx, y=ry), f"compare:{form}", {"intent": "compare", "refs": [x, y]}
        if roll < 0.7 and rng.random() < 0.4:
            form = rng.choice(
                [
                    "which of these is best for {a}?",
                    "which one is the {s}?",
                    "which of them has the longest warranty",
                    "which of these has the best battery life",
                    "which would you pick for a student?",
                    "which of these is the {s}",
                ]
            )
            text = form.format(
                a=rng.choice(["gaming", "travel", "the office", "kids", "a student"]),
                s=rng.choice(["quietest", "lightest", "cheapest to run", "most reliable"]),
            )
            return text, f"compare:superlative:{form}", {"intent": "compare"}
        if roll < 0.7:
            k = rng.choice([2, 3])
            word = {2: "two", 3: "three"}[k]
            return (
                f"compare the first {word}",
                "compare:first-n",
                {
                    "intent": "compare",
                    "refs": list(range(1, k + 1)),
                },
            )
        if roll < 0.85:
            (_, p1), (_, p2) = self.phrase(), self.phrase()
            form = rng.choice(["{a} vs {b}", "{a} or {b}, which is better?", "compare {a} and {b}"])
            return (
                form.format(a=p1, b=p2),
                f"compare:phrases:{p1}",
                {
                    "intent": "compare",
                    "query": f"{_query(p1)} {_query(p2)}",
                },
            )
        b1, b2 = rng.sample(self.brands, 2)
        noun = rng.choice(_NOUNS) + "s"
        form = rng.choice(["compare {a} and {b} {n}", "{a} vs {b} {n}"])
        text = form.format(a=_brand_text(rng, b1), b=_brand_text(rng, b2), n=noun)
        return text, "compare:brands", {"intent": "compare", "query": noun, "brands": [b1, b2]}

    def add_to_cart(self) -> tuple[str, str, dict[str, Any]]:
        rng = self.rng
        if rng.random() < 0.7:
            n = rng.choice([1, 2, 3, 4, 5, -1])
            form = rng.choice(
                [
                    "add {r} to my cart",
                    "I'll take {r}",
                    "put {r} in my basket",
                    "buy {r}",
                    "please add {r} to the cart",
                    "I'll go with {r}, add it to my basket",
                    "chuck {r} in the trolley",
                    "put {r} in my trolley",
                    "want {r}, take me to checkout",
                    "yes please, I'd like to order {r}",
                    "put 2 of {r} in my basket",
                ]
            )
            return (
                form.format(r=_ref(rng, n)),
                f"cart:{form}",
                {"intent": "add_to_cart", "refs": [n]},
            )
        if rng.random() < 0.5:
            text = rng.choice(
                ["add it to cart", "add that one to my basket please", "add this to my cart"]
            )
            return text, "cart:plain", {"intent": "add_to_cart"}
        b = self.brand()
        text = f"add the {_brand_text(rng, b)} {rng.choice(_NOUNS)} to my cart"
        return text, "cart:brand", {"intent": "add_to_cart", "brands": [b]}

    def service(self, intent: str) -> tuple[str, str, dict[str, Any]]:
        rng = self.rng
        oid = _order_id(rng)
        shown = rng.choice([oid, f"#{oid}"])
        forms = _SERVICE[intent] + (_MORE_SERVICE[intent] if self.variety else ())
        form = rng.choice(forms)
        label: dict[str, Any] = {"intent": intent}
        if intent == "return_request" and rng.random() < 0.15:
            b, noun = self.brand(), rng.choice(_NOUNS)
            form = rng.choice(
                [
                    "return the {b} {n}, it doesn't fit my desk",
                    "I want to send the {b} {n} back",
                    "can I return the {b} {n}?",
                ]
            ).format(b=_brand_text(rng, b), n=noun)
            return form, f"{intent}:brand", {**label, "brands": [b]}
        if "{id}" in form:
            label["order_id"] = oid
        _, phrase = self.phrase()
        return form.format(id=shown, q=phrase), f"{intent}:{form}", label

    def fixed(self, intent: str) -> tuple[str, str, dict[str, Any]]:
        if intent == "handoff" and self.rng.random() < 0.15:
            oid = _order_id(self.rng)
            form = self.rng.choice(
                [
                    "this bot isn't helping, get me a human about order {id}",
                    "I need a person to look at order {id}",
                ]
            )
            return form.format(id=oid), f"handoff:{form}", {"intent": intent, "order_id": oid}
        core = self.rng.choice(_FIXED[intent])
        text = core
        if intent not in ("greeting", "other"):
            text = self.rng.choice(_OPENERS) + core + self.rng.choice(_CLOSERS)
        return text, f"{intent}:{core}", {"intent": intent}


# Politeness around a fixed request; none changes what is asked.
_OPENERS = ("", "", "", "please ", "hey, ", "hi, ", "excuse me, ", "ok ", "quick question: ")
_CLOSERS = ("", "", "", " please", " thanks", ", thank you", " now", "!")


_SERVICE: dict[str, tuple[str, ...]] = {
    "order_status": (
        "where is my order {id}?",
        "track order {id}",
        "status of order {id}",
        "has order {id} shipped?",
        "when will my order {id} arrive?",
        "order {id} hasn't arrived",
        "any update on order number {id}?",
        "my package hasn't arrived yet",
        "where's my parcel?",
        "has my order shipped yet",
        "tracking number for order {id} please",
        "I ordered a {q} last week, where is it?",
        "order no. {id}, where is it?",
        "check the status of my order {id}",
        "tracking for {id} please",
        "is {id} out for delivery today",
        "expected delivery date for {id}?",
        "when will {id} arrive?",
        "wheres my stuff",
        "where's my stuff?",
        "my parcel hasn't arrived yet, ordered last monday",
        "can you give me the tracking number for my last order",
        "I placed an order last week and haven't had a shipping email",
    ),
    "return_request": (
        "I want to return order {id}",
        "i'd like to return my {q}",
        "the {q} arrived broken, I want a refund",
        "refund for order {id} please",
        "start a return for order {id}",
        "can I send it back? order {id}",
        "I need a replacement, order {id} arrived damaged",
        "the {q} I got doesn't work, I want my money back",
        "I want to return the {q}",
        "return label for order {id}",
        "start a return for {id}",
        "can I exchange the {q} for a different colour",
        "I want to exchange my {q}",
        "I'd like to send back the {q}",
        "the {q} I got in order {id} is the wrong model, I'd like to return it",
    ),
    "cancel_order": (
        "cancel order {id}",
        "please cancel my order {id}",
        "I want to cancel my order",
        "stop order {id} before it ships",
        "cancel {id} please",
        "I don't want order {id} anymore",
        "can you cancel the {q} I ordered?",
        "I need to cancel order number {id}",
        "cancel my last order",
        "please cancel {id} before it ships",
    ),
}
# More service wordings, drawn only for the `variety` data.
_MORE_SERVICE: dict[str, tuple[str, ...]] = {
    "order_status": (
        "any news on my order {id}?",
        "my order {id} still hasn't come",
        "is order {id} on its way?",
        "I placed order {id} a week ago and still nothing",
        "can you check order {id} for me",
        "when does {id} get delivered?",
        "what's happening with my {q} order?",
        "{id} - where is it??",
    ),
    "return_request": (
        "how do I send back the {q}? order {id}",
        "I'd like a refund on order {id}",
        "the {q} is faulty, can I return it?",
        "want to return {id}",
        "returning the {q} from order {id}",
        "the {q} doesn't fit my needs, I'd like to send it back",
    ),
    "cancel_order": (
        "please don't ship order {id}",
        "cancel the order I just placed",
        "I changed my mind, cancel {id}",
        "can you cancel order {id} for me?",
        "I ordered the {q} by mistake, please cancel it",
    ),
}
_FIXED: dict[str, tuple[str, ...]] = {
    "view_cart": (
        "show me my cart",
        "what is in my basket?",
        "view my basket",
        "check my cart",
        "cart total please",
        "what did I put in the cart?",
        "see cart",
        "open my cart",
        "show the basket",
        "what's in the cart right now?",
        "how much is my basket?",
        "what have I added?",
        "view basket",
        "show cart contents",
        "what's in my trolley?",
        "can you open my trolley",
        "how much is my trolley total",
        "show me my basket, I want to check what I added",
    ),
    "policy_question": (
        "what's the return policy?",
        "how long do deliveries take?",
        "do you ship to Mexico?",
        "can I pay with paypal?",
        "is there a warranty on monitors?",
        "how many days do I have to send something back?",
        "is shipping free?",
        "what are your shipping costs?",
        "do you price match?",
        "can I pick up in store?",
        "what payment options do you have?",
        "what's your privacy policy?",
        "do you ship to the UK?",
        "how long is the return window?",
        "how much does delivery cost?",
        "do you deliver on weekends?",
        "what is the warranty on headphones?",
        "can I pay by credit card?",
        "what are the delivery options?",
        "is click and collect available?",
        "do you accept returns on opened items?",
        "how many days do I have to return stuff?",
        "do you price match other shops?",
        "do you offer next day delivery?",
        "can I return something I've opened?",
    ),
    "handoff": (
        "I want to talk to a human",
        "let me speak to an agent",
        "connect me to customer support",
        "can I talk to a real person?",
        "get me a representative",
        "human please",
        "transfer me to someone",
        "I need to speak with your staff",
        "this is useless, I want an operator",
        "put me through to a manager",
        "agent",
        "I'd like to chat with support staff",
        "can someone from customer service help me",
        "talk to a person",
        "live agent",
        "get a human on the line",
    ),
    "greeting": (
        "hello",
        "hi there",
        "hey there!",
        "good afternoon",
        "good evening",
        "hi!",
        "hello team",
        "hey, how's it going?",
        "howdy",
        "greetings",
        "hi all",
        "hello!",
        "hey",
        "good morning everyone",
        "hi, how are you doing?",
        "hello there, how's it going?",
        "hiya!",
        "hey folks",
    ),
    "other": (
        "thank you",
        "ok thanks",
        "great, bye",
        "what time is it?",
        "who are you?",
        "qwerty",
        "lol",
        "tell me a story",
        "what's the capital of France?",
        "thanks a lot",
        "bye",
        "how's the weather?",
        "recommend a movie",
        "are you a robot",
        "hmm",
        "yes",
        "ok cool",
        "asdf jkl",
        "what's your name?",
        "do you like pizza?",
        "cool",
        "never mind",
        "sing me a song",
        "zzz",
        "what's 2+2?",
        "nice",
    ),
}
# How often each intent is drawn (the labelled set is about half searches).
INTENT_MIX: dict[str, float] = {
    "search": 0.36,
    "refine": 0.14,
    "product_question": 0.1,
    "compare": 0.07,
    "add_to_cart": 0.05,
    "view_cart": 0.03,
    "order_status": 0.05,
    "return_request": 0.05,
    "cancel_order": 0.04,
    "policy_question": 0.04,
    "handoff": 0.03,
    "greeting": 0.02,
    "other": 0.02,
}


def phrase_pool(
    sources: dict[str, Iterable[str]], brands: Iterable[str], excluded_queries: set[str]
) -> list[tuple[str, str]]:
    """(source, phrase) pairs usable as query labels, without the evaluation set's queries.

    Args:
        sources: Raw search terms by source name.
        brands: The catalog's brands (a phrase naming one is skipped).
        excluded_queries: Normalised gold queries of the evaluation set.
    """
    brand_list = list(brands)
    out: dict[str, str] = {}
    for source, terms in sources.items():
        for raw in terms:
            phrase = clean_phrase(raw, brand_list)
            if phrase is None or normalise(_query(phrase)) in excluded_queries:
                continue
            out.setdefault(phrase, source)
    return sorted((source, phrase) for phrase, source in out.items())


def build_intent_examples(
    n: int,
    phrases: Sequence[tuple[str, str]],
    brands: Sequence[str],
    excluded_texts: set[str],
    seed: int = 0,
    variety: bool = False,
) -> list[Example]:
    """`n` intent examples drawn with `seed`; none whose normalised text is excluded.

    `variety` draws more price wordings ("around", "or more", "$X+") over a wide range of
    prices, fewer brands, and more service wordings: the data of a third training stage.

    Raises:
        ValueError: No phrases or fewer than two brands to draw from.
    """
    if not phrases or len(brands) < 2:
        raise ValueError("intent examples need product phrases and at least two brands")
    rng = random.Random(seed)
    builder = _Builder(rng, phrases, sorted(brands), variety)
    draw: dict[str, Callable[[], tuple[str, str, dict[str, Any]]]] = {
        "search": builder.search,
        "refine": builder.refine,
        "product_question": builder.product_question,
        "compare": builder.compare,
        "add_to_cart": builder.add_to_cart,
    }
    for name in _SERVICE:
        draw[name] = lambda name=name: builder.service(name)  # type: ignore[misc]
    for name in _FIXED:
        draw[name] = lambda name=name: builder.fixed(name)  # type: ignore[misc]
    names, weights = list(INTENT_MIX), list(INTENT_MIX.values())
    seen = set(excluded_texts)
    out: list[Example] = []
    tries = 0
    while len(out) < n and tries < n * 20:
        tries += 1
        text, group, label = draw[rng.choices(names, weights)[0]]()
        key = normalise(text)
        if key in seen:
            continue
        seen.add(key)
        target = intent_target(Proposal.model_validate(label))
        out.append(Example("intent", group, tuple(intent_messages(text)), target, text))
    return out


_REPLY_WRAPS = (
    "{q}",
    "I need {q}",
    "looking for {q}",
    "do you have {q}?",
    "show me {q}",
    "I want to buy {q}",
)
_SENTENCES = (
    "Here are some {q} options for you.",
    "I found a few {q} options that match your request.",
    "These {q} picks should suit what you asked for.",
    "Take a look at these {q} options.",
    "Here is a selection of {q} products for you.",
    "These {q} options are worth a look.",
)
_BUDGET_SENTENCES = (
    "These {q} options fit your budget.",
    "Here are some {q} options within your budget.",
)


def build_reply_examples(
    n: int, products: Sequence[Product], excluded_texts: set[str], seed: int = 0
) -> list[Example]:
    """`n` connecting-sentence examples from the catalog: a request for a category, two to four
    of its products, and a sentence that passes the grounding checker and `unusable`."""
    from assistant.grounding import Evidence, check_sentence
    from assistant.reply import Draft, ProductCard
    from assistant.turn import unusable

    rng = random.Random(seed)
    brands = sorted({p.brand for p in products if p.brand})
    by_category: dict[str, list[Product]] = {}
    for product in products:
        phrase = clean_phrase(product.category or "", brands)
        if phrase and phrase != "other" and not re.search(r"\d", phrase):
            by_category.setdefault(phrase, []).append(product)
    categories = sorted(c for c, ps in by_category.items() if len(ps) >= 2)
    if not categories:
        raise ValueError("reply examples need catalog categories with two or more products")
    out: list[Example] = []
    seen = set(excluded_texts)
    tries = 0
    while len(out) < n and tries < n * 20:
        tries += 1
        phrase = rng.choice(categories)
        chosen = rng.sample(by_category[phrase], min(len(by_category[phrase]), rng.randint(2, 4)))
        request = rng.choice(_REPLY_WRAPS).format(q=phrase)
        sentences: tuple[str, ...] = _SENTENCES
        if rng.random() < 0.3:
            top = max(p.price for p in chosen)
            budget = next((x for x in PRICES if x >= top), None)
            if budget is not None:
                request, sentences = f"{request} under ${budget}", _BUDGET_SENTENCES
        sentence = rng.choice(sentences).format(q=phrase)
        titles = [p.title for p in chosen]
        key = normalise(request + " " + " ".join(titles))
        if key in seen:
            continue
        evidence = Evidence(products=chosen, user_text=request, brands=brands)
        draft = Draft(intro="", cards=[ProductCard.of(p, "") for p in chosen], evidence=chosen)
        priced = sentences is _BUDGET_SENTENCES  # the request has a price bound
        if check_sentence(sentence, evidence).violations or unusable(
            sentence, request, draft, priced
        ):
            continue
        seen.add(key)
        out.append(
            Example(
                "reply",
                f"reply:{phrase}",
                tuple(reply_messages(request, titles)),
                sentence,
                request,
            )
        )
    return out


def split(examples: Sequence[Example], every: int = 10) -> tuple[list[Example], list[Example]]:
    """(train, validation): validation holds the groups whose stable hash is 0 modulo `every`."""
    train: list[Example] = []
    val: list[Example] = []
    for ex in examples:
        (val if zlib.crc32(ex.group.encode()) % every == 0 else train).append(ex)
    return train, val


def read_search_terms(homedepot_zip: Path) -> list[str]:
    """The distinct Home Depot search terms (`train.csv.zip`, Latin-1), in file order."""
    with zipfile.ZipFile(homedepot_zip) as zf:
        raw = zf.read(zf.namelist()[0]).decode("latin-1")
    return list(dict.fromkeys(r["search_term"].strip() for r in csv.DictReader(io.StringIO(raw))))


def read_judgment_queries(judgments_csv: Path) -> list[str]:
    """The distinct queries of the Icecat judgments CSV (query,docid,rating)."""
    with judgments_csv.open(encoding="utf-8") as fh:
        return list(dict.fromkeys(r["query"].strip() for r in csv.DictReader(fh)))


def evaluation_exclusions(intent_set: Path | Sequence[Path]) -> tuple[set[str], set[str]]:
    """(normalised messages, normalised gold queries) of the evaluation sets: never trained on.
    Each file is in either format of `read_labelled` (the flat one has no queries)."""
    from assistant.evaluation import read_labelled

    paths = [intent_set] if isinstance(intent_set, Path) else list(intent_set)
    items = [item for path in paths for item in read_labelled(path)]
    texts = {normalise(i.message) for i in items}
    queries = {normalise(i.intent.query) for i in items if i.intent.query}
    return texts, queries


@dataclass
class Dataset:
    """The examples and what went into them (for the training report).

    Attributes:
        train: Training examples, shuffled.
        val: Validation examples (held-out groups).
        phrases: Usable product phrases by source.
        excluded_texts: Evaluation messages excluded.
    """

    train: list[Example]
    val: list[Example]
    phrases: dict[str, int]
    excluded_texts: int


def build_dataset(
    search_terms: Sequence[str],
    judgment_queries: Sequence[str],
    products: Sequence[Product],
    intent_set: Path | Sequence[Path],
    n_intent: int = 2400,
    n_reply: int = 400,
    seed: int = 0,
    variety: bool = False,
) -> Dataset:
    """The whole dataset, deterministic for a seed: intent and reply examples, split by group.

    `variety`: see `build_intent_examples`; the reply examples do not change.
    """
    texts, queries = evaluation_exclusions(intent_set)
    counts = Counter(p.brand for p in products if p.brand)
    brands = sorted(b for b, c in counts.items() if c >= 3)
    categories = sorted({p.category for p in products if p.category})
    phrases = phrase_pool(
        {"homedepot": search_terms, "icecat_judgments": judgment_queries, "catalog": categories},
        counts,
        queries,
    )
    examples = build_intent_examples(n_intent, phrases, brands, texts, seed, variety)
    examples += build_reply_examples(n_reply, products, texts, seed)
    train, val = split(examples)
    random.Random(seed).shuffle(train)
    return Dataset(train, val, dict(Counter(s for s, _ in phrases)), len(texts))
