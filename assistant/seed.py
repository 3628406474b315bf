"""The deterministic demo store: ten customers, each with an order in every status.

Customers C001..C010 get seven orders each, numbered from 1001 and interleaved across
customers (C001 has 1001, 1011, 1021, ...; C003 has 1043), so order numbers do not reveal
whose they are. Each customer's orders, relative to the seeding time `now`:

==========  ================================================================================
slot        order
==========  ================================================================================
0           delivered 45 days ago: outside the 30-day return window
1           delivered 5 days ago: inside the window
2           delivered 12 days ago, holding a consumable (ink/toner): returnable unopened only
3           shipped 2 days ago, in transit
4           processing (placed yesterday): can still be cancelled
5           cancelled
6           returned (delivered 20 days ago, refunded)
==========  ================================================================================

Products are drawn with a seeded generator from the demo catalog (order lines keep the title,
category and price at purchase), so the same catalog always gives the same store.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime, timedelta

from assistant.policy import CONSUMABLES, FINAL_SALE
from assistant.store import Customer, NewOrder, OrderLine, Rma, Shipment, Store
from retrieval.product import Product

NAMES = (
    "Ada Lovelace", "Grace Hopper", "Alan Turing", "Katherine Johnson", "Linus Pauling",
    "Rosalind Franklin", "Tim Berners-Lee", "Hedy Lamarr", "Claude Shannon", "Barbara Liskov",
)  # fmt: skip
CARRIERS = ("UPS", "FedEx", "USPS", "DHL")
SLOTS = 7
FIRST_ORDER = 1001


def demo_customers() -> list[Customer]:
    """C001..C010."""
    return [
        Customer(f"C{i:03d}", name, name.lower().replace(" ", ".") + "@example.com")
        for i, name in enumerate(NAMES, 1)
    ]


def demo_orders(products: Sequence[Product], now: datetime) -> list[NewOrder]:
    """Seven orders per demo customer over `products` (see the module docstring)."""
    pool = sorted(
        (p for p in products if p.price > 0 and p.category not in CONSUMABLES | FINAL_SALE),
        key=lambda p: p.id,
    )
    consumables = sorted((p for p in products if p.category in CONSUMABLES), key=lambda p: p.id)
    if not pool or not consumables:
        raise ValueError("the demo store needs the demo catalog (products and consumables)")
    day = now.replace(hour=10, minute=0, second=0, microsecond=0)
    orders = []
    for c, customer in enumerate(demo_customers()):
        rng = random.Random(f"shopassist-demo-{customer.id}")
        for slot in range(SLOTS):
            order_id = str(FIRST_ORDER + slot * 10 + c)
            picks = rng.sample(pool, rng.randint(1, 2))
            if slot == 2:
                picks = [rng.choice(consumables)]
            lines = [
                OrderLine(p.id, p.title, p.category, p.price, p.currency, rng.randint(1, 2))
                for p in picks
            ]
            orders.append(_order(order_id, customer.id, slot, lines, day, rng))
    return orders


def _order(
    order_id: str, customer_id: str, slot: int, lines: list[OrderLine], day: datetime,
    rng: random.Random,
) -> NewOrder:  # fmt: skip
    ago = {0: 45, 1: 5, 2: 12, 3: 2, 4: 0, 5: 8, 6: 20}[slot]
    delivered = day - timedelta(days=ago)
    placed = delivered - timedelta(days=4) if slot != 4 else day - timedelta(days=1)
    carrier = rng.choice(CARRIERS)
    tracking = f"{carrier[:2].upper()}{rng.randrange(10**9, 10**10)}"

    def shipment(delivered_at: datetime | None) -> Shipment:
        return Shipment(
            carrier, tracking, placed + timedelta(days=1), placed + timedelta(days=4), delivered_at
        )

    if slot in (0, 1, 2):
        return NewOrder(order_id, customer_id, "delivered", placed, lines, shipment(delivered))
    if slot == 3:
        return NewOrder(order_id, customer_id, "shipped", placed, lines, shipment(None))
    if slot == 4:
        return NewOrder(order_id, customer_id, "processing", placed, lines)
    if slot == 5:
        return NewOrder(order_id, customer_id, "cancelled", placed, lines)
    rma = Rma(
        f"RMA-{order_id}", order_id, "refunded", "unopened", "changed my mind",
        [ln.product_id for ln in lines], delivered + timedelta(days=3),
    )  # fmt: skip
    return NewOrder(order_id, customer_id, "returned", placed, lines, shipment(delivered), rma)


def seed_demo(store: Store, products: Sequence[Product], reset: bool = False) -> int:
    """Seed the demo store at the store's current time; returns the number of orders written.

    Args:
        store: The store.
        products: The demo catalog (`retrieval.icecat.load_demo()`).
        reset: Delete everything first; without it an already seeded store is left alone.
    """
    if reset:
        store.reset()
    elif not store.is_empty():
        return 0
    orders = demo_orders(products, store.now())
    store.insert(demo_customers(), orders)
    return len(orders)
