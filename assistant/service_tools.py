"""The customer-service tools, as LangChain tools: orders, returns, cart, policies, handoff.

Like the catalog tools, each returns `(content, artifact)`: JSON for the model and the logs,
typed results for code to render. The signed-in customer is an *injected* argument
(`InjectedToolArg`): it is not in the schema a model sees, so a model cannot choose whose
orders it reads; code passes the session's customer on every call, and the store checks
ownership in its SQL. Read tools never change state; the writing tools (`start_return`,
`cancel_order`) are called by the service desk only after the customer confirmed, and
re-check the policy themselves.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Annotated, Any

from langchain_core.tools import InjectedToolArg

from assistant.policy import Condition, ReturnDecision, return_decision
from assistant.policy_index import PolicyHit, PolicySearch
from assistant.store import Order, QueuedHandoff, Rma, Store
from assistant.tools import Toolbox, money
from retrieval.index import ProductIndex
from retrieval.product import Product

Customer = Annotated[str, InjectedToolArg]


def order_json(order: Order) -> dict[str, Any]:
    """An order as the tools report it (money as the customer reads it, dates as ISO dates)."""
    ship = order.shipment
    return {
        "order_id": order.id,
        "status": order.status,
        "placed": order.placed_at.date().isoformat(),
        "total": money(order.total, order.currency),
        "lines": [
            {
                "product_id": ln.product_id,
                "title": ln.title,
                "category": ln.category,
                "quantity": ln.quantity,
                "price": money(ln.unit_price, ln.currency),
            }
            for ln in order.lines
        ],
        "shipment": None
        if ship is None
        else {
            "carrier": ship.carrier,
            "tracking": ship.tracking,
            "shipped": ship.shipped_at.date().isoformat(),
            "expected": ship.eta.date().isoformat(),
            "delivered": ship.delivered_at.date().isoformat() if ship.delivered_at else None,
        },
        "return": None if order.rma is None else rma_json(order.rma),
    }


def rma_json(rma: Rma) -> dict[str, Any]:
    """A return as the tools report it."""
    return {
        "rma": rma.id,
        "order_id": rma.order_id,
        "status": rma.status,
        "condition": rma.condition,
        "created": rma.created_at.date().isoformat(),
    }


NOT_FOUND = {"found": False, "message": "no such order for this customer"}


@dataclass
class CartItem:
    """A cart line with the product as the catalog has it now (None: no longer sold)."""

    product_id: str
    quantity: int
    product: Product | None

    @property
    def amount(self) -> Decimal:
        """Current price times quantity (0 for a product no longer sold)."""
        return self.product.price * self.quantity if self.product else Decimal("0")


@dataclass
class CartView:
    """A cart, priced from the catalog at the time it is shown."""

    items: list[CartItem] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        """The sum of the items still sold."""
        return sum((i.amount for i in self.items), Decimal("0"))

    def as_json(self) -> dict[str, Any]:
        """The cart as the tools report it."""
        return {
            "items": [
                {
                    "product_id": i.product_id,
                    "quantity": i.quantity,
                    "title": i.product.title if i.product else None,
                    "price": money(i.product.price, i.product.currency) if i.product else None,
                    "stock": i.product.stock if i.product else 0,
                }
                for i in self.items
            ],
            "total": money(self.total, "USD"),
            "item_count": sum(i.quantity for i in self.items if i.product),
        }


@dataclass
class CartChange:
    """The result of adding to or removing from a cart.

    Attributes:
        ok: The cart changed.
        problem: Why not: "unknown product", "out of stock", "not enough stock", "not in cart".
        product: The product as the catalog has it now.
        quantity: The product's quantity in the cart after the call.
    """

    ok: bool
    problem: str | None
    product: Product | None
    quantity: int
    cart: CartView


@dataclass
class HandoffTicket:
    """A conversation queued for a human, and its place in the queue."""

    entry: QueuedHandoff
    position: int


class ServiceTools(Toolbox):
    """The service tools over the store, the catalog (for the cart) and the policy index.

    Args:
        store: Orders, returns, carts and the human queue.
        catalog: The product index (current price and stock).
        policies: Retrieval over the store policy.
    """

    def __init__(self, store: Store, catalog: ProductIndex, policies: PolicySearch) -> None:
        self.store, self.catalog, self.policies = store, catalog, policies
        functions = (
            self.list_orders,
            self.order_status,
            self.check_return,
            self.start_return,
            self.cancel_order,
            self.add_to_cart,
            self.set_cart_quantity,
            self.remove_from_cart,
            self.view_cart,
            self.search_policies,
            self.handoff,
        )
        super().__init__(functions)

    # -- orders --------------------------------------------------------------------------------

    def list_orders(self, customer_id: Customer) -> tuple[str, list[Order]]:
        """The signed-in customer's orders, newest first.

        Args:
            customer_id: The signed-in customer (injected by code).
        """
        orders = self.store.orders(customer_id)
        return json.dumps([order_json(o) for o in orders], ensure_ascii=False), orders

    def order_status(self, order_id: str, customer_id: Customer) -> tuple[str, Order | None]:
        """Status, items and tracking of one of the signed-in customer's orders.

        Args:
            order_id: The order number.
            customer_id: The signed-in customer (injected by code).
        """
        order = self.store.order(customer_id, order_id)
        content = order_json(order) if order else NOT_FOUND
        return json.dumps(content, ensure_ascii=False), order

    def check_return(
        self, order_id: str, condition: Condition, customer_id: Customer
    ) -> tuple[str, tuple[Order, ReturnDecision] | None]:
        """Whether an order may be returned under the store policy; changes nothing.

        Args:
            order_id: The order number.
            condition: The items' condition as the customer declares it.
            customer_id: The signed-in customer (injected by code).
        """
        order = self.store.order(customer_id, order_id)
        if order is None:
            return json.dumps(NOT_FOUND), None
        decision = return_decision(order, condition, self.store.now())
        content = {
            "order_id": order.id,
            "allowed": decision.allowed,
            "reason": decision.reason,
            "policy_section": decision.section,
            "existing_return": rma_json(order.rma) if order.rma else None,
            "order": order_json(order),
        }
        return json.dumps(content, ensure_ascii=False), (order, decision)

    def start_return(
        self, order_id: str, condition: Condition, reason: str, customer_id: Customer
    ) -> tuple[str, tuple[Rma | None, bool, ReturnDecision | None]]:
        """Open a return (RMA) for an order, once; the policy is checked again first.

        Args:
            order_id: The order number.
            condition: The items' condition as the customer declares it.
            reason: The customer's reason, in their words.
            customer_id: The signed-in customer (injected by code).
        """
        order = self.store.order(customer_id, order_id)
        if order is None:
            return json.dumps(NOT_FOUND), (None, False, None)
        if order.rma is not None:
            return json.dumps({"created": False, **rma_json(order.rma)}), (order.rma, False, None)
        decision = return_decision(order, condition, self.store.now())
        if not decision.allowed:
            content = {"created": False, "allowed": False, "reason": decision.reason}
            return json.dumps(content), (None, False, decision)
        rma, created = self.store.create_return(
            customer_id, order_id, [ln.product_id for ln in decision.lines], condition, reason
        )
        content = {"created": created, **(rma_json(rma) if rma else NOT_FOUND)}
        return json.dumps(content), (rma, created, decision)

    def cancel_order(self, order_id: str, customer_id: Customer) -> tuple[str, Order | None]:
        """Cancel an order that has not shipped yet; reports the order after the attempt.

        Args:
            order_id: The order number.
            customer_id: The signed-in customer (injected by code).
        """
        order = self.store.cancel(customer_id, order_id)
        content = order_json(order) if order else NOT_FOUND
        return json.dumps(content, ensure_ascii=False), order

    # -- cart ----------------------------------------------------------------------------------

    def _cart(self, customer_id: str) -> CartView:
        lines = self.store.cart(customer_id)
        products = {p.id: p for p in self.catalog.get_many([ln.product_id for ln in lines])}
        return CartView(
            [CartItem(ln.product_id, ln.quantity, products.get(ln.product_id)) for ln in lines]
        )

    def add_to_cart(
        self, product_id: str, customer_id: Customer, quantity: int = 1
    ) -> tuple[str, CartChange]:
        """Add a product to the signed-in customer's cart, if the stock allows it.

        Args:
            product_id: The catalog id of the product.
            customer_id: The signed-in customer (injected by code).
            quantity: How many to add.
        """
        change = self._put(product_id, customer_id, quantity, add=True)
        content = {"added": change.ok, "problem": change.problem, "quantity": change.quantity}
        return json.dumps({**content, "cart": change.cart.as_json()}), change

    def set_cart_quantity(
        self, product_id: str, customer_id: Customer, quantity: int
    ) -> tuple[str, CartChange]:
        """Set how many of a product the signed-in customer's cart holds, if the stock allows it.

        Args:
            product_id: The catalog id of the product.
            customer_id: The signed-in customer (injected by code).
            quantity: How many the cart should hold (at least 1).
        """
        change = self._put(product_id, customer_id, max(1, quantity), add=False)
        content = {"set": change.ok, "problem": change.problem, "quantity": change.quantity}
        return json.dumps({**content, "cart": change.cart.as_json()}), change

    def _put(self, product_id: str, customer_id: str, quantity: int, add: bool) -> CartChange:
        """Add `quantity` of a product to the cart (`add`) or make the cart hold that many, if
        the stock allows it; fewer than now is always allowed."""
        have = {ln.product_id: ln.quantity for ln in self.store.cart(customer_id)}
        current = have.get(product_id, 0)
        target = current + quantity if add else quantity
        product = self.catalog.get(product_id)
        problem = None
        if product is None:
            problem = "unknown product"
        elif target > current and product.stock <= 0:
            problem = "out of stock"
        elif target > current and target > product.stock:
            problem = "not enough stock"
        if problem is None:
            self.store.set_cart_quantity(customer_id, product_id, target)
            current = target
        return CartChange(problem is None, problem, product, current, self._cart(customer_id))

    def remove_from_cart(self, product_id: str, customer_id: Customer) -> tuple[str, CartChange]:
        """Remove a product from the signed-in customer's cart.

        Args:
            product_id: The catalog id of the product.
            customer_id: The signed-in customer (injected by code).
        """
        had = any(ln.product_id == product_id for ln in self.store.cart(customer_id))
        if had:
            self.store.set_cart_quantity(customer_id, product_id, 0)
        change = CartChange(
            had,
            None if had else "not in cart",
            self.catalog.get(product_id),
            0,
            self._cart(customer_id),
        )
        return json.dumps({"removed": had, "cart": change.cart.as_json()}), change

    def view_cart(self, customer_id: Customer) -> tuple[str, CartView]:
        """The signed-in customer's cart, priced from the catalog now.

        Args:
            customer_id: The signed-in customer (injected by code).
        """
        cart = self._cart(customer_id)
        return json.dumps(cart.as_json(), ensure_ascii=False), cart

    # -- policies and people -------------------------------------------------------------------

    def search_policies(self, question: str) -> tuple[str, list[PolicyHit]]:
        """Find the store policy passages that answer a question.

        Args:
            question: The customer's question.
        """
        hits = self.policies.search(question)
        content = [{"section": h.passage.title, "text": h.passage.text} for h in hits]
        return json.dumps(content, ensure_ascii=False), hits

    def handoff(
        self,
        reason: str,
        intent: str,
        session_id: Annotated[str, InjectedToolArg],
        customer_id: Annotated[str | None, InjectedToolArg],
        transcript: Annotated[list[dict[str, Any]], InjectedToolArg],
        order_id: str | None = None,
    ) -> tuple[str, HandoffTicket]:
        """Pass the conversation to a human agent, with its transcript and order context.

        Args:
            reason: Why a human is needed.
            intent: What the customer wants.
            session_id: The conversation (injected by code).
            customer_id: The signed-in customer, if any (injected by code).
            transcript: The conversation so far (injected by code).
            order_id: The order the conversation is about, if any.
        """
        order = self.store.order(customer_id, order_id) if customer_id and order_id else None
        context: dict[str, Any] = {"order": order_json(order) if order else None}
        if customer_id:
            customer = self.store.customer(customer_id)
            context["customer"] = None if customer is None else customer.__dict__
        entry, position = self.store.enqueue_handoff(
            session_id,
            customer_id,
            intent,
            reason,
            order.id if order else None,
            context,
            transcript,
        )
        content = {
            "ticket": f"H-{entry.id}",
            "position": position,
            "status": entry.status,
            "order_id": entry.order_id,
        }
        return json.dumps(content), HandoffTicket(entry, position)
