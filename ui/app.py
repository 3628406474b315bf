"""The web app: the customer chat, the agent-assist console and the catalog admin panel.

A thin adapter over `Assistant`: `CustomerChat.respond` turns one message into streamed chat
updates (text and product cards), `Console` (ui/app_console.py) reads the conversations, and
`build_app` wires them into Gradio Blocks with pinned API names (the customer chat is `chat`).
`launch` starts it. Every text from products or customers is escaped (ui/app_render.py).
"""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from assistant.errors import AssistantError
from assistant.reply import ProductCard, Status, TextDelta, TurnDone
from assistant.tools import money, stock_phrase
from retrieval.errors import CatalogError
from retrieval.product import MAX_PRICE, MAX_STOCK
from ui.app_console import Console, QueueSource
from ui.app_render import (
    CSS,
    candidates_html,
    cards_html,
    chat_text,
    queue_html,
    transcript_html,
)

if TYPE_CHECKING:
    import gradio as gr

log = logging.getLogger(__name__)

CONCURRENCY = 16
DEMO_CUSTOMERS = tuple(f"C{n:03d}" for n in range(1, 11))
GUEST = "guest (not signed in)"
HANDOFF_MESSAGE = "I would like to talk to a human agent, please."
AGENT_PREFIX = "Agent: "
EXAMPLES = (
    "bluetooth speaker under $50",
    "a wireless mouse",
    "compare the first two",
    "is the second one in stock?",
    "where is my order?",
)
_TAKEN_NOTE = "A member of our team is handling this conversation; they will reply here."


def new_session() -> str:
    """A fresh session id (one per browser tab)."""
    return uuid.uuid4().hex[:12]


@dataclass
class ChatUpdate:
    """One streamed state of the customer chat.

    Attributes:
        history: The chat in messages format (contents escaped for Markdown).
        cards: The product cards' HTML; None leaves the shown cards as they are.
        session_id: The tab's session.
    """

    history: list[dict[str, Any]]
    cards: str | None
    session_id: str

    def __post_init__(self) -> None:
        self.history = [dict(m) for m in self.history]  # a snapshot: the next one differs


def _text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(c.get("text", "")) for c in content if isinstance(c, dict))
    return ""


class CustomerChat:
    """The customer's side: one message in, streamed chat updates out.

    Args:
        assistant: The shopping assistant (`Assistant`).
        console: The agent console, to route messages of a taken-over conversation.
    """

    def __init__(self, assistant: Any, console: Console) -> None:
        self.assistant, self.console = assistant, console

    def respond(
        self,
        message: str,
        history: Sequence[dict[str, Any]] | None,
        session_id: str | None,
        customer: str | None,
    ) -> Iterator[ChatUpdate]:
        """Answer one message: the user's bubble, the status while tools run, the reply as it
        streams, then the product cards.

        Args:
            message: What the customer typed.
            history: The chat so far (messages format).
            session_id: The tab's session; empty starts a new one.
            customer: The signed-in demo customer, or empty / `GUEST`.
        """
        session_id = session_id or new_session()
        customer_id = None if not customer or customer == GUEST else customer
        chat = [dict(m) for m in history or []]
        text = (message or "").strip()
        if not text:
            yield ChatUpdate(chat, None, session_id)
            return
        chat.append({"role": "user", "content": chat_text(text)})
        if self.console.taken(session_id):
            self.console.customer_wrote(session_id, text, customer_id)
            chat.append({"role": "assistant", "content": chat_text(_TAKEN_NOTE)})
            yield ChatUpdate(chat, None, session_id)
            return
        reply = {"role": "assistant", "content": ""}
        chat.append(reply)
        yield ChatUpdate(chat, None, session_id)
        streamed = ""
        try:
            for event in self.assistant.stream(session_id, text, customer_id):
                if isinstance(event, Status) and not streamed:
                    reply["content"] = "*" + chat_text(event.text) + " ...*"
                    yield ChatUpdate(chat, None, session_id)
                elif isinstance(event, TextDelta):
                    streamed += event.text
                    reply["content"] = chat_text(streamed)
                    yield ChatUpdate(chat, None, session_id)
                elif isinstance(event, TurnDone):
                    result = event.result
                    reply["content"] = chat_text(result.reply)
                    cards = [c.as_dict() for c in result.products]
                    yield ChatUpdate(chat, cards_html(cards), session_id)
        except AssistantError as exc:  # e.g. the session belongs to another customer
            reply["content"] = chat_text(f"Sorry: {exc}. Reload the page to start a new chat.")
            yield ChatUpdate(chat, "", session_id)

    def poll(
        self, history: Sequence[dict[str, Any]] | None, session_id: str | None
    ) -> list[dict[str, Any]] | None:
        """The chat with the agent's messages it does not show yet, or None when none are new."""
        if not session_id:
            return None
        chat = [dict(m) for m in history or []]
        shown = sum(
            1
            for m in chat
            if m.get("role") == "assistant" and _text(m).startswith(chat_text(AGENT_PREFIX))
        )
        lines = self.console.agent_lines(session_id)
        if len(lines) <= shown:
            return None
        for line in lines[shown:]:
            chat.append({"role": "assistant", "content": chat_text(AGENT_PREFIX + line)})
        return chat


