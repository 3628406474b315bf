"""The web app on the fakes: `respond()` directly, then the launched app through gradio_client."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from assistant.state import SessionStore
from assistant.store import Store
from tests.conftest import free_port
from tests.ui.app_fixtures import (
    HANDED_OVER,
    HOSTILE_TITLE,
    slow_model,
    web_assistant,
)
from ui.app import (
    AGENT_PREFIX,
    HANDOFF_MESSAGE,
    ChatUpdate,
    CustomerChat,
    patch_product,
)
from ui.app_console import Console, handoff_sessions, store_queue, suggest
from ui.app_render import cards_html, chat_text


def chat_of(bot: Any) -> CustomerChat:
    return CustomerChat(bot, Console.of(bot))


def last(updates: list[ChatUpdate]) -> ChatUpdate:
    assert updates
    return updates[-1]


def reply_of(update: ChatUpdate) -> str:
    assert update.history[-1]["role"] == "assistant"
    return str(update.history[-1]["content"])


# ---- escaping ------------------------------------------------------------------------------------


def test_chat_text_escapes_markup_and_keeps_lists_and_tables() -> None:
    text = (
        "Here:\n1. A <b>x</b> [y](http://e.com) *z* - $9.99\n"
        "| | A | B |\n|---|---|---|\n| Price | $1 | $2 |"
    )
    out = chat_text(text)
    assert "<b>" not in out and "&lt;b&gt;" in out
    assert "[y](http" not in out and "\\[y\\]\\(http\\:" in out
    assert "\\*z\\*" in out
    lines = out.split("\n")
    assert lines[1].startswith("1. ")
    assert lines[3] == "|---|---|---|" and lines[2].startswith("|") and lines[4].endswith("|")


def test_cards_escape_every_product_text() -> None:
    card = {
        "id": 'x"1',
        "title": HOSTILE_TITLE,
        "price": "30.00",
        "currency": "USD",
        "stock": 3,
        "why": "<script>alert(1)</script>",
        "image_url": "javascript:alert(1)",
    }
    html = cards_html([card])
    assert "<b>" not in html and "<script>" not in html and "javascript:" not in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html and 'data-product-id="x&quot;1"' in html
    assert "$30.00" in html and "only 3 left" in html


# ---- respond() -----------------------------------------------------------------------------------


def test_respond_streams_user_status_text_then_cards(tmp_path: Path) -> None:
    bot = web_assistant(tmp_path)
    updates = list(chat_of(bot).respond("bluetooth speaker under $50", [], "", None))
    first = updates[0]
    assert first.history[0] == {"role": "user", "content": chat_text("bluetooth speaker under $50")}
    assert first.history[1]["content"] == "" and first.cards is None
    assert any(reply_of(u).startswith("*") for u in updates[1:-1])  # a status line
    texts = [reply_of(u) for u in updates if u.cards is None and not reply_of(u).startswith("*")]
    assert len(texts) > 3 and all(
        len(a) <= len(b) for a, b in zip(texts[1:], texts[2:], strict=False)
    )
    done = last(updates)
    assert done.cards and 'data-product-id="s1"' in done.cards and "$49.99" in done.cards
    assert "$49\\.99" in reply_of(done)  # the Markdown-escaped price
    assert all(u.session_id == done.session_id for u in updates) and done.session_id


def test_respond_escapes_hostile_product_text(tmp_path: Path) -> None:
    bot = web_assistant(tmp_path)
    chat = chat_of(bot)
    done = last(list(chat.respond("evil speaker", [], "s", None)))
    assert done.cards and 'data-product-id="x1"' in done.cards
    assert "<b>" not in done.cards and "&lt;b&gt;bold&lt;/b&gt;" in done.cards
    assert "[click me](" not in reply_of(done) and "&lt;b&gt;" in reply_of(done)
    details = last(list(chat.respond("tell me more about it", done.history, "s", None)))
    assert "<script>" not in reply_of(details) and "&lt;script&gt;" in reply_of(details)


def test_sessions_are_isolated(tmp_path: Path) -> None:
    chat = chat_of(web_assistant(tmp_path))
    a = last(list(chat.respond("bluetooth speaker", [], "", None)))
    b = last(list(chat.respond("is the second one in stock?", [], "", None)))
    assert a.session_id != b.session_id
    assert "not shown you any products" in reply_of(b)
    again = last(list(chat.respond("is the second one in stock?", a.history, a.session_id, None)))
    assert "stock" in reply_of(again) and again.cards


def test_admin_patch_shows_in_the_next_reply(tmp_path: Path) -> None:
    bot = web_assistant(tmp_path)
    chat = chat_of(bot)
    before = last(list(chat.respond("bluetooth speaker under $50", [], "s", None)))
    assert before.cards and "$49.99" in before.cards
    card = patch_product(bot.index, "s1", "39.5", 2)
    assert "$39.50" in card and "only 2 left" in card
    assert bot.index.get("s1").price == Decimal("39.50")
    after = last(list(chat.respond("bluetooth speaker under $50", [], "s", None)))
    assert after.cards and "$39.50" in after.cards and "$49.99" not in after.cards
    assert "$39\\.50" in reply_of(after)


@pytest.mark.parametrize(
    ("pid", "price", "stock", "error"),
    [
        ("nope", "1", None, "no product 'nope'"),
        ("s1", "-3", None, "negative"),
        ("s1", "abc", None, "must be a number"),
        ("s1", "nan", None, "must be a number"),
        ("s1", "inf", None, "must be a number"),
        ("s1", "1e40", None, "at most"),
        ("s1", "", -1, "whole number"),
        ("s1", "", "2.5", "whole number"),
        ("s1", "", "many", "whole number"),
        ("s1", "", "nan", "whole number"),
        ("s1", "", "inf", "whole number"),
        ("s1", "", "1e40", "at most"),
        ("", "1", None, "product id"),
    ],
)
def test_admin_patch_rejects_bad_input(
    tmp_path: Path, pid: str, price: str, stock: int | None, error: str
) -> None:
    bot = web_assistant(tmp_path)
    with pytest.raises(ValueError, match=error):
        patch_product(bot.index, pid, price, stock)
    assert bot.index.get("s1").price == Decimal("49.99")


def test_another_customers_session_is_refused_in_the_chat(tmp_path: Path) -> None:
    chat = chat_of(web_assistant(tmp_path))
    list(chat.respond("keyboard", [], "s", "C001"))
    refused = last(list(chat.respond("keyboard", [], "s", "C002")))
    assert "belongs to another customer" in reply_of(refused) and refused.cards == ""


def test_empty_message_changes_nothing(tmp_path: Path) -> None:
    chat = chat_of(web_assistant(tmp_path))
    (only,) = chat.respond("   ", [], "s", None)
    assert only.history == [] and only.cards is None


# ---- the console ---------------------------------------------------------------------------------


def test_handoff_then_take_over_agent_message_and_hand_back(tmp_path: Path) -> None:
    bot = web_assistant(tmp_path)
    console = Console.of(bot)
    chat = CustomerChat(bot, console)
    done = last(list(chat.respond(HANDOFF_MESSAGE, [], "s", "C003")))
    assert HANDED_OVER[:30] in reply_of(done).replace("\\", "")
    (row,) = console.queue()
    assert (row.session_id, row.customer_id, row.status) == ("s", "C003", "waiting")
    assert console.conversations()[0][:3] == ["s", "C003", "waiting for a human"]
    assert "human agent" in console.view("s").suggestion  # an opening, not the handoff text

    console.take_over("s")
    held = last(list(chat.respond("hello? my order is late", done.history, "s", "C003")))
    assert "handling this conversation" in reply_of(held)
    assert bot.store.transcript("s")[-1].text == "hello? my order is late"
    assert console.conversations()[0][2] == "agent"

    assert chat.poll(held.history, "s") is None
    console.send("s", "Hi, I am <Ann>. Checking now.")
    polled = chat.poll(held.history, "s")
    assert polled is not None and polled[-1]["content"] == chat_text(
        AGENT_PREFIX + "Hi, I am <Ann>. Checking now."
    )
    assert chat.poll(polled, "s") is None  # shown once
    assert console.view("s").lines[-1] == ("agent", "Hi, I am <Ann>. Checking now.")

    console.hand_back("s")
    back = last(list(chat.respond("bluetooth speaker", polled, "s", "C003")))
    assert back.cards and "s1" in back.cards


def test_console_view_shows_intent_candidates_and_suggestion(tmp_path: Path) -> None:
    bot = web_assistant(tmp_path)
    chat = chat_of(bot)
    done = last(list(chat.respond("bluetooth speaker under $50", [], "s", None)))
    view = Console.of(bot).view("s")
    assert view.intent["intent"] == "search" and view.intent["price_max"] in ("50", "50.00", 50)
    scores = set(view.cards[0]["scores"]) if view.cards else set()
    assert {"score", "rerank_score", "retrieval_score"} <= scores
    assert view.suggestion == bot.store.transcript("s")[-1].text
    assert chat_text(view.suggestion) == reply_of(done)
    with pytest.raises(ValueError, match="empty"):
        Console.of(bot).send("s", "  ")
    with pytest.raises(ValueError, match="no conversation"):
        Console.of(bot).send("unknown", "hello")


def test_handoff_sessions_lists_sessions_whose_last_turn_handed_over(tmp_path: Path) -> None:
    bot = web_assistant(tmp_path)
    bot.respond("a", "bluetooth speaker")
    bot.respond("b", HANDOFF_MESSAGE)
    assert [r.session_id for r in handoff_sessions(bot.store)()] == ["b"]
    bot.respond("b", "keyboard")
    assert handoff_sessions(bot.store)() == []


def test_store_queue_lists_waiting_entries_and_take_over_assigns(tmp_path: Path) -> None:
    store = Store(":memory:")
    store.enqueue_handoff("s9", "C002", "handoff", "the customer asked", None, {}, [])
    sessions = SessionStore(tmp_path / "c.sqlite3")
    console = Console(sessions, store_queue(store), store.assign, agent="ann")
    (row,) = console.queue()
    assert (row.session_id, row.customer_id, row.status, row.ticket) == ("s9", "C002", "waiting", 1)
    console.take_over("s9")
    (row,) = console.queue()
    assert row.status == "assigned" and store.queue() == []
    # A console started afresh (an app restart) still sees the take-over: it is in the store.
    again = Console(sessions, store_queue(store), store.assign, resolve=store.resolve)
    assert again.taken("s9") and not again.taken("other")
    again.hand_back("s9")
    assert not again.taken("s9") and again.queue() == []
    assert [e.status for e in store.queue(None)] == ["resolved"]


def test_suggestion_of_an_empty_transcript_is_empty() -> None:
    assert suggest([]) == ""


# ---- the launched app through gradio_client --------------------------------------------------


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    from ui.app import build_app, launch

    bot = web_assistant(tmp_path_factory.mktemp("web"), slow_model(0.6))
    app = build_app(bot)
    url = launch(app, free_port())
    try:
        yield url, bot
    finally:
        app.close()


def client(url: str) -> Any:
    from gradio_client import Client

    return Client(url, verbose=False)


@pytest.mark.slow
def test_chat_endpoint_answers_with_cards(served: tuple[str, Any]) -> None:
    url, _ = served
    _, history, cards, *_ = client(url).predict("bluetooth speaker under $50", api_name="/chat")
    assert history[-1]["role"] == "assistant" and "49" in str(history[-1]["content"])
    assert 'data-product-id="s1"' in cards


@pytest.mark.slow
def test_chat_endpoint_streams(served: tuple[str, Any]) -> None:
    url, _ = served
    job = client(url).submit("wireless mouse", api_name="/chat")
    job.result(timeout=60)
    outputs = job.outputs()
    assert len(outputs) >= 3  # the user's bubble, the status, the text in pieces, the cards
    assert "Logitech" in str(outputs[-1][1][-1]["content"])


@pytest.mark.slow
def test_patch_endpoint_then_chat_shows_the_new_price(served: tuple[str, Any]) -> None:
    url, bot = served
    c = client(url)
    card, status = c.predict("s3", "21", "7", api_name="/patch")
    assert "$21.00" in card and "Updated" in status and bot.index.get("s3").stock == 7
    _, _, cards, *_ = c.predict("anker speaker", api_name="/chat")
    assert "$21.00" in cards and "in stock" in cards


@pytest.mark.slow
def test_console_endpoints_see_the_conversation_and_send(served: tuple[str, Any]) -> None:
    url, bot = served
    c = client(url)
    c.predict("logitech keyboard", api_name="/chat")
    session = bot.store.sessions(1)[0][0]
    queue, conversations, _ = c.predict(None, api_name="/conversations")
    assert session in conversations
    transcript, intent, candidates, suggestion, _ = c.predict(session, api_name="/console_view")
    assert "logitech keyboard" in transcript and intent["intent"] == "search"
    assert "k1" in candidates and suggestion
    transcript, *_ = c.predict(session, "An agent here: hello", api_name="/agent_send")
    assert "An agent here: hello" in transcript
    assert bot.store.transcript(session)[-1].role == "agent"


@pytest.mark.slow
def test_sessions_are_served_concurrently(served: tuple[str, Any]) -> None:
    url, _ = served
    clients = [client(url) for _ in range(8)]
    errors: list[BaseException] = []

    def one(c: Any) -> None:
        try:
            c.predict("bluetooth speaker", api_name="/chat")
        except BaseException as exc:  # noqa: B036 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(c,)) for c in clients]
    began = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    took = time.perf_counter() - began
    assert not errors
    # Each turn waits 1.2 s on the model; served one at a time, 8 turns would take 9.6 s.
    assert took < 6.0, took


def test_serve_command_registers_with_its_options() -> None:
    import typer
    from typer.testing import CliRunner

    from ui.serve_cli import register

    cli = typer.Typer()
    register(cli)

    @cli.command("other")
    def _other() -> None:  # a second command keeps `serve` a named subcommand
        """Nothing."""

    result = CliRunner().invoke(cli, ["serve", "--help"])
    assert result.exit_code == 0, result.output
    assert "--serve-model" in result.output and "--no-serve-model" in result.output
    assert "--port" in result.output
