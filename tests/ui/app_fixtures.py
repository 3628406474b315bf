"""An assistant on the fakes for the web app tests: the sample catalog plus a hostile product,
and a service desk that hands conversations to a human."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.chat_model import ChatModel, FunctionChatModel, Message
from assistant.intent import Intent
from assistant.reply import Draft
from assistant.state import SessionState
from assistant.turn import Assistant
from retrieval.memory import InMemoryIndex
from tests.assistant.test_turn import make
from tests.retrieval.catalog_fixtures import product, sample_products

HOSTILE_TITLE = "Evil <b>bold</b> [click me](http://evil.example) speaker"
HOSTILE_DESCRIPTION = "<script>window.pwned = 1</script> see [this](http://evil.example)"
HANDED_OVER = "I have passed our conversation to a human agent, who will reply here."


class HandoffDesk:
    """A service desk that hands every service request to a human (the store's queue is
    exercised in tests/ui/test_app.py with the real `Store`)."""

    def takes(self, intent: Intent, state: SessionState, text: str) -> bool:
        """Never takes a turn out of turn."""
        return False

    def handle(self, intent: Intent, state: SessionState, text: str) -> Draft:
        """Hand over."""
        return Draft(intro=HANDED_OVER, handoff=True)

    def policy_answer(self, text: str) -> Draft | None:
        """No policy to quote."""
        return None


def slow_model(seconds: float) -> ChatModel:
    """A model that takes `seconds` for each answer (extraction: the parser decides)."""

    def answer(messages: Sequence[Message], schema: dict[str, Any] | None) -> str:
        time.sleep(seconds)
        return '{"intent": "other"}' if schema is not None else "Here are some speakers for you."

    return FunctionChatModel(answer)


def web_assistant(tmp_path: Path, model: ChatModel | None = None) -> Assistant:
    """The sample catalog plus a product whose title and description hold markup."""
    index = InMemoryIndex()
    index.upsert(
        [*sample_products(), product("x1", HOSTILE_TITLE, "30.00", description=HOSTILE_DESCRIPTION)]
    )
    bot = make(tmp_path, model, index)
    bot.service = HandoffDesk()
    return bot


def wait_for(check: Any, timeout: float = 10.0) -> Any:
    """Poll `check()` until it returns something true."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)