def patch_product(index: Any, product_id: str, price: str | None, stock: str | int | None) -> str:
    """Change a product's price and/or stock in the catalog (the real-time path); the card of
    the product as it is now.

    Raises:
        ValueError: No such product, or a price or stock that is not a number >= 0.
    """
    product_id = (product_id or "").strip()
    if not product_id:
        raise ValueError("enter a product id")
    new_price: Decimal | None = None
    if price is not None and str(price).strip():
        try:
            amount = Decimal(str(price).strip().lstrip("$"))
        except InvalidOperation:
            amount = Decimal("NaN")
        if not amount.is_finite():
            raise ValueError(f"the price must be a number, got {price!r}")
        if amount < 0:
            raise ValueError("the price must not be negative")
        if amount > MAX_PRICE:
            raise ValueError(f"the price must be at most {MAX_PRICE}, got {price!r}")
        new_price = amount.quantize(Decimal("0.01"))
    new_stock: int | None = None
    if stock is not None and str(stock).strip():
        try:
            whole = Decimal(str(stock).strip())
        except InvalidOperation:
            whole = Decimal(-1)
        if not whole.is_finite() or whole < 0 or whole != whole.to_integral_value():
            raise ValueError(f"the stock must be a whole number >= 0, got {stock!r}")
        if whole > MAX_STOCK:
            raise ValueError(f"the stock must be at most {MAX_STOCK}, got {stock!r}")
        new_stock = int(whole)
    try:
        if new_price is not None or new_stock is not None:
            index.patch(product_id, price=new_price, stock=new_stock)
        product = index.get(product_id)
    except CatalogError as exc:
        raise ValueError(f"no product {product_id!r} in the catalog ({exc})") from None
    return cards_html([ProductCard.of(product, "updated in the catalog").as_dict()])


def product_summary(index: Any, product_id: str) -> str:
    """One line on a product's current price and stock."""
    p = index.get(product_id)
    return f"{p.id}: {p.title} - {money(p.price, p.currency)} - {stock_phrase(p.stock)}"


