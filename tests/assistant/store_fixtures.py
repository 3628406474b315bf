"""Builders for the service tests: a seeded store at a fixed time and an assistant on fakes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from assistant.extract import IntentExtractor
from assistant.parser import MessageParser
from assistant.policy import store_policy
from assistant.policy_index import MemoryPolicyIndex
from assistant.search import ProductSearch
from assistant.seed import seed_demo
from assistant.service import StoreServiceDesk
from assistant.service_tools import ServiceTools
from assistant.state import SessionStore
from assistant.store import Store
from assistant.tools import CatalogTools
from assistant.turn import Assistant
from ranking.base import OverlapReranker
from retrieval.embedder import HashEmbedder
from retrieval.icecat import load_demo
from retrieval.memory import InMemoryIndex
from retrieval.product import Product
from tests.retrieval.catalog_fixtures import sample_products

SEEDED_AT = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class Clock:
    """A settable clock for the store."""

    def __init__(self, now: datetime = SEEDED_AT) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, days: int) -> None:
        self.now += timedelta(days=days)


@cache
def demo_products() -> tuple[Product, ...]:
    return tuple(load_demo())


@cache
def policy_index() -> MemoryPolicyIndex:
    return MemoryPolicyIndex(store_policy(), HashEmbedder())


def seeded_store(path: Path | str = ":memory:", clock: Clock | None = None) -> Store:
    store = Store(path, clock or Clock())
    seed_demo(store, demo_products())
    return store


def make_assistant(
    tmp_path: Path, store: Store | None = None, index: InMemoryIndex | None = None
) -> Assistant:
    """An assistant on the fakes (parser only, no model) with the store service desk."""
    if index is None:
        index = InMemoryIndex()
        index.upsert(sample_products())
    store = store or seeded_store()
    sessions = SessionStore(tmp_path / "conversations.sqlite3")
    search = ProductSearch(index, OverlapReranker())
    desk = StoreServiceDesk(ServiceTools(store, index, policy_index()), sessions)
    return Assistant(
        tools=CatalogTools(search),
        extractor=IntentExtractor(MessageParser(index.brands()), None),
        store=sessions,
        service=desk,
    )
