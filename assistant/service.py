"""The customer-service side of a turn: orders, returns, cancellations, cart, policies, handoff.

`ServiceDesk` is the interface the turn loop calls for those intents. `NoServiceDesk` is what a
deployment without a store database gets: it says plainly what this assistant cannot do, and
never pretends that an order was found, a return started or a human is on the way.
`StoreServiceDesk` is the real one, over the store database (`assistant.service_tools`).

Its flows follow the ABCD customer-service guidelines (`../shared/data/service/abcd`), whose
kb.json gives each flow's action sequence, e.g. refund_initiate = pull-up-account,
validate-purchase, record-reason, enter-details, offer-refund, and status_delivery_time =
pull-up-account, verify-identity, ask-the-oracle, shipping-status. Here:

- *pull-up-account / verify-identity* is the signed-in session: no customer, no order tools;
  every tool receives the session's customer from code, never from the model.
- *validate-purchase* is the ownership check in the store's SQL: another customer's order
  reads exactly as a missing one, in the reply and in what happens next.
- *record-reason* keeps the customer's words and declared item condition with the RMA.
- *ask-the-oracle* is the policy code (`assistant.policy`), which decides; the reply quotes the
  policy section that decided it, as ABCD's agents read the FAQ answer to the customer.
- *offer-refund / update-order* (the state change) happens only after the customer answers
  "yes" to the very next message, as ABCD agents confirm before they click; the write
  re-checks the policy and is idempotent (one RMA per order).
- ABCD's storewide FAQ flows (search-faq, select-faq) are the policy questions: the retrieved
  passage is quoted and cited, never paraphrased into something it does not say.
- An agent is brought in on request, on an angry customer, or after two turns without progress,
  with the transcript, the intent and the order context (ABCD's notify-team).
"""

from __future__ import annotations

import re
from contextlib import AbstractContextManager
from datetime import date
from typing import Any, Protocol

from assistant.intent import Intent, IntentName
from assistant.parser import NAMES_CART, MessageParser, is_closing
from assistant.policy import (
    RETURN_WINDOW_DAYS,
    Condition,
    ReturnDecision,
    condition_in,
    policy_section,
)
from assistant.policy_index import PolicyHit
from assistant.reply import Draft, ProductCard
from assistant.service_tools import CartChange, CartView, HandoffTicket, ServiceTools
from assistant.state import SessionState, SessionStore
from assistant.store import Order, Rma
from assistant.tools import ToolResult, money, stock_phrase
from retrieval.lexical import tokenize


class ServiceDesk(Protocol):
    """Handles the service intents of a turn."""

    def takes(self, intent: Intent, state: SessionState, text: str) -> bool:
        """Whether the desk takes this turn whatever its intent: the answer to a pending
        confirmation, an angry customer, or a stalled service conversation."""
        ...

    def handle(self, intent: Intent, state: SessionState, text: str) -> Draft:
        """The draft reply for a service intent (orders, cart, returns, policy, handoff)."""
        ...

    def policy_answer(self, text: str) -> Draft | None:
        """The store policy passage a product question asks about too ("does the 2nd one have
        a warranty?"), quoted; None when the desk has no policy or none answers it."""
        ...


_CANNOT = {
    IntentName.ADD_TO_CART: "add products to a cart",
    IntentName.VIEW_CART: "show a cart",
    IntentName.ORDER_STATUS: "look up orders",
    IntentName.RETURN_REQUEST: "start returns",
    IntentName.CANCEL_ORDER: "cancel orders",
    IntentName.POLICY_QUESTION: "answer questions about store policies",
    IntentName.HANDOFF: "connect you to a human agent",
}


class NoServiceDesk:
    """The honest answer of an assistant that has no store behind it."""

    def takes(self, intent: Intent, state: SessionState, text: str) -> bool:
        """Never: without a store there is nothing to confirm or escalate."""
        return False

    def policy_answer(self, text: str) -> Draft | None:
        """None: without a store there is no store policy to quote."""
        return None

    def handle(self, intent: Intent, state: SessionState, text: str) -> Draft:
        """Say which service this deployment does not offer, and what it can do instead."""
        what = _CANNOT.get(intent.intent, "help with that")
        return Draft(
            intro=(
                f"Sorry, this assistant is not connected to the store's systems, so I cannot "
                f"{what} here. I can search the catalog and answer questions about products."
            )
        )