def build_app(
    assistant: Any,
    queue: QueueSource | None = None,
    customers: Sequence[str] = DEMO_CUSTOMERS,
    title: str = "Shop assistant",
) -> gr.Blocks:
    """The Gradio app over an assistant: customer chat, agent console, catalog admin.

    Args:
        assistant: The shopping assistant (`Assistant`).
        queue: The handoff queue source; default the assistant's store queue, else the
            sessions whose last turn handed over.
        customers: The demo customers of the sign-in list.
        title: The page title.
    """
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    try:
        import gradio as gr
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("The web app needs gradio - run `make install`.") from exc

    console = Console.of(assistant, queue)
    chat = CustomerChat(assistant, console)

    def on_chat(
        message: str, history: list[dict[str, Any]], session_id: str, customer: str
    ) -> Iterator[tuple[Any, ...]]:
        for update in chat.respond(message, history, session_id, customer):
            cards = gr.skip() if update.cards is None else update.cards
            yield "", update.history, cards, update.session_id

    def on_human(
        history: list[dict[str, Any]], session_id: str, customer: str
    ) -> Iterator[tuple[Any, ...]]:
        yield from on_chat(HANDOFF_MESSAGE, history, session_id, customer)

    def on_poll(history: list[dict[str, Any]], session_id: str) -> Any:
        updated = chat.poll(history, session_id)
        return gr.skip() if updated is None else updated

    def on_sign_in(_customer: str) -> tuple[Any, ...]:
        return [], "", new_session()

    def on_patch(product_id: str, price: str, stock: str) -> tuple[str, str]:
        try:
            card = patch_product(assistant.index, product_id, price, stock)
        except ValueError as exc:
            raise gr.Error(str(exc)) from None
        return card, f"Updated: {product_summary(assistant.index, product_id.strip())}"

    def on_refresh(selected: str | None) -> tuple[Any, ...]:
        rows = console.conversations()
        queued = [
            [r.ticket or "-", r.session_id, r.customer_id or "-", r.reason, r.status, r.since]
            for r in console.queue()
        ]
        ids = [str(r[0]) for r in rows]
        front = [str(q[1]) for q in queued if str(q[1]) in ids]
        choices = front + [i for i in ids if i not in front]
        value = selected if selected in choices else (choices[0] if choices else None)
        return (
            queue_html(queued, ("ticket", "session", "customer", "reason", "status", "since")),
            queue_html(rows, ("session", "customer", "answered by", "messages", "last active")),
            gr.update(choices=choices, value=value),
        )

    def on_view(session_id: str | None) -> tuple[Any, ...]:
        if not session_id:
            return "<p>Select a conversation.</p>", {}, "", "", ""
        view = console.view(session_id)
        who = "an agent (taken over)" if view.taken else "the assistant"
        state = f"Customer {view.customer_id or '-'}; answered by {who}."
        return (
            transcript_html(view.lines),
            view.intent,
            candidates_html(view.cards),
            view.suggestion,
            state,
        )

    def on_live(session_id: str | None) -> tuple[Any, ...]:
        transcript, intent, candidates, _, state = on_view(session_id)
        return transcript, intent, candidates, state

    def on_send(session_id: str | None, text: str) -> tuple[Any, ...]:
        if not session_id:
            raise gr.Error("Select a conversation first.")
        try:
            console.send(session_id, text)
        except ValueError as exc:
            raise gr.Error(str(exc)) from None
        return on_view(session_id)

    def on_take(session_id: str | None) -> tuple[Any, ...]:
        if not session_id:
            raise gr.Error("Select a conversation first.")
        console.take_over(session_id)
        return on_view(session_id)

    def on_back(session_id: str | None) -> tuple[Any, ...]:
        if not session_id:
            raise gr.Error("Select a conversation first.")
        console.hand_back(session_id)
        return on_view(session_id)

    with gr.Blocks(title=title, analytics_enabled=False) as app:
        gr.Markdown(f"## {chat_text(title)}")
        with gr.Tab("Chat", id="chat"):
            session = gr.State("")
            with gr.Row():
                customer = gr.Dropdown(
                    [GUEST, *customers],
                    value=GUEST,
                    label="Demo sign-in",
                    scale=1,
                    elem_id="customer",
                )
                human = gr.Button("Talk to a human", variant="secondary", elem_id="human", scale=0)
            with gr.Row():
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(
                        label="Chat",
                        height=480,
                        latex_delimiters=[],
                        elem_id="chatbot",
                        feedback_options=None,
                    )
                    message = gr.Textbox(
                        placeholder="What are you looking for?",
                        show_label=False,
                        elem_id="message",
                    )
                    gr.Examples([[e] for e in EXAMPLES], inputs=[message], label="Try")
                with gr.Column(scale=2):
                    cards = gr.HTML(label="Products", elem_id="cards")
            chat_io = dict(
                inputs=[message, chatbot, session, customer],
                outputs=[message, chatbot, cards, session],
            )
            message.submit(on_chat, api_name="chat", **chat_io)  # type: ignore[arg-type]
            human.click(
                on_human,
                inputs=[chatbot, session, customer],
                outputs=[message, chatbot, cards, session],
                api_name="talk_to_human",
            )
            customer.change(
                on_sign_in, [customer], [chatbot, cards, session], api_visibility="private"
            )
            poll = gr.Timer(2.0)
            poll.tick(
                on_poll,
                [chatbot, session],
                [chatbot],
                show_progress="hidden",
                api_visibility="private",
            )

        with gr.Tab("Agent console", id="console"):
            with gr.Row():
                refresh = gr.Button("Refresh", elem_id="refresh", scale=0)
                live = gr.Timer(3.0)
            gr.Markdown("### Handoff queue")
            queue_table = gr.HTML(elem_id="queue")
            gr.Markdown("### Live conversations")
            conversations = gr.HTML(elem_id="conversations")
            selected = gr.Dropdown(
                [], label="Conversation", allow_custom_value=True, elem_id="selected"
            )
            state_line = gr.Markdown(elem_id="console-state")
            with gr.Row():
                with gr.Column(scale=3):
                    transcript = gr.HTML(label="Transcript", elem_id="transcript")
                with gr.Column(scale=2):
                    intent = gr.JSON(label="Extracted intent", elem_id="intent")
            candidates = gr.HTML(label="Candidates", elem_id="candidates")
            suggestion = gr.Textbox(
                label="Suggested reply (edit, then send)", lines=3, elem_id="suggestion"
            )
            with gr.Row():
                send = gr.Button("Send", variant="primary", elem_id="send")
                take = gr.Button("Take over", elem_id="take-over")
                back = gr.Button("Hand back", elem_id="hand-back")
            view_out = [transcript, intent, candidates, suggestion, state_line]
            listed = [queue_table, conversations, selected]
            refresh.click(on_refresh, [selected], listed, api_name="conversations")
            live.tick(
                on_refresh, [selected], listed, show_progress="hidden", api_visibility="private"
            )
            live.tick(
                on_live,
                [selected],
                [transcript, intent, candidates, state_line],
                show_progress="hidden",
                api_visibility="private",
            )
            selected.change(on_view, [selected], view_out, api_name="console_view")
            send.click(on_send, [selected, suggestion], view_out, api_name="agent_send")
            take.click(on_take, [selected], view_out, api_name="take_over")
            back.click(on_back, [selected], view_out, api_name="hand_back")
            app.load(on_refresh, [selected], listed, api_visibility="private")

        with gr.Tab("Catalog admin", id="admin"):
            gr.Markdown("Change a product's price or stock; the next chat message shows it.")
            with gr.Row():
                product_id = gr.Textbox(label="Product id", elem_id="admin-id")
                price = gr.Textbox(label="New price (empty = unchanged)", elem_id="admin-price")
                stock = gr.Textbox(label="New stock (empty = unchanged)", elem_id="admin-stock")
            apply = gr.Button("Apply", variant="primary", elem_id="admin-apply")
            admin_status = gr.Textbox(label="Status", interactive=False, elem_id="admin-status")
            admin_card = gr.HTML(elem_id="admin-card")
            apply.click(
                on_patch, [product_id, price, stock], [admin_card, admin_status], api_name="patch"
            )
    app.queue(default_concurrency_limit=CONCURRENCY)
    return app


def launch(app: gr.Blocks, port: int | None = None, host: str = "127.0.0.1") -> str:
    """Start the app's server in the background; its local URL. `app.block_thread()` then
    serves until interrupted, `app.close()` stops it.

    Args:
        app: The app from `build_app`.
        port: The port; None lets Gradio pick a free one from 7860.
        host: The interface to listen on.
    """
    _, url, _ = app.launch(
        server_name=host,
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        css=CSS,
        max_threads=max(40, 2 * CONCURRENCY),
        footer_links=[],
    )
    return str(url)
