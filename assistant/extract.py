"""Intent extraction: the parser's reading, the model's proposal, and the rules that merge them.

The model proposes under JSON-schema constrained decoding; its output is validated against
`Intent` with a bounded re-ask. Code disposes: numbers, order ids, references, sort and category
come from the parser alone, a brand or product words from the model only if the message
contains them, and the parser's keyword intents (orders, returns, handoff, ...) are never
overruled; only a trained model's intent replaces the parser's fall-through search. See
`merge` for what the model may change, and why so little.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from typing import Any

from pydantic import ValidationError

from assistant.chat_model import ChatModel, Message
from assistant.errors import ExtractionFailed, ModelError, ModelUnavailable
from assistant.intent import Intent, IntentName
from assistant.llm_data import TARGET_ORDER, Proposal, intent_messages, json_number, read_target
from assistant.parser import _ORDINALS, _SMALL_NUMBERS, MessageParser, is_chatter

log = logging.getLogger(__name__)
_PRODUCT_INTENTS = {
    IntentName.SEARCH,
    IntentName.REFINE,
    IntentName.PRODUCT_QUESTION,
    IntentName.COMPARE,
}
_ATTRIBUTE_KEYS = {"colour", "capacity", "screen_size"}
# A question that points at a product: "is the JBL waterproof?", "does it have bluetooth?".
_POINTED_QUESTION = re.compile(r"\b(it|its|this|that|these|those|the)\b.*\?\s*$", re.I)
MIN_WAIT = 0.2  # seconds: less than this left of a deadline is not worth a model call


@dataclass
class Extraction:
    """The merged intent and where it came from.

    Attributes:
        intent: The result.
        source: "merged" (model + parser) or "parser": the model failed (see `fault`), or was
            not asked because its proposal could not change the result (`model_can_change`).
        fault: Why the model's proposal was not used, when it failed.
        parsed: The parser's reading alone, when the model's proposal was merged into `intent`;
            None when `intent` is the parser's.
    """

    intent: Intent
    source: str
    fault: str | None = None
    parsed: Intent | None = None


def _prompt_file(name: str) -> str:
    return (resources.files("assistant") / "prompts" / name).read_text(encoding="utf-8")


def build_messages(text: str) -> list[Message]:
    """The few-shot prompt for one message (prompts are package data files)."""
    messages = [Message("system", _prompt_file("intent_system.md"))]
    for ex in json.loads(_prompt_file("intent_examples.json")):
        messages.append(Message("user", ex["message"]))
        messages.append(Message("assistant", json.dumps(ex["intent"])))
    messages.append(Message("user", text))
    return messages


def _in_text(value: Any, text: str) -> bool:
    words = re.findall(r"\w+", str(value).lower())
    low = text.lower()
    return bool(words) and all(re.search(rf"(?<!\w){re.escape(w)}(?!\w)", low) for w in words)


# Intents that act on the cart or an order: never taken from a model over the parser.
_ACTIONS = {IntentName.ADD_TO_CART, IntentName.CANCEL_ORDER}
# Words that must back a model's service intent over the parser's search: broader than the
# parser's own rules ("I placed an order last Tuesday...", "send back a faulty kettle"), so that
# a product the shop does not sell ("concert tickets") is not read as a cart or order request.
_INTENT_CUES = {
    IntentName.ORDER_STATUS: re.compile(
        r"\b(orders?|ordered|deliver\w*|ship\w*|parcel|package|track\w*|arriv\w*|dispatch\w*|"
        r"courier|stuff)\b",
        re.I,
    ),
    IntentName.RETURN_REQUEST: re.compile(
        r"\b(return\w*|send (?:\w+ )?back|refund\w*|money back|faulty|broken|damaged|"
        r"exchange|replace\w*)\b",
        re.I,
    ),
    IntentName.VIEW_CART: re.compile(r"\b(cart|basket|trolley|checkout)\b", re.I),
    IntentName.POLICY_QUESTION: re.compile(
        r"\b(polic\w*|return\w*|refund\w*|ship\w*|deliver\w*|warrant\w*|guarantee\w*|pay\w*|"
        r"price ?match\w*|klarna|card|days|pick ?up|collect\w*|privacy)\b",
        re.I,
    ),
    IntentName.HANDOFF: re.compile(
        r"\b(human|person|people|agent|someone|somebody|staff|representative|operator|manager|"
        r"phone|call|ring|support|speak|talk)\b",
        re.I,
    ),
    # A question about a product asks something, or points at one ("the 2nd", "that one").
    IntentName.PRODUCT_QUESTION: re.compile(
        r"\?|\b(is|are|does|do|did|can|could|will|would|has|have|how|what|whats|which|why|"
        r"when|where|tell|it|its|this|that|these|those|one|last|first|second|third|number|"
        r"option|item)\b|#\d|\b\d(?:st|nd|rd|th)\b",
        re.I,
    ),
    # A refinement narrows or reorders what was shown: a bare noun phrase is a new search.
    IntentName.REFINE: re.compile(
        r"\?|\b(only|just|instead|cheaper|pricier|expensive|ones|those|these|them|more|less|"
        r"bigger|smaller|larger|sort|first|highest|lowest|under|below|over|above|between|"
        r"around|about|max|any|anything|something|else|other|same|show|narrow|filter|in stock)\b",
        re.I,
    ),
    IntentName.GREETING: re.compile(
        r"\b(hi|hello|hey|hiya|howdy|morning|afternoon|evening)\b", re.I
    ),
}


def _backed(intent: IntentName, text: str) -> bool:
    cue = _INTENT_CUES.get(intent)
    return cue is None or bool(cue.search(text))


def merge(
    parsed: Intent, proposed: Intent, text: str, brands: set[str], trust_intent: bool = False
) -> Intent:
    """Combine the parser's reading with the model's proposal: the model fills a slot only
    where the parser's reading and the text back it.

    Measured on the labelled intent set (bench/intents.py), SmolLM2-135M copies its few-shot
    examples; every slot it could fill unchecked (sort, order ids, prices, categories, refs)
    lowered precision. So numbers, order ids, references, sort and category come from the
    parser only. The model may: turn a message the parser could not place ("other") into a
    search for words that are in the text; turn a search into a question about a product when
    the message asks about something it points at; give a search its product words when the
    parser found none; add catalog brands that the text names.

    With `trust_intent` (a model trained for this schema: the LoRA adapter) the model's intent
    also replaces the parser's search, which is where the parser's rules fall through for any
    message with words left over ("how heavy is it", "thanks, that's all", "actually make that
    under $40"). Measured on the held-out sets (README, "The assistant"), the adapter reads those
    better. A service intent needs a word of the text to back it (`_INTENT_CUES`), and an action
    on the cart or an order (`_ACTIONS`) the parser's own cue.
    """
    intent = parsed.intent
    query = parsed.query
    proposed_query = proposed.query if _in_text(proposed.query, text) else ""
    if (
        trust_intent
        and parsed.intent is IntentName.SEARCH
        and proposed.intent not in _ACTIONS | {IntentName.SEARCH}
        and _backed(proposed.intent, text)
    ):
        intent = proposed.intent
    elif parsed.intent is IntentName.OTHER and proposed.intent is IntentName.SEARCH:
        if proposed_query and not is_chatter(text):
            intent, query = IntentName.SEARCH, proposed_query
    elif parsed.intent is IntentName.SEARCH:
        if proposed.intent is IntentName.PRODUCT_QUESTION and _POINTED_QUESTION.search(text):
            intent = IntentName.PRODUCT_QUESTION
        elif not query and proposed_query:
            query = proposed_query
    lowered_brands = {b.lower(): b for b in brands}
    extra_brands = [
        lowered_brands[b.lower()]
        for b in proposed.brands
        if b.lower() in lowered_brands and _in_text(b, text)
    ]
    attributes = dict(parsed.attributes)
    for key, value in proposed.attributes.items():
        if key in _ATTRIBUTE_KEYS and key not in attributes and _in_text(value, text):
            attributes[key] = value
    return parsed.model_copy(
        update={
            "intent": intent,
            "query": query if intent in _PRODUCT_INTENTS else "",
            "brands": list(dict.fromkeys(parsed.brands + extra_brands)),
            "attributes": attributes,
        }
    )


ORDER_ID_PATTERN = "^#?[A-Za-z0-9-]{0,12}[0-9][A-Za-z0-9-]{0,12}$"


@functools.cache
def _proposal_schema() -> dict[str, Any]:
    schema = Proposal.model_json_schema()
    props = schema["properties"]
    schema["properties"] = {key: props[key] for key in TARGET_ORDER}
    return schema


def decoding_schema(brands: Iterable[str]) -> dict[str, Any]:
    """The `Proposal` JSON schema the model decodes under (an `Intent`, and "around $X" as the
    amount; its fields in the order of the training targets), narrowed to what can be true:
    brands are the catalog's (an enum), an order number holds a digit, a reference is -1 (the
    last one) or a position 1..50. The answer is still validated afterwards."""
    schema = copy.deepcopy(_proposal_schema())
    props = schema["properties"]
    names = sorted(set(brands))
    if names:
        props["brands"]["items"] = {"type": "string", "enum": names}
    props["order_id"]["anyOf"][0] = {"type": "string", "pattern": ORDER_ID_PATTERN}
    props["refs"]["items"] = {"enum": [-1, *range(1, 51)]}
    return schema


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


@functools.cache
def _brand_parts(brand: str) -> tuple[str, ...]:
    """A brand's words, worked out once: `brand_candidates` runs on every message."""
    return tuple(_tokens(brand))