STALLS_BEFORE_HANDOFF = 2
_YES = re.compile(
    r"^\s*(yes|yeah|yep|yup|sure|ok(?:ay)?|confirm(?:ed)?|please do|do it|go ahead|correct|"
    r"y)\b",
    re.I,
)
_NO = re.compile(r"^\s*(no|nope|nah|don'?t|do not|never ?mind|not now|n)\b", re.I)
_ANGRY = re.compile(
    r"\b(ridiculous|useless|terrible|awful|worst|furious|angry|unacceptable|pathetic|scam|"
    r"fed up|wtf|stupid|hate|disgusting|outrageous|incompetent|a joke|fuck\w*|shit\w*)\b",
    re.I,
)
# "!!" in these is glad, not upset: a product request, a greeting, thanks
_GLAD_INTENTS = frozenset(
    {
        IntentName.SEARCH,
        IntentName.REFINE,
        IntentName.PRODUCT_QUESTION,
        IntentName.COMPARE,
        IntentName.ADD_TO_CART,
        IntentName.VIEW_CART,
        IntentName.GREETING,
    }
)
_GLAD = re.compile(
    r"\b(thanks?|thank you|great|awesome|perfect|love|amazing|cool|yay)\b|"
    "[\U0001f600-\U0001f64f\U0001f44d\u2764\u263a]",  # smiling faces, thumbs up, hearts
    re.I,
)
_NUMBER = re.compile(r"(?<![\w$.])#?(\d{3,10})\b(?![.,]\d)")
_REMOVE = re.compile(r"\b(remove|delete|take (?:\w+ )?out|drop|get rid of)\b", re.I)
_RETURN_ORDER = re.compile(r"\breturn (?:order|#?\d)", re.I)
_LAST_ORDER = re.compile(r"\b(?:last|latest|most recent|newest)\s+(?:order|purchase)\b", re.I)
# What a return or cancellation is for, when it names it: "return the headphones", "send back
# my new mouse", "cancel the usb cable". "Return it, the box is cracked" names nothing.
_OBJECT = re.compile(
    r"\b(?:return|send\s+back|cancel|exchange|refund)\s+(?:the|my|this|that|these|those|a|an)\s+"
    r"(?P<what>[\w' -]+?)(?=\s*(?:$|[,.!?;]|\b(?:because|as|since|from|for|it|they|which|that|"
    r"please|i|we|so|and|but|is|are|was|were)\b))",
    re.I,
)
# Words of that phrase that name no product ("my order", "the items").
_ORDER_WORDS = frozenset(
    "order orders purchase purchases item items thing things product products stuff one ones "
    "last latest recent newest previous whole entire".split()
)

_LATEST = re.compile(r"\b(last|latest|most recent|newest|previous)\b", re.I)
_REFUND_ASKED = re.compile(r"\b(refunds?|returns?|rma|money)\b", re.I)
_ON_THE_WAY = ("processing", "shipped")  # not delivered, cancelled or returned yet
_LIST = re.compile(r"\b(orders|order history|all (?:of )?my|list)\b", re.I)
_SIGN_IN = (
    "Please sign in first: I can only look up orders, returns and carts for a signed-in customer."
)
_DECLARED = {
    Condition.UNOPENED: "unused and in their original packaging",
    Condition.OPENED: "opened",
    Condition.DEFECTIVE: "defective",
}


def answer(text: str) -> bool | None:
    """A yes (True), a no (False) or neither (None)."""
    if _NO.match(text):
        return False
    return True if _YES.match(text) else None


def angry(text: str, intent: IntentName | None = None) -> bool:
    """Whether the message reads as an upset customer: strong words, shouting, or "!!" in a
    message that is no glad request or thanks ("headphones!!!", "thanks so much!!" are not
    upset)."""
    shouted = [w for w in re.findall(r"[A-Za-z]{3,}", text) if w.isupper()]
    if _ANGRY.search(text) or len(shouted) >= 3:
        return True
    glad = intent in _GLAD_INTENTS or is_closing(text) or bool(_GLAD.search(text))
    return "!!" in text and not glad


def quote(passage_title: str) -> tuple[str, str]:
    """A policy section as quoted in a reply (cited by title), and its text as evidence."""
    passage = policy_section(passage_title)
    return f'Our store policy ("{passage.title}") says: "{passage.text}"', passage.text


Outcome = tuple[Draft, bool]  # the draft, and whether the turn made progress


def _named(text: str) -> list[str]:
    """The product words a return or cancellation names ("the headphones"), if any."""
    found = _OBJECT.search(text)
    if found is None:
        return []
    return [w for w in MessageParser.content(found["what"]) if w.lower() not in _ORDER_WORDS]


