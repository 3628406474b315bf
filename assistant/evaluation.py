"""Scoring intent extraction against a labelled set: intent accuracy and slot-level P/R/F1.

A message's slots are scored as a set of (slot, value) pairs, compared exactly after
normalisation; the intent is scored apart, as accuracy.

- `query`: one pair whose value is the message's product words as a sorted set of lower-case
  alphanumeric tokens, so it is right only if the token sets are equal ("12/3 extension cord"
  and "extension cord 12 3" agree). Query tokens are also scored one by one, as `query_tokens`.
- `brands`, `refs`: one pair per element (brands case-insensitive).
- `attributes`: one pair per key, named `attributes.<key>`, the value lower case without spaces
  ("64 GB" = "64gb"); keys are not aliased ("color" is not "colour").
- `price_min`, `price_max`: the amount as a normalised decimal ("32.00" = "32").
- `sort`: "relevance" is the default order and counts as no sort.
- `order_id`: upper case, without a leading "#".
- `category` is not scored: its vocabulary is the catalog's derived categories, and the
  `query` carries the same words.

Counts are micro-averaged over all pairs of all messages; `per_slot` groups them by slot
(every attribute key under `attributes`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.intent import Intent

SLOTS = (
    "query",
    "brands",
    "price_min",
    "price_max",
    "attributes",
    "sort",
    "refs",
    "order_id",
)
SOURCES = ("homedepot", "icecat_judgments", "written")


@dataclass(frozen=True)
class LabelledMessage:
    """One message of the labelled set.

    Attributes:
        message: What the customer typed.
        intent: The gold reading.
        source: Where the message came from ("homedepot", "icecat_judgments" or "written").
    """

    message: str
    intent: Intent
    source: str


def read_intent_set(path: Path) -> list[LabelledMessage]:
    """The labelled messages of a JSON-lines file (see `read_labelled`).

    Raises:
        ValueError: A line is not valid JSON, its intent does not validate, or its source is
            unknown (the message names the line).
    """
    return read_labelled(path)


def query_tokens(query: str) -> set[str]:
    """The normalised token set of a query."""
    return set(re.findall(r"[a-z0-9]+", query.lower()))


def slot_pairs(intent: Intent) -> set[tuple[str, str]]:
    """The (slot, value) pairs of an intent, normalised for comparison (see the module doc)."""
    pairs: set[tuple[str, str]] = set()
    tokens = query_tokens(intent.query)
    if tokens:
        pairs.add(("query", " ".join(sorted(tokens))))
    pairs |= {("brands", b.strip().lower()) for b in intent.brands if b.strip()}
    for name in ("price_min", "price_max"):
        value = getattr(intent, name)
        if value is not None:
            pairs.add((name, f"{value.normalize():f}"))
    for key, value in intent.attributes.items():
        norm = re.sub(r"\s+", "", str(value).lower())
        if norm:
            pairs.add((f"attributes.{key.strip().lower()}", norm))
    if intent.sort and intent.sort != "relevance":
        pairs.add(("sort", intent.sort))
    pairs |= {("refs", str(r)) for r in intent.refs}
    if intent.order_id and intent.order_id.strip("# "):
        pairs.add(("order_id", intent.order_id.strip("# ").upper()))
    return pairs


@dataclass
class Counts:
    """True positives, false positives and false negatives, with P/R/F1."""

    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, gold: Iterable[Any], predicted: Iterable[Any]) -> None:
        """Count one message's gold and predicted items (as sets)."""
        g, p = set(gold), set(predicted)
        self.tp += len(g & p)
        self.fp += len(p - g)
        self.fn += len(g - p)

    @property
    def precision(self) -> float:
        """tp / (tp + fp); 1.0 when nothing was predicted."""
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        """tp / (tp + fn); 1.0 when there was nothing to find."""
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        """The harmonic mean of precision and recall."""
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def as_dict(self) -> dict[str, float | int]:
        """The counts and the rates, rounded for a report."""
        return {
            "p": round(self.precision, 3),
            "r": round(self.recall, 3),
            "f1": round(self.f1, 3),
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
        }


@dataclass
class Score:
    """How one extractor did on a labelled set.

    Attributes:
        n: Messages scored.
        intent_correct: Messages whose intent is the gold intent.
        slots: Micro counts over all (slot, value) pairs.
        per_slot: The same counts by slot.
        query_tokens: Micro counts over query tokens.
        per_intent: For each gold intent, [messages read right, messages].
    """

    n: int = 0
    intent_correct: int = 0
    slots: Counts = field(default_factory=Counts)
    per_slot: dict[str, Counts] = field(default_factory=dict)
    query_tokens: Counts = field(default_factory=Counts)
    per_intent: dict[str, list[int]] = field(default_factory=dict)

    @property
    def intent_accuracy(self) -> float:
        """The share of messages whose intent is right."""
        return self.intent_correct / self.n if self.n else 0.0

    def as_dict(self) -> dict[str, Any]:
        """The score as plain data for a JSON report."""
        return {
            "intent_accuracy": round(self.intent_accuracy, 3),
            "slots": self.slots.as_dict(),
            "query_tokens": self.query_tokens.as_dict(),
            "per_slot": {
                k: self.per_slot[k].as_dict()
                for k in [*SLOTS, *sorted(set(self.per_slot) - set(SLOTS))]
                if k in self.per_slot
            },
            "per_intent": {k: f"{c}/{t}" for k, (c, t) in sorted(self.per_intent.items())},
        }


