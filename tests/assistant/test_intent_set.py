"""The labelled intent set is well formed, and the slot scoring counts what it says it counts."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

from assistant.evaluation import SOURCES, read_intent_set, score, slot_pairs
from assistant.intent import Intent, IntentName

SET = Path(__file__).resolve().parents[1] / "data" / "intent_set.jsonl"
ITEMS = read_intent_set(SET)


def test_every_line_is_a_labelled_message_with_a_valid_intent() -> None:
    lines = [json.loads(line) for line in SET.read_text(encoding="utf-8").splitlines()]
    assert len(lines) == len(ITEMS) >= 200
    for row in lines:
        assert set(row) == {"message", "intent", "source"}
        assert row["source"] in SOURCES
        Intent.model_validate(row["intent"])


def test_every_intent_and_source_appears_and_no_message_repeats() -> None:
    intents = Counter(item.intent.intent for item in ITEMS)
    assert set(intents) == set(IntentName)
    assert {item.source for item in ITEMS} == set(SOURCES)
    messages = [" ".join(item.message.lower().split()) for item in ITEMS]
    assert len(messages) == len(set(messages))


def test_gold_labels_follow_the_conventions() -> None:
    product = {
        IntentName.SEARCH,
        IntentName.REFINE,
        IntentName.PRODUCT_QUESTION,
        IntentName.COMPARE,
    }
    for item in ITEMS:
        gold = item.intent
        assert gold.query == gold.query.lower().strip(), item.message
        assert not gold.query or gold.intent in product, item.message
        assert gold.category is None, item.message  # not labelled (see assistant.evaluation)
        assert set(gold.attributes) <= {"colour", "capacity", "screen_size"}, item.message
        for brand in gold.brands:
            assert brand.lower() not in gold.query.split(), item.message


def test_slot_pairs_normalise_values() -> None:
    intent = Intent(
        intent=IntentName.SEARCH,
        query="USB Stick 64gb",
        brands=["Sony", "sony"],
        price_max=Decimal("32.00"),
        attributes={"capacity": "64 GB"},
        sort="relevance",
        refs=[2, -1],
        order_id="#a-20931",
    )
    assert slot_pairs(intent) == {
        ("query", "64gb stick usb"),
        ("brands", "sony"),
        ("price_max", "32"),
        ("attributes.capacity", "64gb"),
        ("refs", "2"),
        ("refs", "-1"),
        ("order_id", "A-20931"),
    }


def test_score_counts_micro_pairs_per_slot_and_query_tokens() -> None:
    gold = [
        Intent(intent=IntentName.SEARCH, query="wireless mouse", brands=["Logitech"]),
        Intent(intent=IntentName.COMPARE, refs=[1, 3]),
        Intent(intent=IntentName.GREETING),
    ]
    predicted = [
        Intent(intent=IntentName.SEARCH, query="mouse wireless", brands=["Logitech", "HP"]),
        Intent(intent=IntentName.PRODUCT_QUESTION, query="compare", refs=[1]),
        Intent(intent=IntentName.GREETING),
    ]
    got = score(gold, predicted)
    assert got.intent_accuracy == pytest.approx(2 / 3)
    # tp: query, Logitech, ref 1; fp: HP, query "compare"; fn: ref 3
    assert (got.slots.tp, got.slots.fp, got.slots.fn) == (3, 2, 1)
    assert got.slots.precision == pytest.approx(3 / 5)
    assert got.slots.recall == pytest.approx(3 / 4)
    assert got.slots.f1 == pytest.approx(2 * 0.6 * 0.75 / 1.35)
    assert (got.per_slot["brands"].tp, got.per_slot["brands"].fp) == (1, 1)
    assert (got.per_slot["refs"].tp, got.per_slot["refs"].fn) == (1, 1)
    assert (got.query_tokens.tp, got.query_tokens.fp, got.query_tokens.fn) == (2, 1, 0)
    report = got.as_dict()
    assert report["per_intent"] == {"compare": "0/1", "greeting": "1/1", "search": "1/1"}
    assert list(report["per_slot"]) == ["query", "brands", "refs"]


def test_score_rejects_misaligned_predictions() -> None:
    with pytest.raises(ValueError, match="2 gold intents but 1"):
        score([Intent(), Intent()], [Intent()])


def test_reading_a_bad_line_names_it(tmp_path: Path) -> None:
    bad = tmp_path / "set.jsonl"
    bad.write_text(
        '{"message": "hi", "intent": {"intent": "greeting"}, "source": "written"}\n'
        '{"message": "x", "intent": {"intent": "shopping"}, "source": "written"}\n',
        encoding="utf-8",
    )
    with pytest.raises(ValueError, match="line 2"):
        read_intent_set(bad)


@pytest.mark.parametrize(
    "name", ["intent_set_blind.jsonl", "intent_set_blind2.jsonl", "intent_set_blind3.jsonl"]
)
def test_the_blind_sets_are_flat_and_labelled_with_catalog_brands(name: str) -> None:
    from assistant.evaluation import read_labelled
    from retrieval.icecat import load_demo

    blind = read_labelled(SET.with_name(name))
    assert len(blind) == 160
    assert {item.intent.intent for item in blind} == set(IntentName)
    brands = {p.brand for p in load_demo()}
    for item in blind:
        assert set(item.intent.brands) <= brands, item.message
    messages = [" ".join(item.message.lower().split()) for item in blind]
    assert len(messages) == len(set(messages))
