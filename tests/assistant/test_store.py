"""The store database: seed, ownership in every read and write, idempotent writes, the queue."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from assistant.errors import AssistantOperatorError
from assistant.seed import demo_customers, demo_orders, seed_demo
from assistant.store import STATUSES, Store
from tests.assistant.store_fixtures import SEEDED_AT, Clock, demo_products, seeded_store


def test_the_demo_seed_gives_every_customer_an_order_in_every_status() -> None:
    store = seeded_store()
    customers = [c.id for c in store.customers()]
    assert customers == [f"C{i:03d}" for i in range(1, 11)]
    for cid in customers:
        orders = store.orders(cid)
        assert {o.status for o in orders} == set(STATUSES)
        assert all(o.customer_id == cid and o.lines and o.total > 0 for o in orders)
        delivered = [o for o in orders if o.status == "delivered"]
        ages = sorted((SEEDED_AT - o.shipment.delivered_at).days for o in delivered)  # type: ignore[union-attr]
        assert ages[0] <= 30 < ages[-1]  # some inside the return window, some outside
    ids = [o.id for cid in customers for o in store.orders(cid)]
    assert len(ids) == len(set(ids)) == 70 and "1043" in ids


def test_the_seed_is_deterministic_and_only_fills_an_empty_store(tmp_path: Path) -> None:
    one = demo_orders(demo_products(), SEEDED_AT)
    two = demo_orders(demo_products(), SEEDED_AT)
    assert [(o.id, o.lines) for o in one] == [(o.id, o.lines) for o in two]
    store = Store(tmp_path / "store.sqlite3", Clock())
    assert seed_demo(store, demo_products()) == 70
    assert seed_demo(store, demo_products()) == 0
    assert seed_demo(store, demo_products(), reset=True) == 70
    assert len(store.customers()) == len(demo_customers())


def test_another_customers_order_reads_exactly_like_a_missing_one() -> None:
    store = seeded_store()
    for owner in store.customers():
        for order in store.orders(owner.id):
            for other in store.customers():
                if other.id == owner.id:
                    continue
                assert store.order(other.id, order.id) is None
                assert store.order(other.id, "9999") is None


def test_writes_check_ownership_and_are_idempotent() -> None:
    store = seeded_store()
    c1, c2 = store.orders("C001"), store.orders("C002")
    processing = next(o for o in c1 if o.status == "processing")
    assert store.cancel("C002", processing.id) is None
    assert store.order("C001", processing.id).status == "processing"  # type: ignore[union-attr]
    assert store.cancel("C001", processing.id).status == "cancelled"  # type: ignore[union-attr]
    shipped = next(o for o in c1 if o.status == "shipped")
    assert store.cancel("C001", shipped.id).status == "shipped"  # type: ignore[union-attr]

    delivered = next(o for o in c2 if o.status == "delivered")
    assert store.create_return("C001", delivered.id, [], "unopened", "x") == (None, False)
    rma, created = store.create_return("C002", delivered.id, ["p"], "unopened", "too small")
    assert created and rma is not None and rma.id == f"RMA-{delivered.id}"
    again, created = store.create_return("C002", delivered.id, ["p"], "opened", "again")
    assert not created and again == rma
    rows = store._read("SELECT COUNT(*) FROM returns WHERE order_id = ?", (delivered.id,))
    assert rows[0][0] == 1


def test_carts_belong_to_their_customer() -> None:
    store = seeded_store()
    store.set_cart_quantity("C001", "p1", 2)
    assert [(c.product_id, c.quantity) for c in store.cart("C001")] == [("p1", 2)]
    assert store.cart("C002") == []
    store.set_cart_quantity("C001", "p1", 0)
    assert store.cart("C001") == []
    with pytest.raises(sqlite3.IntegrityError):
        store.set_cart_quantity("C999", "p1", 1)  # no such customer


def test_the_queue_holds_one_waiting_entry_per_session() -> None:
    store = seeded_store()
    first, pos = store.enqueue_handoff("s1", "C001", "handoff", "asked", None, {}, [])
    again, pos2 = store.enqueue_handoff("s1", "C001", "handoff", "asked", None, {}, [{"a": 1}])
    other, pos3 = store.enqueue_handoff("s2", None, "other", "stalled", None, {}, [])
    assert first.id == again.id and (pos, pos2, pos3) == (1, 1, 2)
    assert again.transcript == [{"a": 1}]
    assert [e.id for e in store.queue()] == [first.id, other.id]
    assert store.assign(first.id, "agent-7").status == "assigned"  # type: ignore[union-attr]
    assert [e.id for e in store.queue()] == [other.id]
    assert len(store.queue(None)) == 2


def test_a_newer_schema_is_refused_and_the_file_uses_wal(tmp_path: Path) -> None:
    path = tmp_path / "store.sqlite3"
    Store(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.execute("PRAGMA user_version=99")
    db.close()
    with pytest.raises(AssistantOperatorError, match="newer|reads up to"):
        Store(path)


def test_a_sandbox_undoes_every_write_inside_it(tmp_path: Path) -> None:
    from tests.assistant.store_fixtures import seeded_store

    store = seeded_store(tmp_path / "store.sqlite3")
    with store.sandbox():
        cancelled = store.cancel("C001", "1041")
        assert cancelled is not None and cancelled.status == "cancelled"
    order = store.order("C001", "1041")
    assert order is not None and order.status == "processing"