def _slot_of(pair: tuple[str, str]) -> str:
    return pair[0].split(".", 1)[0]


def score(
    gold: Sequence[Intent],
    predicted: Sequence[Intent],
    pairs: Callable[[Intent], set[tuple[str, str]]] = slot_pairs,
) -> Score:
    """Score predictions against gold intents, message by message (same order and length);
    `pairs` names an intent's slots (`slot_pairs`, or `flat_pairs` for the flat format).

    Raises:
        ValueError: The two sequences differ in length.
    """
    if len(gold) != len(predicted):
        raise ValueError(f"{len(gold)} gold intents but {len(predicted)} predictions")
    out = Score()
    for g, p in zip(gold, predicted, strict=True):
        out.n += 1
        right = g.intent == p.intent
        out.intent_correct += right
        tally = out.per_intent.setdefault(g.intent.value, [0, 0])
        tally[0] += right
        tally[1] += 1
        gp, pp = pairs(g), pairs(p)
        out.slots.add(gp, pp)
        for slot in {_slot_of(x) for x in gp | pp}:
            out.per_slot.setdefault(slot, Counts()).add(
                {x for x in gp if _slot_of(x) == slot}, {x for x in pp if _slot_of(x) == slot}
            )
        out.query_tokens.add(query_tokens(g.query), query_tokens(p.query))
    return out


# -- the flat format and its slots (`shopassist eval intents`) ----------------------------------

FLAT_SLOTS = ("brands", "price_min", "price_max", "ref", "order_id")
FLAT_KEYS = {"text", "intent", "brands", "price_min", "price_max", "ref", "order_id", "source"}


def flat_pairs(intent: Intent) -> set[tuple[str, str]]:
    """The (slot, value) pairs of the flat format: each brand (lower case), the prices as
    normalised decimals, the first reference as `ref`, the order id as an upper-case string."""
    pairs = {(s, v) for s, v in slot_pairs(intent) if s in FLAT_SLOTS}
    if intent.refs:
        pairs.add(("ref", str(intent.refs[0])))
    return pairs


def _flat_row(row: dict[str, Any]) -> LabelledMessage:
    unknown = set(row) - FLAT_KEYS
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)} (allowed: {sorted(FLAT_KEYS)})")
    ref = row.get("ref")
    if ref is not None and (not isinstance(ref, int) or isinstance(ref, bool)):
        raise ValueError(f"ref must be an integer or null, not {ref!r}")
    order_id = row.get("order_id")
    intent = Intent.model_validate(
        {
            "intent": row["intent"],
            "brands": row.get("brands") or [],
            "price_min": row.get("price_min"),
            "price_max": row.get("price_max"),
            "refs": [] if ref is None else [ref],
            "order_id": None if order_id is None else str(order_id),
        }
    )
    return LabelledMessage(str(row["text"]), intent, row.get("source", "written"))


def read_labelled(path: Path) -> list[LabelledMessage]:
    """The labelled messages of a JSON-lines file in either format: the flat one (`text`,
    `intent` as a name, `brands`, `price_min`, `price_max`, `ref`, `order_id`) or the full one
    of `read_intent_set` (`message`, `intent` as an object, `source`), line by line.

    Raises:
        ValueError: A line is not valid JSON or does not validate (the message names the line).
    """
    out: list[LabelledMessage] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            if not isinstance(row, dict):
                raise ValueError("a line must be a JSON object")
            if "text" in row:
                item = _flat_row(row)
            else:
                item = LabelledMessage(
                    row["message"], Intent.model_validate(row["intent"]), row["source"]
                )
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path.name} line {number}: {exc}") from exc
        if item.source not in SOURCES:
            raise ValueError(f"{path.name} line {number}: unknown source {item.source!r}")
        out.append(item)
    if not out:
        raise ValueError(f"{path.name} holds no labelled messages")
    return out


def flat_score(gold: Sequence[Intent], predicted: Sequence[Intent]) -> Score:
    """`score` on the flat slots (`flat_pairs`).

    Raises:
        ValueError: The two sequences differ in length.
    """
    return score(gold, predicted, flat_pairs)
