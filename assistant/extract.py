"""Intent extraction: the parser's reading, the model's proposal, and the rules that merge them.

The model proposes under JSON-schema constrained decoding; its output is validated against
`Intent` with a bounded re-ask. Code disposes: a number, order id, reference or brand enters the
result only if the parser read it or the message contains it, and the parser's keyword intents
for service requests (orders, returns, handoff, ...) are never overruled.
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from typing import Any

from pydantic import ValidationError

from assistant.chat_model import ChatModel, Message
from assistant.errors import ExtractionFailed, ModelError, ModelUnavailable
from assistant.intent import Intent, IntentName
from assistant.parser import MessageParser

log = logging.getLogger(__name__)
_PRODUCT_INTENTS = {
    IntentName.SEARCH,
    IntentName.REFINE,
    IntentName.PRODUCT_QUESTION,
    IntentName.COMPARE,
}
_MODEL_MAY_DECIDE = {IntentName.SEARCH, IntentName.OTHER}
MIN_WAIT = 0.2  # seconds: less than this left of a deadline is not worth a model call


@dataclass
class Extraction:
    """The merged intent and where it came from.

    Attributes:
        intent: The result.
        source: "merged" (model + parser) or "parser" (the model failed or was not asked).
        fault: Why the model's proposal was not used, when it was not.
    """

    intent: Intent
    source: str
    fault: str | None = None


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


def _number_in_text(value: Decimal, text: str) -> bool:
    numbers = {Decimal(n.replace(",", ".")) for n in re.findall(r"\d+(?:[.,]\d{1,2})?", text)}
    return value in numbers


def merge(parsed: Intent, proposed: Intent, text: str, brands: set[str]) -> Intent:
    """Combine the parser's reading with the model's proposal under the rules above."""
    intent = parsed.intent
    if parsed.intent in _MODEL_MAY_DECIDE and proposed.intent in _PRODUCT_INTENTS:
        # A question about a product needs a question or a reference in the text: a weak model
        # copies its few-shot examples, and a plain search must stay a search.
        is_question = text.rstrip().endswith("?") or bool(parsed.refs)
        if proposed.intent is not IntentName.PRODUCT_QUESTION or is_question:
            intent = proposed.intent

    def number(mine: Decimal | None, theirs: Decimal | None) -> Decimal | None:
        if mine is not None:
            return mine
        return theirs if theirs is not None and _number_in_text(theirs, text) else None

    lowered_brands = {b.lower(): b for b in brands}
    extra_brands = [
        lowered_brands[b.lower()]
        for b in proposed.brands
        if b.lower() in lowered_brands and _in_text(b, text)
    ]
    query = parsed.query
    if intent in _PRODUCT_INTENTS and proposed.query and _in_text(proposed.query, text):
        query = proposed.query if not query else query
    attributes = dict(parsed.attributes)
    for key, value in proposed.attributes.items():
        if key not in attributes and _in_text(value, text):
            attributes[key] = value
    order_id = parsed.order_id or (
        proposed.order_id if proposed.order_id and _in_text(proposed.order_id, text) else None
    )
    return Intent(
        intent=intent,
        query=query if intent in _PRODUCT_INTENTS else "",
        category=parsed.category
        or (proposed.category if proposed.category and _in_text(proposed.category, text) else None),
        brands=list(dict.fromkeys(parsed.brands + extra_brands)),
        price_min=number(parsed.price_min, proposed.price_min),
        price_max=number(parsed.price_max, proposed.price_max),
        attributes=attributes,
        sort=parsed.sort or proposed.sort,
        refs=parsed.refs,
        order_id=order_id,
    )


class IntentExtractor:
    """Parser first, then the model, merged.

    Args:
        parser: The deterministic parser (with the catalog's brands).
        model: The chat model; None extracts with the parser alone.
        attempts: Completions tried before giving up on the model (1 + re-asks).
    """

    def __init__(self, parser: MessageParser, model: ChatModel | None, attempts: int = 2):
        self.parser, self.model, self.attempts = parser, model, attempts
        self._schema = Intent.model_json_schema()

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
        messages = build_messages(text)
        last = ""
        for _ in range(self.attempts):
            timeout = None
            if deadline is not None:
                timeout = deadline - time.monotonic()
                if timeout < MIN_WAIT:
                    raise ModelUnavailable("the turn's time budget is spent")
            last = self.model.complete(messages, json_schema=self._schema, timeout=timeout).text
            try:
                return Intent.model_validate_json(last)
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
        if self.model is None:
            return Extraction(parsed, "parser")
        try:
            proposed = self.propose(text, deadline)
        except ModelError as exc:
            log.warning("intent extraction fell back to the parser: %s", exc)
            return Extraction(parsed, "parser", str(exc))
        return Extraction(merge(parsed, proposed, text, self.parser.brand_names), "merged")