class StoreServiceDesk:
    """Orders, returns, cancellations, cart, policies and handoff over the store database.

    Args:
        tools: The service tools (store, catalog, policy index).
        sessions: The conversation store, for the transcript a handoff carries.
    """

    def __init__(self, tools: ServiceTools, sessions: SessionStore | None = None) -> None:
        self.tools, self.sessions = tools, sessions

    # -- the protocol --------------------------------------------------------------------------

    def sandbox(self) -> AbstractContextManager[None]:
        """A block whose store writes are undone afterwards (see `Store.sandbox`)."""
        return self.tools.store.sandbox()

    def takes(self, intent: Intent, state: SessionState, text: str) -> bool:
        """Whether the desk takes this turn whatever its intent: the answer to a pending
        confirmation (or the order number it asked for), an angry customer, or a stalled
        service conversation."""
        if state.pending is not None:
            if answer(text) is not None:
                return True
            if state.pending.get("order_id") is None and (intent.order_id or _NUMBER.search(text)):
                return True
        if angry(text, intent.intent):
            return True
        return state.stalls > 0 and intent.intent is IntentName.OTHER

    def handle(self, intent: Intent, state: SessionState, text: str) -> Draft:
        """Answer a service turn; the second turn in a row without progress goes to a human."""
        prior, state.stalls = state.stalls, 0
        pending, state.pending = state.pending, None  # asked for the next message only
        draft, progress = self._route(intent, state, text, pending)
        if progress or draft.handoff:
            return draft
        state.stalls = prior + 1
        if state.stalls >= STALLS_BEFORE_HANDOFF:
            return self._handoff(
                intent, state, text, "two turns without progress", "I am sorry I could not help."
            )
        return draft

    # -- routing -------------------------------------------------------------------------------

    def _route(
        self, intent: Intent, state: SessionState, text: str, pending: dict[str, Any] | None
    ) -> Outcome:
        if pending is not None:
            said = answer(text)
            number = intent.order_id or (m[1] if (m := _NUMBER.search(text)) else None)
            if pending.get("order_id") is None and number and said is None:
                name = IntentName(pending["intent"])
                return self._order_action(name, number, state, text)
            if said is True and pending.get("order_id"):
                return self._confirmed(pending, state, text)
            if said is not None:
                return Draft(intro="All right, I have not changed anything."), True
        if angry(text, intent.intent):
            return self._handoff(
                intent, state, text, "the customer is upset", "I am sorry about this."
            ), True
        name = intent.intent
        if name is IntentName.HANDOFF:
            return self._handoff(intent, state, text, "the customer asked for a human"), True
        if name is IntentName.POLICY_QUESTION:
            answered = self._policy(text)
            if intent.order_id and self._signed_in(state):
                # "I entered the wrong address for order 1041": the rule, then where that
                # order stands under it
                draft, _ = answered
                status, found = self._status(intent.order_id, state)
                if found:
                    draft.body = "\n\n".join(p for p in (draft.body, status.intro) if p)
                    draft.passages = [*draft.passages, *status.passages]
                draft.tools_called = [*draft.tools_called, *status.tools_called]
            return answered
        if name is IntentName.OTHER:
            return Draft(
                intro="I am not sure what you need. I can check an order, start a return, "
                "cancel an order that has not shipped, show your cart or quote our policies."
            ), False
        if not self._signed_in(state):
            return Draft(intro=_SIGN_IN), True
        if name is IntentName.ADD_TO_CART:
            return self._add(intent, state)
        if name is IntentName.VIEW_CART:
            return self._remove(intent, state, text) if _REMOVE.search(text) else self._cart(state)
        if name is IntentName.ORDER_STATUS and _RETURN_ORDER.search(text):
            name = IntentName.RETURN_REQUEST  # "return order 1001": the parser reads a status
        if name is IntentName.ORDER_STATUS:
            if intent.order_id:
                return self._status(intent.order_id, state)
            if _REFUND_ASKED.search(text):
                return self._returns(state)  # "what's the status of my refund?"
            if _LATEST.search(text) and not _LIST.search(text):
                return self._latest(state)  # "what did I order last?"
            if state.order_id and not _LIST.search(text):
                return self._status(state.order_id, state)
            if _LIST.search(text):
                return self._orders(state)
            return self._on_the_way(state)  # "where is my order?", "when will it arrive?"
        # "my last order" is the newest, "the headphones" the order that holds them: not
        # the order the conversation was about
        newest, words = bool(_LAST_ORDER.search(text)), _named(text)
        order_id = intent.order_id or (None if newest or words else state.order_id)
        if order_id is None:
            return self._which(name, state, text, newest, words)
        return self._order_action(name, order_id, state, text)

    def _today(self) -> date:
        return self.tools.store.now().date()

    def _signed_in(self, state: SessionState) -> bool:
        customer = state.customer_id
        return customer is not None and self.tools.store.customer(customer) is not None

    def _call(self, name: str, args: dict[str, Any], state: SessionState) -> ToolResult:
        return self.tools.call(name, {**args, "customer_id": state.customer_id})

    # -- orders --------------------------------------------------------------------------------

    @staticmethod
    def _not_found(order_id: str, called: ToolResult) -> Outcome:
        # The same words, tools and state for a missing order and another customer's order.
        return Draft(
            intro=f"I could not find order {order_id} in your account. Please check the number; "
            'you can say "my orders" to see yours.',
            passages=[called.content],
            tools_called=[called.name],
        ), False

    def _status(self, order_id: str, state: SessionState) -> Outcome:
        called = self._call("order_status", {"order_id": order_id}, state)
        order: Order | None = called.artifact
        if order is None:
            return self._not_found(order_id, called)
        state.order_id = order.id
        return Draft(
            intro=status_text(order, self._today()),
            passages=[called.content],
            tools_called=[called.name],
        ), True

    def _latest(self, state: SessionState) -> Outcome:
        """The newest order's status and items."""
        called = self._call("list_orders", {}, state)
        orders: list[Order] = called.artifact
        if not orders:
            return Draft(intro="You have no orders yet.", tools_called=[called.name]), True
        outcome, progress = self._status(orders[0].id, state)  # newest first
        outcome.intro = "Your latest order: " + outcome.intro
        outcome.tools_called = [called.name, *outcome.tools_called]
        return outcome, progress

    def _statuses(
        self, orders: list[Order], state: SessionState
    ) -> tuple[list[ToolResult], list[str]]:
        """The `order_status` call of each order, and the status texts of those it found."""
        calls = [self._call("order_status", {"order_id": o.id}, state) for o in orders]
        today = self._today()
        return calls, [status_text(c.artifact, today) for c in calls if c.artifact is not None]

    def _returns(self, state: SessionState) -> Outcome:
        """Where the customer's returns stand: each order with a return, its status and
        items, then when refunds are paid (the policy's words)."""
        called = self._call("list_orders", {}, state)
        orders: list[Order] = called.artifact  # newest first
        returned = [o for o in orders if o.rma]
        if not returned:
            return Draft(
                intro='You have no returns. To start one, say "I want to return order" and its '
                "number.",
                passages=[called.content],
                tools_called=[called.name],
            ), True
        statuses, texts = self._statuses(returned, state)
        draft = Draft(
            intro="Your returns, newest first:" if len(texts) > 1 else "Your return:",
            body="\n\n".join(texts),
            passages=[called.content, *(c.content for c in statuses)],
            tools_called=[called.name, *(c.name for c in statuses)],
        )
        policy, _ = self._policy("when is my refund paid")
        if policy.body:
            draft.body += f"\n\n{policy.intro}\n{policy.body}"
            draft.passages = [*draft.passages, *policy.passages]
            draft.tools_called = [*draft.tools_called, *policy.tools_called]
        return draft, True

    def _on_the_way(self, state: SessionState) -> Outcome:
        """One order asked after without its number: the orders not delivered yet (being
        prepared or shipped), each with its status and tracking; the newest when none is."""
        called = self._call("list_orders", {}, state)
        orders: list[Order] = called.artifact  # newest first
        open_ = [o for o in orders if o.status in _ON_THE_WAY]
        if not open_:
            if not orders:
                return Draft(intro="You have no orders yet.", tools_called=[called.name]), True
            outcome, progress = self._status(orders[0].id, state)
            outcome.intro = "None of your orders is on its way. Your latest: " + outcome.intro
            outcome.tools_called = [called.name, *outcome.tools_called]
            return outcome, progress
        statuses, texts = self._statuses(open_, state)
        if len(texts) == 1:
            state.order_id = open_[0].id  # "can I cancel it?" is about this one
            intro = "Your order on its way: " + texts[0]
        else:
            intro = f"You have {len(texts)} orders on their way, newest first:\n\n" + "\n\n".join(
                texts
            )
            intro += '\n\nSay "my orders" to see all of them.'
        return Draft(
            intro=intro,
            passages=[called.content, *(c.content for c in statuses)],
            tools_called=[called.name, *(c.name for c in statuses)],
        ), True

    def _orders(self, state: SessionState) -> Outcome:
        called = self._call("list_orders", {}, state)
        orders: list[Order] = called.artifact
        if not orders:
            return Draft(intro="You have no orders yet.", tools_called=[called.name]), True
        lines = [
            f"- Order {o.id}: {o.status}, placed {o.placed_at.date().isoformat()}, "
            f"{money(o.total, o.currency)}" + (f" (return {o.rma.id})" if o.rma else "")
            for o in orders
        ]
        return Draft(
            intro="Your orders, newest first:",
            body="\n".join(lines),
            passages=[called.content],
            tools_called=[called.name],
        ), True

    def _which(
        self, name: IntentName, state: SessionState, text: str, newest: bool, words: list[str]
    ) -> Outcome:
        """The order a return or cancellation without a number is for: the newest when the
        message says "my last order" (`newest`, whatever order the conversation was about),
        the one that holds the product it names (`words`: "return the headphones"), or else
        the question which, listing the orders it could be."""
        called = self._call("list_orders", {}, state)
        orders: list[Order] = called.artifact  # newest first
        if orders and newest:  # "cancel my last order"
            return self._listed_then(called, name, orders[0].id, state, text)
        wanted = "delivered" if name is IntentName.RETURN_REQUEST else "processing"
        fits = [o for o in orders if o.status == wanted and o.rma is None]
        action = "return" if name is IntentName.RETURN_REQUEST else "cancel"
        why = "delivered" if wanted == "delivered" else "not shipped yet"
        if not fits:
            return Draft(
                intro=f"You have no {why} order that I could {action}.",
                tools_called=[called.name],
            ), True
        named = set(tokenize(" ".join(words)))
        holding = [
            o for o in fits if named and any(named & set(tokenize(ln.title)) for ln in o.lines)
        ]
        if len(holding) == 1:
            return self._listed_then(called, name, holding[0].id, state, text)
        yours = "delivered orders" if wanted == "delivered" else "orders not shipped yet"
        said = f"None of your {yours} holds {' '.join(words)!r}. " if named and not holding else ""
        state.pending = {"intent": name.value, "order_id": None}
        lines = [
            f"- Order {o.id}: " + ", ".join(f"{ln.quantity} x {ln.title}" for ln in o.lines)
            for o in holding or fits
        ]
        return Draft(
            intro=f"{said}Which order do you want to {action}? Please give its number.",
            body="\n".join(lines),
            passages=[called.content],
            tools_called=[called.name],
        ), True

    def _listed_then(
        self, listed: ToolResult, name: IntentName, order_id: str, state: SessionState, text: str
    ) -> Outcome:
        """`_order_action` on an order found in the customer's list (`listed`)."""
        draft, progress = self._order_action(name, order_id, state, text)
        draft.tools_called = [listed.name, *draft.tools_called]
        draft.passages = [listed.content, *draft.passages]
        return draft, progress

    def _order_action(
        self, name: IntentName, order_id: str, state: SessionState, text: str
    ) -> Outcome:
        if name is IntentName.CANCEL_ORDER:
            return self._cancel(order_id, state)
        return self._return(order_id, state, text)

    # -- returns -------------------------------------------------------------------------------

    def _return(self, order_id: str, state: SessionState, text: str) -> Outcome:
        condition = condition_in(text) or Condition.UNOPENED
        called = self._call("check_return", {"order_id": order_id, "condition": condition}, state)
        if called.artifact is None:
            return self._not_found(order_id, called)
        order, decision = called.artifact
        state.order_id = order.id
        tools = [called.name]
        if order.rma is not None:
            return self._existing(order.rma, called), True
        if not decision.allowed:
            return self._refused(decision, called), True
        said, evidence = quote("Returns: the return window")
        state.pending = {
            "intent": IntentName.RETURN_REQUEST.value,
            "order_id": order.id,
            "condition": condition.value,
            "reason": text[:300],
        }
        delivered = order.shipment.delivered_at.date().isoformat()
        body = [f"- {ln.quantity} x {ln.title}" for ln in decision.lines]
        if decision.excluded:
            body.append("Not included, as our policy does not take them back in this condition:")
            body += [f"- {ln.quantity} x {ln.title}" for ln in decision.excluded]
        body.append(
            f"By confirming, you tell us the items are {_DECLARED[condition]}. Shall I start "
            'the return? Please answer "yes" or "no".'
        )
        return Draft(
            intro=f"Order {order.id} was delivered on {delivered}, {decision.days} days ago, "
            f"within our {RETURN_WINDOW_DAYS}-day return window. I can start a return for:",
            body="\n".join(body),
            passages=[called.content, evidence, said],
            tools_called=tools,
        ), True

    @staticmethod
    def _existing(rma: Rma, called: ToolResult) -> Draft:
        return Draft(
            intro=f"A return for order {rma.order_id} already exists: {rma.id}, status "
            f"{rma.status}, opened on {rma.created_at.date().isoformat()}. I have not opened "
            "another one.",
            passages=[called.content],
            tools_called=[called.name],
        )

    @staticmethod
    def _refused(decision: ReturnDecision, called: ToolResult) -> Draft:
        said, evidence = quote(decision.section)
        body = [said]
        if decision.excluded:
            body.insert(0, "Items: " + "; ".join(ln.title for ln in decision.excluded) + ".")
        if decision.section == "Warranty":
            body.append('A human agent can arrange it: say "agent" and I will pass you on.')
        return Draft(
            intro=f"I cannot start a return: {decision.reason}.",
            body="\n".join(body),
            passages=[called.content, evidence],
            tools_called=[called.name],
        )

    def _confirmed(self, pending: dict[str, Any], state: SessionState, text: str) -> Outcome:
        if pending["intent"] == IntentName.CANCEL_ORDER.value:
            return self._do_cancel(pending["order_id"], state)
        condition = condition_in(text) or Condition(pending["condition"])
        args = {
            "order_id": pending["order_id"],
            "condition": condition,
            "reason": pending["reason"],
        }
        called = self._call("start_return", args, state)
        rma, created, decision = called.artifact
        if rma is None and decision is not None:
            return self._refused(decision, called), True
        if rma is None:
            return self._not_found(pending["order_id"], called)
        if not created:
            return self._existing(rma, called), True
        said, evidence = quote("Returns: refunds")
        return Draft(
            intro=f"Done: return {rma.id} is open for order {rma.order_id}.",
            body=said,
            passages=[called.content, evidence],
            tools_called=[called.name],
            state_changed=True,
        ), True

    # -- cancellations -------------------------------------------------------------------------

    def _cancel(self, order_id: str, state: SessionState) -> Outcome:
        called = self._call("order_status", {"order_id": order_id}, state)
        order: Order | None = called.artifact
        if order is None:
            return self._not_found(order_id, called)
        state.order_id = order.id
        passages, tools = [called.content], [called.name]
        if order.status == "cancelled":
            intro = f"Order {order.id} is already cancelled."
            return Draft(intro=intro, passages=passages, tools_called=tools), True
        if order.status != "processing":
            said, evidence = quote("Cancellations")
            return Draft(
                intro=f"Order {order.id} has already shipped ({order.status}), so it can no "
                "longer be cancelled.",
                body=said,
                passages=[*passages, evidence],
                tools_called=tools,
            ), True
        state.pending = {"intent": IntentName.CANCEL_ORDER.value, "order_id": order.id}
        items = ", ".join(f"{ln.quantity} x {ln.title}" for ln in order.lines)
        return Draft(
            intro=f"Order {order.id} ({items}; {money(order.total, order.currency)}) has not "
            'shipped yet, so it can be cancelled. Shall I cancel it? Please answer "yes" or "no".',
            passages=passages,
            tools_called=tools,
        ), True

    def _do_cancel(self, order_id: str, state: SessionState) -> Outcome:
        called = self._call("cancel_order", {"order_id": order_id}, state)
        order: Order | None = called.artifact
        if order is None:
            return self._not_found(order_id, called)
        if order.status != "cancelled":
            return Draft(
                intro=f"Order {order.id} shipped in the meantime ({order.status}), so I could "
                "not cancel it. You can return it once it is delivered.",
                passages=[called.content],
                tools_called=[called.name],
            ), True
        return Draft(
            intro=f"Order {order.id} is cancelled.",
            passages=[called.content],
            tools_called=[called.name],
            state_changed=True,
        ), True

    # -- cart ----------------------------------------------------------------------------------

    def _add(self, intent: Intent, state: SessionState) -> Outcome:
        if intent.refs:
            n = len(state.shown)
            positions = [n if r == -1 else r for r in intent.refs]
            if not n or any(not 1 <= p <= n for p in positions):
                return Draft(intro="Which product do you mean? Search for it first."), False
            ids = [state.shown[p - 1] for p in positions]
        elif state.subject:
            ids = [state.subject]
        elif len(state.shown) == 1:
            ids = state.shown[:1]
        else:
            return Draft(
                intro='Which product should I add? You can say "add the second one to my cart" '
                "after a search."
            ), False
        said, cards, changed, passages, tools = [], [], False, [], []
        changes: list[CartChange] = []
        tool = "set_cart_quantity" if intent.set_quantity else "add_to_cart"
        for product_id in ids:
            called = self._call(
                tool, {"product_id": product_id, "quantity": intent.quantity}, state
            )
            change: CartChange = called.artifact
            changes.append(change)
            tools.append(called.name)
            passages.append(called.content)
            p = change.product
            if p is None:
                said.append("That product is no longer in the catalog.")
                continue
            cards.append(ProductCard.of(p, "added to your cart" if change.ok else "not added"))
            if change.ok and intent.set_quantity:
                changed = True
                said.append(
                    f"Your cart now holds {change.quantity} x {p.title} "
                    f"({money(p.price, p.currency)} each)."
                )
            elif change.ok:
                changed = True
                many = f"{intent.quantity} x " if intent.quantity > 1 else ""
                each = " each" if intent.quantity > 1 else ""
                said.append(
                    f"Added {many}{p.title} ({money(p.price, p.currency)}{each}) to your cart."
                )
            elif change.problem == "out of stock":
                said.append(f"{p.title} is out of stock, so I cannot add it.")
            elif intent.set_quantity:
                said.append(
                    f"{p.title} is {stock_phrase(p.stock)}, so your cart cannot hold "
                    f"{intent.quantity}; it holds {change.quantity}."
                )
            else:
                said.append(
                    f"{p.title} is {stock_phrase(p.stock)}, and your cart already holds "
                    f"{change.quantity}, so I cannot add "
                    + (f"{intent.quantity} more." if intent.quantity > 1 else "more.")
                )
        passages.append(f"The customer asked for {intent.quantity}.")
        cart = change.cart  # the cart after the last change, priced from the catalog
        return Draft(
            intro=" ".join(said),
            body=_cart_summary(cart),
            cards=cards,
            subject=ids[-1] if len(ids) == 1 else None,  # "add 2 more" adds more of it
            evidence=[i.product for i in cart.items if i.product]
            + [c.product for c in changes if c.product],
            passages=passages,
            tools_called=tools,
            state_changed=changed,
            # A product the stock refuses is an answer, not a turn without progress: two such
            # refusals in a row are no reason to call a person.
        ), changed or any(c.product is not None for c in changes)

    def _cart(self, state: SessionState) -> Outcome:
        called = self._call("view_cart", {}, state)
        cart: CartView = called.artifact
        if not cart.items:
            return Draft(intro="Your cart is empty.", tools_called=[called.name], shown=[]), True
        cards = [ProductCard.of(i.product, "in your cart") for i in cart.items if i.product]
        return Draft(
            intro="Your cart, at today's prices:",
            body=_cart_lines(cart) + "\n" + _cart_summary(cart),
            cards=cards,
            evidence=[i.product for i in cart.items if i.product],
            passages=[called.content],
            tools_called=[called.name],
            shown=[i.product_id for i in cart.items],
        ), True

    def _remove(self, intent: Intent, state: SessionState, text: str) -> Outcome:
        cart: CartView = self._call("view_cart", {}, state).artifact
        items = cart.items
        words = set(re.findall(r"[a-z0-9]{3,}", text.lower())) - {"remove", "cart", "from", "the"}
        if not items:
            return Draft(intro="Your cart is empty, so there is nothing to remove.", shown=[]), True
        in_cart = [i.product_id for i in items]
        if intent.refs and state.shown and state.shown != in_cart and not NAMES_CART.search(text):
            # "remove the second one" points at the list shown last, which is not the cart:
            # remove that product if it is in the cart, never the cart's second line ("the
            # second one in my cart" is).
            n = len(state.shown)
            positions = [n if r == -1 else r for r in intent.refs]
            ids = [state.shown[p - 1] for p in positions if 1 <= p <= n]
            target = [i for i in items if i.product_id in ids]
            if ids and not target:
                return Draft(
                    intro="That product is not in your cart.",
                    body=_cart_summary(cart),
                    passages=[money(cart.total, "USD")],
                ), False
        elif intent.refs and items:
            positions = [len(items) if r == -1 else r for r in intent.refs]
            target = [items[p - 1] for p in positions if 1 <= p <= len(items)]
        elif len(items) == 1:
            target = items
        else:
            target = [
                i
                for i in items
                if i.product and words & set(re.findall(r"[a-z0-9]{3,}", i.product.title.lower()))
            ][:1]
        if not target:
            return Draft(
                intro='Which item should I remove? Say "show my cart", then "remove the second '
                'one from my cart".'
            ), False
        said, passages, tools = [], [], []
        removed = [i.product for i in target if i.product]
        for item in target:
            called = self._call("remove_from_cart", {"product_id": item.product_id}, state)
            tools.append(called.name)
            passages.append(called.content)
            cart = called.artifact.cart
            title = item.product.title if item.product else item.product_id
            said.append(f"Removed {title} from your cart.")
        return Draft(
            intro=" ".join(said),
            body=_cart_summary(cart, emptied=True),
            evidence=[i.product for i in cart.items if i.product] + removed,
            passages=passages,
            tools_called=tools,
            shown=[i.product_id for i in cart.items],
            state_changed=True,
        ), True

    # -- policies and people -------------------------------------------------------------------

    def policy_answer(self, text: str) -> Draft | None:
        """The policy passage that answers `text`, quoted; None when none does."""
        draft, found = self._policy(text)
        return draft if found else None

    def _policy(self, text: str) -> Outcome:
        called = self.tools.call("search_policies", {"question": text})
        hits: list[PolicyHit] = called.artifact
        if not hits:
            return Draft(
                intro="I could not find that in our store policy, so I will not guess. A human "
                'agent can answer it: say "agent" and I will pass you on.',
                tools_called=[called.name],
            ), False
        passage = hits[0].passage
        return Draft(
            intro=f'Our store policy ("{passage.title}") says:',
            body=f'"{passage.text}"',
            passages=[passage.text, passage.title],
            tools_called=[called.name],
        ), True

    def _handoff(
        self, intent: Intent, state: SessionState, text: str, reason: str, opening: str = ""
    ) -> Draft:
        transcript = [
            {"role": line.role, "text": line.text}
            for line in (self.sessions.transcript(state.session_id) if self.sessions else [])
        ] + [{"role": "user", "text": text}]
        order_id = intent.order_id or state.order_id
        called = self.tools.call(
            "handoff",
            {
                "reason": reason,
                "intent": intent.intent.value,
                "order_id": order_id,
                "session_id": state.session_id,
                "customer_id": state.customer_id if self._signed_in(state) else None,
                "transcript": transcript,
            },
        )
        ticket: HandoffTicket = called.artifact
        about = f" and order {ticket.entry.order_id}" if ticket.entry.order_id else ""
        state.stalls = 0
        return Draft(
            intro=" ".join(
                p
                for p in (
                    opening,
                    f"I have passed our conversation to a human agent (ticket H-{ticket.entry.id}; "
                    f"you are number {ticket.position} in the queue). The agent sees this chat"
                    f"{about}, so you will not need to repeat anything, and will reply here.",
                )
                if p
            ),
            passages=[called.content],
            tools_called=[called.name],
            handoff=True,
        )