def brand_candidates(text: str, brands: Iterable[str]) -> list[str]:
    """The catalog brands a message may name: all of the brand's words in a row ("tp link" for
    TP-LINK, "oral b" for Oral-B), or the first word of a longer name when it has 4+ letters
    ("kingston" for Kingston Technology, "startech" for StarTech.com). Looser than the parser,
    which must decide; the model decides among these."""
    words = _tokens(text)
    joined = f" {' '.join(words)} "
    out = []
    for brand in brands:
        parts = _brand_parts(brand)
        if not parts:
            continue
        if f" {' '.join(parts)} " in joined or (
            len(parts) > 1 and len(parts[0]) >= 4 and parts[0] in words
        ):
            out.append(brand)
    return sorted(out)


# A number as written: "1,200", "49.99", "1.5k", "$66+" (66); not "2tb" or "64gb" (a size).
_NUMBER_WRITTEN = re.compile(
    r"(?<![\w.,])(?<![A-Za-z]-)(\d{1,3}(?:,\d{3})+|\d+)(\.\d{1,2})?(k)?(?![\w,.]\w)", re.I
)
# The parser's ordinal words ("second", "last"), and two it does not read.
_REF_WORDS = {w: n for w, n in _ORDINALS.items() if w.isalpha()} | {"latter": -1, "former": 1}
_REF_WRITTEN = re.compile(r"(?<![\w.,$£€])(\d{1,2})(?:st|nd|rd|th)?(?!\d)(?![\w.,]\w)", re.I)
# "the first two", "top 3": positions 1..n.
_FIRST_FEW = re.compile(r"\b(?:first|top)\s+(two|three|four|five|[2-9])\b")
# An order number: an optional short letter prefix, then 3+ digits ("1043", "SO-60233").
_ORDER_TOKEN = re.compile(r"[A-Za-z]{0,4}-?\d{3,12}")


