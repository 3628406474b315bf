"""The web app in headless Chromium (Debian's `chromium`, driven by playwright; no browser
download): chat with streamed reply and cards, escaping, the admin panel's price change in the
next reply, and the conversation, handoff and agent reply through the console.

Screenshots go to `test-artifacts/browser/` (ignored by git).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port
from tests.ui.app_fixtures import web_assistant

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Any, Any]]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip(
            "no chromium binary on PATH: install Debian's (`apt-get update && apt-get install -y "
            "chromium`, as .ci/run does) to run the browser test"
        )
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright is not installed - run `make install`"
    )
    from ui.app import build_app, launch

    bot = web_assistant(tmp_path_factory.mktemp("browser"))
    app = build_app(bot)
    url = launch(app, free_port())
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
            tab = browser.new_page(viewport={"width": 1280, "height": 1000})
            tab.set_default_timeout(20_000)
            tab.goto(url)
            try:
                yield tab, bot
            finally:
                browser.close()
    finally:
        app.close()


def send(tab: Any, text: str) -> None:
    box = tab.locator("#message textarea")
    box.fill(text)
    box.press("Enter")


def shot(tab: Any, name: str) -> None:
    tab.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_chat_admin_console_end_to_end(page: tuple[Any, Any]) -> None:
    from playwright.sync_api import expect

    tab, bot = page
    chatbot, cards = tab.locator("#chatbot"), tab.locator("#cards")

    # Chat: the reply streams in and the cards appear beside it.
    send(tab, "bluetooth speaker under $50")
    expect(cards.locator('[data-product-id="s1"]')).to_contain_text("$49.99")
    expect(chatbot).to_contain_text("Sony SRS-XB13 waterproof bluetooth speaker - $49.99")
    expect(cards.locator('[data-testid="product-card"]').first).to_contain_text("Why:")
    shot(tab, "1-chat")

    # Product and customer text shows as text: no markup, no links, no script.
    send(tab, "evil speaker <i>now</i> [x](http://evil.example)")
    hostile = cards.locator('[data-product-id="x1"]')
    expect(hostile).to_contain_text("Evil <b>bold</b> [click me](http://evil.example) speaker")
    expect(chatbot).to_contain_text("evil speaker <i>now</i> [x](http://evil.example)")
    assert tab.locator("#chatbot a[href*='evil'], #cards a, #cards b, #chatbot i").count() == 0
    send(tab, "tell me more about it")
    expect(chatbot).to_contain_text("<script>window.pwned = 1</script>")
    assert tab.evaluate("window.pwned") is None
    shot(tab, "2-escaped")

    # Admin: change the price; the next reply shows it.
    tab.get_by_role("tab", name="Catalog admin").click()
    tab.locator("#admin-id textarea, #admin-id input").first.fill("s1")
    tab.locator("#admin-price textarea, #admin-price input").first.fill("37.25")
    tab.locator("#admin-apply").click()
    expect(tab.locator("#admin-card")).to_contain_text("$37.25")
    assert bot.index.get("s1").stock == 10  # the empty stock field left it unchanged
    shot(tab, "3-admin")
    tab.get_by_role("tab", name="Chat").click()
    send(tab, "bluetooth speaker under $50")
    expect(cards.locator('[data-product-id="s1"]')).to_contain_text("$37.25")
    expect(chatbot).to_contain_text("Sony SRS-XB13 waterproof bluetooth speaker - $37.25")

    # Talk to a human: the conversation is queued.
    tab.locator("#human").click()
    expect(chatbot).to_contain_text("passed our conversation to a human agent")
    session = bot.store.sessions(1)[0][0]
    shot(tab, "4-handoff")

    # Console: the conversation, its intent and candidates; take over and reply.
    tab.get_by_role("tab", name="Agent console").click()
    tab.locator("#refresh").click()
    expect(tab.locator("#queue")).to_contain_text(session)
    expect(tab.locator("#conversations")).to_contain_text("waiting for a human")
    selected = tab.locator("#selected input")
    selected.fill(session)
    selected.press("Enter")
    transcript = tab.locator("#transcript")
    expect(transcript).to_contain_text("bluetooth speaker under $50")
    expect(transcript).to_contain_text("Evil <b>bold</b>")
    expect(tab.locator("#candidates")).to_contain_text("rerank")
    expect(tab.locator("#candidates")).to_contain_text("Sony SRS-XB13")
    expect(tab.locator("#suggestion textarea")).not_to_have_value("")
    tab.locator("#take-over").click()
    expect(tab.locator("#console-state")).to_contain_text("taken over")
    tab.locator("#suggestion textarea").fill("Hello from Ann at the store.")
    tab.locator("#send").click()
    expect(transcript).to_contain_text("Hello from Ann at the store.")
    shot(tab, "5-console")

    # The customer's tab shows the agent's message (polled).
    tab.get_by_role("tab", name="Chat").click()
    expect(chatbot).to_contain_text("Agent: Hello from Ann at the store.", timeout=15_000)
    shot(tab, "6-agent-reply")
