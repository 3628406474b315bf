"""The customer-service side of a turn: orders, returns, cancellations, cart, policies, handoff.

`ServiceDesk` is the interface the turn loop calls for those intents. `NoServiceDesk` is what a
deployment without a store database gets: it says plainly what this assistant cannot do, and
never pretends that an order was found, a return started or a human is on the way.
"""

from __future__ import annotations

from typing import Protocol

from assistant.intent import Intent, IntentName
from assistant.reply import Draft
from assistant.state import SessionState


class ServiceDesk(Protocol):
    """Handles the service intents of a turn."""

    def handle(self, intent: Intent, state: SessionState, text: str) -> Draft:
        """The draft reply for a service intent (orders, cart, returns, policy, handoff)."""
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

    def handle(self, intent: Intent, state: SessionState, text: str) -> Draft:
        """Say which service this deployment does not offer, and what it can do instead."""
        what = _CANNOT.get(intent.intent, "help with that")
        return Draft(
            intro=(
                f"Sorry, this assistant is not connected to the store's systems, so I cannot "
                f"{what} here. I can search the catalog and answer questions about products."
            )
        )