_TENS = ("ten", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
_WORD_AMOUNTS = {
    **{w: 10 * n for n, w in enumerate(_TENS, 1)},
    **{f"{w} hundred": 100 * n for n, w in enumerate(("one", "two", "three", "four", "five"), 1)},
    "a hundred": 100,
    "hundred": 100,
}
_WORD_AMOUNT = re.compile(r"\b(" + "|".join(sorted(_WORD_AMOUNTS, key=len, reverse=True)) + r")\b")


# What makes a number a price: a currency sign or word beside it, a price word shortly before
# it ("under", "budget of", "between $200 and"), a bound after it ("max", "or less", "+"), or a
# bare range ("100-150"). "65w", "15.6 inch", "2 monitors" and "officejet pro 8022" have none.
_PRICE_BEFORE = re.compile(
    r"(?:[$£€~]|\b(?:under|below|less|cheaper|over|above|more|least|most|max|maximum|up to|"
    r"around|about|roughly|approx\w*|budget\w*|between|from|spend\w*|within|than|start\w*|"
    r"costs?|priced?|upwards of|north of|excess of|close to|ballpark|ish)\b)\W*(?:\w+\W+){0,2}$",
    re.I,
)
_PRICE_AFTER = re.compile(
    r"^(?:k\b)?\s*(?:[+]|-?ish\b|(?:dollars?|bucks|quid|pounds?|euros?|usd|gbp|eur|max|"
    r"maximum|tops|or (?:less|more|under|below|above|over|so)|and (?:up|over|above|under|below)|"
    r"at most|at the most|upwards|give or take|(?:dollar |buck |pound )?range)\b)",
    re.I,
)
_RANGE_NEXT = re.compile(r"^\s*(?:-|to)\s*[$£€]?\d[\d,]*(?:\.\d+)?(k\b)?", re.I)
_RANGE_BEFORE = re.compile(r"\d\s*(?:-|to)\s*[$£€]?$", re.I)
_UNIT_NEXT = re.compile(r"^\s*[a-z\"']", re.I)


def _is_price(text: str, start: int, end: int) -> bool:
    before, after = text[max(0, start - 28) : start], text[end : end + 24]
    if _PRICE_BEFORE.search(before) or _PRICE_AFTER.match(after):
        return True
    # A bare range ("100-150", "15-30 dollars"), unless a unit follows it ("4-7 ports").
    nxt = _RANGE_NEXT.match(after)
    if nxt:
        rest = after[nxt.end() :]
        return bool(_PRICE_AFTER.match(rest)) or not _UNIT_NEXT.match(rest)
    return bool(_RANGE_BEFORE.search(before)) and not _UNIT_NEXT.match(after)


def price_candidates(text: str) -> list[int | float]:
    """The prices a message may state: each number written as a price in it (in digits, or a
    round amount in words: "fifty dollars"; see `_is_price`). Looser than the parser: the model
    decides which number is which bound (or the amount of "around $X", whose range code
    computes), but it cannot write one the message does not hold."""
    lowered = text.lower()
    values = [
        Decimal(_WORD_AMOUNTS[m.group(1)])
        for m in _WORD_AMOUNT.finditer(lowered)
        if _is_price(lowered, m.start(), m.end())
    ]
    for m in _NUMBER_WRITTEN.finditer(text):
        if not _is_price(text, m.start(), m.end()):
            continue
        value = Decimal(m.group(1).replace(",", "") + (m.group(2) or ""))
        values.append(value * 1000 if m.group(3) else value)
    return sorted({json_number(v) for v in values})


def ref_candidates(text: str) -> list[int]:
    """The positions a message may point at: ordinal words ("second", "the last"), and numbers
    1-50 written as such ("#5", "option 3", "2nd"). Looser than the parser."""
    lowered = text.lower()
    out = {n for w, n in _REF_WORDS.items() if re.search(rf"\b{w}\b", lowered)}
    out |= {int(m.group(1)) for m in _REF_WRITTEN.finditer(lowered)} & set(range(1, 51))
    for m in _FIRST_FEW.finditer(lowered):
        out |= set(range(1, (_SMALL_NUMBERS.get(m.group(1)) or int(m.group(1))) + 1))
    return sorted(out)


def order_candidates(text: str) -> list[str]:
    """The order numbers a message may give: its words that look like one ("A-1207", "#5521")."""
    out: list[str] = []
    for raw in text.split():
        token = raw.strip(".,;:!?()[]{}\"'").lstrip("#")
        if token and _ORDER_TOKEN.fullmatch(token):
            out.extend(t for t in (token, token.upper()) if t not in out)
    return out


def message_schema(text: str, brands: Iterable[str]) -> dict[str, Any]:
    """`decoding_schema` narrowed further to one message: the brands, prices, references and
    order numbers it offers are those the message may state (`brand_candidates`,
    `price_candidates`, `ref_candidates`, `order_candidates`), and a field the message gives no
    value for is left out. Measured on the labelled sets (README), this keeps the adapter from
    inventing brands, prices, positions and order numbers; it decides nothing for it."""
    candidates = brand_candidates(text, brands)
    schema = decoding_schema(candidates)
    props = schema["properties"]
    if candidates:
        # An array closes after its last possible value: a model that would go on to a field
        # left out (a copied few-shot example's price) cannot repeat a brand until the limit.
        props["brands"]["maxItems"] = len(candidates)
    else:
        del props["brands"]
    props["attributes"] = {
        "type": "object",
        "properties": {key: {"type": "string"} for key in sorted(_ATTRIBUTE_KEYS)},
        "additionalProperties": False,
    }
    prices = price_candidates(text)
    for key in ("price_min", "price_max", "price_around"):
        if prices:
            props[key]["anyOf"] = [{"enum": prices}, {"type": "null"}]
        else:
            del props[key]
    refs = ref_candidates(text)
    if refs:
        props["refs"]["items"] = {"enum": refs}
        props["refs"]["maxItems"] = len(refs)
    else:
        del props["refs"]
    orders = order_candidates(text)
    if orders:
        props["order_id"]["anyOf"][0] = {"enum": orders}
    else:
        del props["order_id"]
    return schema


def model_can_change(parsed: Intent, text: str, trust_intent: bool = False) -> bool:
    """Whether `merge` could change the intent or the product words of this reading. When it
    cannot, the model is not asked: a call whose answer is thrown away only costs the customer
    time (about 0.5-1.5 s on 2 cores). A gift reading ("a present for my dad") and a deals
    reading ("any deals on headphones?") stand, and so does a ratings reading ("best rated
    webcam"): the model would put the words of whom it is for, or "rated", back into the query,
    or read the deal as a policy question alone."""
    if parsed.intent is IntentName.OTHER:
        return True
    if parsed.gift or parsed.deals or parsed.rated:
        # the parser cut who it is for, the occasion, "deals" or "best rated"; the model would not
        return False
    if parsed.intent is IntentName.SEARCH:
        return trust_intent or not parsed.query or bool(_POINTED_QUESTION.search(text))
    return False


class IntentExtractor:
    """Parser first, then the model, merged.

    Args:
        parser: The deterministic parser (with the catalog's brands).
        model: The chat model; None extracts with the parser alone.
        attempts: Completions tried before giving up on the model (1 + re-asks).
        prompt_style: "few_shot" (the base model: system prompt and examples) or "short" (the
            LoRA-tuned model: a one-line system prompt and the message, `llm_data.intent_messages`).
        trust_intent: Let the model's intent replace the parser's fall-through search (`merge`);
            by default on for the short (LoRA) style only: the base model copies its examples.
    """

    def __init__(
        self,
        parser: MessageParser,
        model: ChatModel | None,
        attempts: int = 2,
        prompt_style: str = "few_shot",
        trust_intent: bool | None = None,
    ):
        if prompt_style not in ("few_shot", "short"):
            raise ValueError(f"unknown prompt style {prompt_style!r}: few_shot or short")
        self.parser, self.model, self.attempts = parser, model, attempts
        self.prompt_style = prompt_style
        self.trust_intent = prompt_style == "short" if trust_intent is None else trust_intent

    def propose(self, text: str, deadline: float | None = None) -> Intent:
        """The model's proposal, validated, with a bounded re-ask.

        Args:
            text: The customer's message.
            deadline: A `time.monotonic()` instant after which the model is not waited for.

        Raises:
            ModelUnavailable: The model cannot be reached, or the deadline passed.
            ExtractionFailed: No attempt produced a valid `Intent`.
        """
        if self.model is None:
            raise ExtractionFailed("no model configured", 0, None)
        messages = (
            build_messages(text) if self.prompt_style == "few_shot" else intent_messages(text)
        )
        schema = message_schema(text, self.parser.brand_names)
        last = ""
        for _ in range(self.attempts):
            timeout = None
            if deadline is not None:
                timeout = deadline - time.monotonic()
                if timeout < MIN_WAIT:
                    raise ModelUnavailable("the turn's time budget is spent")
            last = self.model.complete(messages, json_schema=schema, timeout=timeout).text
            try:
                return read_target(last)
            except ValidationError as exc:
                messages = messages + [
                    Message("assistant", last),
                    Message(
                        "user",
                        f"That is not valid: {exc.errors()[0]['msg']}. "
                        "Answer with the JSON object only.",
                    ),
                ]
        raise ExtractionFailed("the model's intent did not validate", self.attempts, last)

    def extract(self, text: str, deadline: float | None = None) -> Extraction:
        """The intent of `text`: always an answer, from the parser when the model fails or
        misses the `deadline` (a `time.monotonic()` instant)."""
        parsed = self.parser.parse(text)
        if self.model is None or not model_can_change(parsed, text, self.trust_intent):
            return Extraction(parsed, "parser")
        try:
            proposed = self.propose(text, deadline)
        except ModelError as exc:
            log.warning("intent extraction fell back to the parser: %s", exc)
            return Extraction(parsed, "parser", str(exc))
        merged = merge(parsed, proposed, text, self.parser.brand_names, self.trust_intent)
        return Extraction(merged, "merged", parsed=parsed)
