"""The return policy in code (window boundaries, condition, categories), its text, its index."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from assistant.policy import (
    CONSUMABLES,
    FINAL_SALE,
    RETURN_WINDOW_DAYS,
    Condition,
    condition_in,
    days_since,
    return_decision,
    store_policy,
)
from assistant.policy_index import ChromaPolicyIndex, MemoryPolicyIndex
from assistant.store import Order, OrderLine, Shipment
from retrieval.chroma import chroma_client
from retrieval.embedder import HashEmbedder

DELIVERED = datetime(2025, 1, 10, 23, 30, tzinfo=UTC)


def order(category: str = "mouse", status: str = "delivered") -> Order:
    line = OrderLine("p1", "A product", category, Decimal("10.00"), "USD", 1)
    ship = Shipment("UPS", "UP1", DELIVERED - timedelta(days=3), DELIVERED, DELIVERED)
    return Order("1001", "C001", status, DELIVERED - timedelta(days=4), [line], ship)


@pytest.mark.parametrize(
    ("after", "allowed"),
    [
        (timedelta(0), True),
        (timedelta(minutes=31), True),  # the next calendar day is day 1
        (timedelta(days=RETURN_WINDOW_DAYS), True),
        (timedelta(days=RETURN_WINDOW_DAYS, minutes=29), True),  # still day 30 (23:59)
        (timedelta(days=RETURN_WINDOW_DAYS, minutes=31), False),  # day 31 (00:01)
        (timedelta(days=RETURN_WINDOW_DAYS + 1), False),
    ],
)
def test_the_window_is_30_calendar_days_from_delivery(after: timedelta, allowed: bool) -> None:
    decision = return_decision(order(), Condition.UNOPENED, DELIVERED + after)
    assert decision.allowed is allowed
    assert decision.days == days_since(DELIVERED, DELIVERED + after)
    if not allowed:
        assert decision.section == "Returns: the return window"


def test_condition_and_categories() -> None:
    now = DELIVERED + timedelta(days=3)
    toner = order("toner cartridge")
    assert return_decision(toner, Condition.UNOPENED, now).allowed
    refused = return_decision(toner, Condition.OPENED, now)
    assert not refused.allowed and refused.section == "Returns: items we cannot take back"
    assert return_decision(toner, Condition.DEFECTIVE, now).allowed
    assert return_decision(order("mouse"), Condition.OPENED, now).allowed
    assert not return_decision(order("on-site"), Condition.UNOPENED, now).allowed
    late = return_decision(order(), Condition.DEFECTIVE, DELIVERED + timedelta(days=40))
    assert not late.allowed and late.section == "Warranty"
    for status in ("processing", "shipped", "cancelled", "returned"):
        assert not return_decision(order(status=status), Condition.UNOPENED, now).allowed


def test_condition_is_read_from_the_message() -> None:
    assert condition_in("it arrived broken") is Condition.DEFECTIVE
    assert condition_in("I opened it") is Condition.OPENED
    assert condition_in("it is still sealed, never opened") is Condition.UNOPENED
    assert condition_in("I want to return order 1011") is None


def test_the_policy_text_agrees_with_the_code() -> None:
    text = {p.title: p.text for p in store_policy()}
    assert f"within {RETURN_WINDOW_DAYS} days of its delivery" in text["Returns: the return window"]
    assert (
        f"Day {RETURN_WINDOW_DAYS} after delivery is the last" in text["Returns: the return window"]
    )
    assert f"day {RETURN_WINDOW_DAYS + 1}" in text["Returns: the return window"]
    exceptions = text["Returns: items we cannot take back"].lower()
    for category in CONSUMABLES | FINAL_SALE:
        words = category.replace("on-site", "on-site service").split()
        assert re.search(r"\s*".join(re.escape(w) for w in words), exceptions), category
    assert "until it ships" in text["Cancellations"]
    assert all(p.text and "keywords" not in p.text.lower() for p in store_policy())


QUESTIONS = {
    "how many days do I have to return something?": "Returns: the return window",
    "do you offer free shipping?": "Shipping: costs and times",
    "can I pay with paypal?": "Payment",
    "what is your warranty?": "Warranty",
    "can I return an opened toner cartridge?": "Returns: items we cannot take back",
    "what do you do with my personal data?": "Privacy",
    "can I change the shipping address?": "Changing an order",
    "I changed my mind, can I cancel?": "Cancellations",
    "how long do refunds take?": "Returns: refunds",
    "what are your opening hours?": "About the store",
    "do you have a physical store I can visit?": "About the store",
    "can I pay in installments?": "Payment",
    "I forgot my password": "Your account",
    "can I order by phone?": "About the store",
}


def check_index(index: MemoryPolicyIndex | ChromaPolicyIndex) -> None:
    for question, title in QUESTIONS.items():
        hits = index.search(question)
        assert hits and hits[0].passage.title == title, question
    assert index.search("what is your policy on pets?") == []


def test_the_memory_policy_index_finds_the_section() -> None:
    check_index(MemoryPolicyIndex(store_policy(), HashEmbedder()))


@pytest.mark.chroma
def test_the_chroma_policy_index_finds_the_section_and_syncs(tmp_path: Path) -> None:
    client = chroma_client(path=tmp_path / "chroma")
    index = ChromaPolicyIndex(client, HashEmbedder(), store_policy())
    check_index(index)
    assert index.sync(store_policy()) == 0  # unchanged: nothing re-embedded
    reopened = ChromaPolicyIndex(client, HashEmbedder(), store_policy()[:3])
    assert reopened._col.count() == 3
    assert "products" not in [c.name for c in client.list_collections()]
