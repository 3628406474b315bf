"""The flat labelled format of `shopassist eval intents` and its slot scoring."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from assistant.evaluation import flat_pairs, flat_score, read_labelled
from assistant.intent import Intent, IntentName


def write(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_reads_the_flat_format(tmp_path: Path) -> None:
    rows = [
        {
            "text": "Sony headphones under $80",
            "intent": "search",
            "brands": ["Sony"],
            "price_min": None,
            "price_max": 80,
            "ref": None,
            "order_id": None,
        },
        {"text": "is the second one in stock?", "intent": "product_question", "ref": 2},
        {"text": "where is order 1043", "intent": "order_status", "order_id": 1043},
    ]
    items = read_labelled(write(tmp_path / "set.jsonl", rows))
    assert [i.message for i in items] == [r["text"] for r in rows]
    assert items[0].intent.brands == ["Sony"] and items[0].intent.price_max == Decimal(80)
    assert items[1].intent.refs == [2]
    assert items[2].intent.order_id == "1043"  # a number is read as the order id string


def test_reads_the_full_format_too() -> None:
    items = read_labelled(Path(__file__).parents[1] / "data" / "intent_set.jsonl")
    assert len(items) == 349


@pytest.mark.parametrize(
    ("row", "says"),
    [
        ({"text": "x", "intent": "shopping"}, "line 2"),
        ({"text": "x", "intent": "search", "colour": "red"}, "unknown keys ['colour']"),
        ({"text": "x", "intent": "search", "ref": "2"}, "ref must be an integer"),
        ({"text": "x", "intent": "search", "price_max": -5}, "line 2"),
        (["not", "an", "object"], "JSON object"),
    ],
)
def test_a_bad_line_is_named(tmp_path: Path, row: object, says: str) -> None:
    path = write(tmp_path / "set.jsonl", [{"text": "hi", "intent": "greeting"}, row])
    with pytest.raises(ValueError, match="line 2") as err:
        read_labelled(path)
    assert says in str(err.value)


def test_an_empty_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "empty.jsonl").write_text("\n", encoding="utf-8")
    with pytest.raises(ValueError, match="no labelled messages"):
        read_labelled(tmp_path / "empty.jsonl")


def test_flat_pairs_normalise_and_keep_the_first_reference() -> None:
    intent = Intent(
        intent=IntentName.COMPARE,
        query="headphones",
        brands=["Sony", "JBL"],
        price_max=Decimal("80.00"),
        refs=[1, 2],
        order_id="#a1043",
    )
    assert flat_pairs(intent) == {
        ("brands", "sony"),
        ("brands", "jbl"),
        ("price_max", "80"),
        ("ref", "1"),
        ("order_id", "A1043"),
    }  # the query is not a flat slot


def test_flat_score_counts_micro_precision_and_recall() -> None:
    gold = [
        Intent(intent=IntentName.SEARCH, brands=["Sony"], price_max=Decimal(50)),
        Intent(intent=IntentName.ORDER_STATUS, order_id="1043"),
    ]
    predicted = [
        Intent(intent=IntentName.SEARCH, brands=["sony"], price_min=Decimal(50)),
        Intent(intent=IntentName.OTHER),
    ]
    s = flat_score(gold, predicted)
    assert s.n == 2 and s.intent_accuracy == 0.5
    assert (s.slots.tp, s.slots.fp, s.slots.fn) == (1, 1, 2)
    assert s.slots.precision == 0.5 and s.slots.recall == pytest.approx(1 / 3)
    with pytest.raises(ValueError, match="2 gold intents but 1"):
        flat_score(gold, predicted[:1])