def status_text(order: Order, today: date | None = None) -> str:
    """An order's status, items and tracking as the customer reads them; a shipped order past
    its expected date (on `today`) says so, and how to have it looked into."""
    placed = order.placed_at.date().isoformat()
    ship = order.shipment
    head = f"Order {order.id} (placed {placed}) "
    if order.status == "processing":
        head += "is being prepared; it has not shipped yet, so it can still be cancelled."
    elif order.status == "shipped" and ship:
        head += (
            f"shipped on {ship.shipped_at.date().isoformat()} with {ship.carrier}, tracking "
            f"number {ship.tracking}; it is expected on {ship.eta.date().isoformat()}."
        )
        late = (today - ship.eta.date()).days if today else 0
        if late > 0:
            head += (
                f" That is {late} day{'s' if late != 1 else ''} ago: if it has not arrived, say "
                '"agent" and a human agent will look into it with the carrier.'
            )
    elif order.status in ("delivered", "returned") and ship and ship.delivered_at:
        head += f"was delivered on {ship.delivered_at.date().isoformat()} ({ship.carrier}, "
        head += f"tracking number {ship.tracking})."
    else:
        head += f"is {order.status}."
    if order.rma:
        head += f" Return {order.rma.id} is {order.rma.status}."
    items = [
        f"- {ln.quantity} x {ln.title} ({money(ln.unit_price, ln.currency)} each)"
        for ln in order.lines
    ]
    return "\n".join([head, *items, f"Total: {money(order.total, order.currency)}"])


def _cart_lines(cart: CartView) -> str:
    lines = []
    for n, item in enumerate(cart.items, 1):
        p = item.product
        if p is None:
            lines.append(f"{n}. {item.product_id} - no longer sold")
        else:
            lines.append(
                f"{n}. {p.title} - {money(p.price, p.currency)} x {item.quantity} - "
                f"{stock_phrase(p.stock)}"
            )
    return "\n".join(lines)


def _cart_summary(cart: CartView, emptied: bool = False) -> str:
    count = sum(i.quantity for i in cart.items if i.product)
    if not count:
        return "Your cart is now empty." if emptied else "Your cart is empty."
    return f"Your cart: {count} item{'s' if count != 1 else ''}, total {money(cart.total, 'USD')}."
