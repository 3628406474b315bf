"""The store database: customers, orders, shipments, returns (RMAs), carts and the human queue.

One SQLite file under `SHOPASSIST_HOME` (WAL mode, schema version in `PRAGMA user_version`; a
file written by a newer schema is refused). Every read or write of an order, a return or a cart
takes the signed-in customer's id and checks ownership in the SQL itself: another customer's
order is indistinguishable from an order that does not exist (both read as None), so nothing
leaks, not even existence. Writes are atomic and conditional (a cancellation only while the
order is still processing; one RMA per order), so a repeated or raced request changes nothing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from assistant.sqlite import SqliteFile

SCHEMA_VERSION = 1
STATUSES = ("processing", "shipped", "delivered", "cancelled", "returned")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS customers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS orders (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    status TEXT NOT NULL
        CHECK (status IN ('processing', 'shipped', 'delivered', 'cancelled', 'returned')),
    placed_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS orders_by_customer ON orders(customer_id);
CREATE TABLE IF NOT EXISTS order_lines (
    order_id TEXT NOT NULL REFERENCES orders(id),
    n INTEGER NOT NULL,
    product_id TEXT NOT NULL,
    title TEXT NOT NULL,
    category TEXT NOT NULL,
    unit_price_cents INTEGER NOT NULL,
    currency TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    PRIMARY KEY (order_id, n)
);
CREATE TABLE IF NOT EXISTS shipments (
    order_id TEXT PRIMARY KEY REFERENCES orders(id),
    carrier TEXT NOT NULL,
    tracking TEXT NOT NULL,
    shipped_at TEXT NOT NULL,
    eta TEXT NOT NULL,
    delivered_at TEXT
);
CREATE TABLE IF NOT EXISTS returns (
    id TEXT PRIMARY KEY,
    order_id TEXT NOT NULL UNIQUE REFERENCES orders(id),
    customer_id TEXT NOT NULL REFERENCES customers(id),
    status TEXT NOT NULL,
    condition TEXT NOT NULL,
    reason TEXT NOT NULL,
    lines TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS carts (
    customer_id TEXT NOT NULL REFERENCES customers(id),
    product_id TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    added_at TEXT NOT NULL,
    PRIMARY KEY (customer_id, product_id)
);
CREATE TABLE IF NOT EXISTS handoffs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    session_id TEXT NOT NULL,
    customer_id TEXT,
    intent TEXT NOT NULL,
    reason TEXT NOT NULL,
    order_id TEXT,
    context TEXT NOT NULL,
    transcript TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'waiting',
    agent TEXT,
    created_at TEXT NOT NULL
);
"""


def utcnow() -> datetime:
    """The current time, timezone-aware UTC (the store's default clock)."""
    return datetime.now(UTC)


def _cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def _iso(when: datetime | None) -> str | None:
    return None if when is None else when.astimezone(UTC).isoformat()


