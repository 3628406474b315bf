"""`shopassist store` commands, and the composed assistant's store service desk."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from assistant.chat_model import FunctionChatModel
from assistant.search import ProductSearch
from retrieval.memory import InMemoryIndex
from tests.retrieval.catalog_fixtures import sample_products
from ui.compose import build_assistant
from ui.settings import Settings
from ui.store_cli import register


def app() -> typer.Typer:
    root = typer.Typer()

    @root.callback()
    def main() -> None:
        """Test root."""

    register(root)
    return root


def test_seed_orders_and_queue(cli: CliRunner) -> None:
    res = cli.invoke(app(), ["store", "seed", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout.splitlines()[-1])["orders"] == 70
    again = cli.invoke(app(), ["store", "seed"])
    assert "already seeded" in again.stdout
    res = cli.invoke(app(), ["store", "orders", "--customer", "C001", "--json"])
    out = json.loads(res.stdout.splitlines()[-1])
    statuses = {o["status"] for o in out["orders"]}
    assert statuses == {"processing", "shipped", "delivered", "cancelled", "returned"}
    assert all(o["id"].isdigit() for o in out["orders"])
    missing = cli.invoke(app(), ["store", "orders", "--customer", "C999"])
    assert missing.exit_code == 1 and "no customer" in missing.output
    res = cli.invoke(app(), ["store", "queue", "--json"])
    assert json.loads(res.stdout.splitlines()[-1]) == {"queue": []}


@pytest.mark.chroma
def test_the_composed_assistant_has_a_seeded_store_and_chroma_policies(
    cli: CliRunner, tmp_path: Path
) -> None:
    index = InMemoryIndex()
    index.upsert(sample_products())
    model = FunctionChatModel(lambda messages, schema: '{"intent": "other"}')
    bot = build_assistant(Settings(), model=model, search=ProductSearch(index))
    orders = bot.respond("s", "my orders", "C001")
    assert orders.tools_called == ["list_orders"] and "Order 1001:" in orders.reply
    policy = bot.respond("s", "how many days do I have to return an item?", "C001")
    assert '("Returns: the return window")' in policy.reply
    handoff = bot.respond("s", "let me speak to a human", "C001")
    assert handoff.handoff
    res = cli.invoke(app(), ["store", "queue", "--json"])
    (entry,) = json.loads(res.stdout.splitlines()[-1])["queue"]
    assert entry["customer"] == "C001" and entry["session"] == "s"