def _time(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


@dataclass(frozen=True)
class Customer:
    """A customer account."""

    id: str
    name: str
    email: str


@dataclass(frozen=True)
class OrderLine:
    """One product of an order, as it was bought (title, category and price at purchase)."""

    product_id: str
    title: str
    category: str
    unit_price: Decimal
    currency: str
    quantity: int

    @property
    def amount(self) -> Decimal:
        """Unit price times quantity."""
        return self.unit_price * self.quantity


@dataclass(frozen=True)
class Shipment:
    """The parcel of a shipped order."""

    carrier: str
    tracking: str
    shipped_at: datetime
    eta: datetime
    delivered_at: datetime | None


@dataclass(frozen=True)
class Rma:
    """A return merchandise authorisation: one per order.

    Attributes:
        status: "open" (waiting for the parcel) or "refunded".
        condition: What the customer declared: unopened, opened or defective.
        product_ids: The order's products the return covers.
    """

    id: str
    order_id: str
    status: str
    condition: str
    reason: str
    product_ids: list[str]
    created_at: datetime


@dataclass(frozen=True)
class Order:
    """An order with its lines, its shipment and its return, as its owner may see it."""

    id: str
    customer_id: str
    status: str
    placed_at: datetime
    lines: list[OrderLine]
    shipment: Shipment | None = None
    rma: Rma | None = None

    @property
    def total(self) -> Decimal:
        """The sum of the lines."""
        return sum((line.amount for line in self.lines), Decimal("0"))

    @property
    def currency(self) -> str:
        """The currency of the lines."""
        return self.lines[0].currency if self.lines else "USD"


@dataclass(frozen=True)
class CartLine:
    """A product in a cart; its price and stock are read from the catalog when shown."""

    product_id: str
    quantity: int


@dataclass(frozen=True)
class QueuedHandoff:
    """A conversation waiting for a human agent (what the agent console lists)."""

    id: int
    session_id: str
    customer_id: str | None
    intent: str
    reason: str
    order_id: str | None
    context: dict[str, Any]
    transcript: list[dict[str, Any]]
    status: str
    agent: str | None
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        """The entry as JSON data."""
        return {
            "id": self.id,
            "session": self.session_id,
            "customer": self.customer_id,
            "intent": self.intent,
            "reason": self.reason,
            "order_id": self.order_id,
            "context": self.context,
            "transcript": self.transcript,
            "status": self.status,
            "agent": self.agent,
            "created_at": _iso(self.created_at),
        }


@dataclass
class NewOrder:
    """An order to insert (the demo seed and tests build these)."""

    id: str
    customer_id: str
    status: str
    placed_at: datetime
    lines: list[OrderLine]
    shipment: Shipment | None = None
    rma: Rma | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class Store(SqliteFile):
    """The store database in one SQLite file; safe to share between threads.

    Args:
        path: The database file (created with its folder); ":memory:" for a throw-away store.
        clock: The current time (injected by tests to place orders inside or outside windows).

    Raises:
        AssistantOperatorError: The file was written by a newer schema.
    """

    def __init__(self, path: Path | str, clock: Callable[[], datetime] = utcnow) -> None:
        super().__init__(path, _SCHEMA, SCHEMA_VERSION, "store")
        self.path, self.clock = path, clock

    def now(self) -> datetime:
        """The store's current time."""
        return self.clock()

    # -- customers and orders ------------------------------------------------------------------

    def is_empty(self) -> bool:
        """True when the store has no customers (not seeded yet)."""
        return not self._read("SELECT 1 FROM customers LIMIT 1")

    def customer(self, customer_id: str) -> Customer | None:
        """The customer, or None when there is no such account."""
        rows = self._read("SELECT id, name, email FROM customers WHERE id = ?", (customer_id,))
        return Customer(*rows[0]) if rows else None

    def customers(self) -> list[Customer]:
        """Every customer, by id."""
        return [
            Customer(*r) for r in self._read("SELECT id, name, email FROM customers ORDER BY id")
        ]

    def orders(self, customer_id: str) -> list[Order]:
        """The customer's orders, newest first."""
        rows = self._read(
            "SELECT id FROM orders WHERE customer_id = ? ORDER BY placed_at DESC, id DESC",
            (customer_id,),
        )
        return [o for (oid,) in rows if (o := self.order(customer_id, oid)) is not None]

    def order(self, customer_id: str, order_id: str) -> Order | None:
        """The order if it exists AND belongs to the customer; None otherwise, either way."""
        rows = self._read(
            "SELECT id, customer_id, status, placed_at FROM orders "
            "WHERE id = ? AND customer_id = ?",
            (order_id, customer_id),
        )
        if not rows:
            return None
        oid, cid, status, placed = rows[0]
        lines = [
            OrderLine(r[0], r[1], r[2], Decimal(r[3]) / 100, r[4], r[5])
            for r in self._read(
                "SELECT product_id, title, category, unit_price_cents, currency, quantity "
                "FROM order_lines WHERE order_id = ? ORDER BY n",
                (oid,),
            )
        ]
        ship = self._read(
            "SELECT carrier, tracking, shipped_at, eta, delivered_at FROM shipments "
            "WHERE order_id = ?",
            (oid,),
        )
        shipment = None
        if ship:
            carrier, tracking, shipped_at, eta, delivered_at = ship[0]
            shipment = Shipment(
                carrier,
                tracking,
                datetime.fromisoformat(shipped_at),
                datetime.fromisoformat(eta),
                _time(delivered_at),
            )
        return Order(
            oid, cid, status, datetime.fromisoformat(placed), lines, shipment, self._rma(cid, oid)
        )

    def _rma(self, customer_id: str, order_id: str) -> Rma | None:
        rows = self._read(
            "SELECT id, order_id, status, condition, reason, lines, created_at FROM returns "
            "WHERE order_id = ? AND customer_id = ?",
            (order_id, customer_id),
        )
        if not rows:
            return None
        r = rows[0]
        return Rma(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), datetime.fromisoformat(r[6]))

    def cancel(self, customer_id: str, order_id: str) -> Order | None:
        """Cancel the customer's order if it is still processing (checked in the same statement).

        Returns:
            The order after the call (cancelled, or unchanged when it had shipped already), or
            None when the customer has no such order.
        """
        with self._tx() as db:
            db.execute(
                "UPDATE orders SET status = 'cancelled', updated_at = ? "
                "WHERE id = ? AND customer_id = ? AND status = 'processing'",
                (_iso(self.now()), order_id, customer_id),
            )
        return self.order(customer_id, order_id)

    def create_return(
        self,
        customer_id: str,
        order_id: str,
        product_ids: list[str],
        condition: str,
        reason: str,
    ) -> tuple[Rma | None, bool]:
        """Open the order's RMA, once: a repeated call returns the existing one.

        The caller has checked the return policy; this only guards ownership, the order's
        status (delivered) and uniqueness, atomically.

        Returns:
            (the order's RMA, whether this call created it); (None, False) when the customer has
            no such delivered order.
        """
        rma_id = f"RMA-{order_id}"
        with self._tx() as db:
            owned = db.execute(
                "SELECT 1 FROM orders WHERE id = ? AND customer_id = ? AND status = 'delivered'",
                (order_id, customer_id),
            ).fetchone()
            cursor = None
            if owned:
                cursor = db.execute(
                    "INSERT OR IGNORE INTO returns (id, order_id, customer_id, status, condition, "
                    "reason, lines, created_at) VALUES (?, ?, ?, 'open', ?, ?, ?, ?)",
                    (
                        rma_id,
                        order_id,
                        customer_id,
                        condition,
                        reason[:500],
                        json.dumps(product_ids),
                        _iso(self.now()),
                    ),
                )
        created = cursor is not None and cursor.rowcount == 1
        return self._rma(customer_id, order_id), created

    # -- carts ---------------------------------------------------------------------------------

    def cart(self, customer_id: str) -> list[CartLine]:
        """The customer's cart, in the order products were added."""
        rows = self._read(
            "SELECT product_id, quantity FROM carts WHERE customer_id = ? ORDER BY added_at, rowid",
            (customer_id,),
        )
        return [CartLine(r[0], r[1]) for r in rows]

    def set_cart_quantity(self, customer_id: str, product_id: str, quantity: int) -> None:
        """Put `quantity` of a product in the customer's cart (0 removes it)."""
        with self._tx() as db:
            if quantity <= 0:
                db.execute(
                    "DELETE FROM carts WHERE customer_id = ? AND product_id = ?",
                    (customer_id, product_id),
                )
            else:
                db.execute(
                    "INSERT INTO carts (customer_id, product_id, quantity, added_at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT(customer_id, product_id) "
                    "DO UPDATE SET quantity = excluded.quantity",
                    (customer_id, product_id, quantity, _iso(self.now())),
                )

    # -- the human queue -----------------------------------------------------------------------

    def enqueue_handoff(
        self,
        session_id: str,
        customer_id: str | None,
        intent: str,
        reason: str,
        order_id: str | None,
        context: dict[str, Any],
        transcript: list[dict[str, Any]],
    ) -> tuple[QueuedHandoff, int]:
        """Queue the conversation for a human, once per session while it waits.

        Returns:
            (the queue entry, its position among the waiting entries, 1 = next).
        """
        with self._tx() as db:
            row = db.execute(
                "SELECT id FROM handoffs WHERE session_id = ? AND status = 'waiting'",
                (session_id,),
            ).fetchone()
            if row:
                db.execute(
                    "UPDATE handoffs SET transcript = ?, context = ? WHERE id = ?",
                    (json.dumps(transcript, default=str), json.dumps(context, default=str), row[0]),
                )
                entry_id = row[0]
            else:
                entry_id = db.execute(
                    "INSERT INTO handoffs (session_id, customer_id, intent, reason, order_id, "
                    "context, transcript, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        session_id,
                        customer_id,
                        intent,
                        reason,
                        order_id,
                        json.dumps(context, default=str),
                        json.dumps(transcript, default=str),
                        _iso(self.now()),
                    ),
                ).lastrowid
            (position,) = db.execute(
                "SELECT COUNT(*) FROM handoffs WHERE status = 'waiting' AND id <= ?", (entry_id,)
            ).fetchone()
        entry = self.handoff(int(entry_id))
        assert entry is not None
        return entry, int(position)

    def handoff(self, handoff_id: int) -> QueuedHandoff | None:
        """One queue entry."""
        rows = self._read(f"{_HANDOFF_SELECT} WHERE id = ?", (handoff_id,))
        return _handoff(rows[0]) if rows else None

    def queue(self, status: str | None = "waiting") -> list[QueuedHandoff]:
        """Queue entries, oldest first: the waiting ones by default, all with None."""
        if status is None:
            rows = self._read(f"{_HANDOFF_SELECT} ORDER BY id")
        else:
            rows = self._read(f"{_HANDOFF_SELECT} WHERE status = ? ORDER BY id", (status,))
        return [_handoff(r) for r in rows]

    def assign(self, handoff_id: int, agent: str) -> QueuedHandoff | None:
        """An agent takes a waiting conversation (the agent console's call)."""
        with self._tx() as db:
            db.execute(
                "UPDATE handoffs SET status = 'assigned', agent = ? WHERE id = ? "
                "AND status = 'waiting'",
                (agent, handoff_id),
            )
        return self.handoff(handoff_id)

    @contextmanager
    def sandbox(self) -> Iterator[None]:
        """Everything written inside is undone afterwards (conversation scripts that return or
        cancel run in one, so that repeats start from the same store and nothing real changes).
        Meant for one script at a time: writes of other sessions meanwhile are undone too."""
        saved = sqlite3.connect(":memory:")
        with self._lock:
            self._db.backup(saved)
        try:
            yield
        finally:
            with self._lock:
                saved.backup(self._db)
            saved.close()

    def resolve(self, handoff_id: int) -> QueuedHandoff | None:
        """The agent hands the conversation back: the entry leaves the queue."""
        with self._tx() as db:
            db.execute(
                "UPDATE handoffs SET status = 'resolved' WHERE id = ? "
                "AND status IN ('waiting', 'assigned')",
                (handoff_id,),
            )
        return self.handoff(handoff_id)

    # -- seeding -------------------------------------------------------------------------------

    def insert(self, customers: Sequence[Customer], orders: Sequence[NewOrder]) -> None:
        """Insert customers and orders (with lines, shipments and returns) in one transaction."""
        with self._tx() as db:
            db.executemany(
                "INSERT INTO customers (id, name, email) VALUES (?, ?, ?)",
                [(c.id, c.name, c.email) for c in customers],
            )
            for o in orders:
                if o.status not in STATUSES:
                    raise ValueError(f"unknown order status {o.status!r}")
                db.execute(
                    "INSERT INTO orders (id, customer_id, status, placed_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?)",
                    (o.id, o.customer_id, o.status, _iso(o.placed_at), _iso(o.placed_at)),
                )
                db.executemany(
                    "INSERT INTO order_lines (order_id, n, product_id, title, category, "
                    "unit_price_cents, currency, quantity) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [
                        (
                            o.id,
                            n,
                            ln.product_id,
                            ln.title,
                            ln.category,
                            _cents(ln.unit_price),
                            ln.currency,
                            ln.quantity,
                        )
                        for n, ln in enumerate(o.lines, 1)
                    ],
                )
                if o.shipment:
                    s = o.shipment
                    db.execute(
                        "INSERT INTO shipments (order_id, carrier, tracking, shipped_at, eta, "
                        "delivered_at) VALUES (?, ?, ?, ?, ?, ?)",
                        (
                            o.id,
                            s.carrier,
                            s.tracking,
                            _iso(s.shipped_at),
                            _iso(s.eta),
                            _iso(s.delivered_at),
                        ),
                    )
                if o.rma:
                    r = o.rma
                    db.execute(
                        "INSERT INTO returns (id, order_id, customer_id, status, condition, "
                        "reason, lines, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (
                            r.id,
                            o.id,
                            o.customer_id,
                            r.status,
                            r.condition,
                            r.reason,
                            json.dumps(r.product_ids),
                            _iso(r.created_at),
                        ),
                    )

    def reset(self) -> None:
        """Delete every row (the schema stays)."""
        with self._tx() as db:
            for table in (
                "handoffs",
                "carts",
                "returns",
                "shipments",
                "order_lines",
                "orders",
                "customers",
            ):
                db.execute(f"DELETE FROM {table}")


_HANDOFF_SELECT = (
    "SELECT id, session_id, customer_id, intent, reason, order_id, context, transcript, status, "
    "agent, created_at FROM handoffs"
)


def _handoff(r: tuple[Any, ...]) -> QueuedHandoff:
    return QueuedHandoff(
        r[0],
        r[1],
        r[2],
        r[3],
        r[4],
        r[5],
        json.loads(r[6]),
        json.loads(r[7]),
        r[8],
        r[9],
        datetime.fromisoformat(r[10]),
    )
