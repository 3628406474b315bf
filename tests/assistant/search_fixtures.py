"""A catalog of numbered products and a re-ranker that re-orders it, for paging tests."""

from __future__ import annotations

import re

from ranking.base import Reranker
from retrieval.memory import InMemoryIndex
from retrieval.search import FusionConfig
from tests.retrieval.catalog_fixtures import product


class PrefersThirds(Reranker):
    """Finds a product relevant when its model number is a multiple of three ("Mark 6")."""

    def score(self, query: str, texts: list[str]) -> list[float]:  # type: ignore[override]
        numbers = [int(re.findall(r"mark (\d+)", t.lower())[0]) for t in texts]
        return [5.0 if n % 3 == 0 else -5.0 for n in numbers]


def thirds_first(ids: list[str]) -> list[str]:
    """`ids` ("p07") with the multiples of three first, each group in its order."""
    return sorted(ids, key=lambda pid: int(pid[1:]) % 3 != 0)


def numbered(n: int) -> InMemoryIndex:
    """`n` speakers "Acme speaker Mark i" (id "p07"), dearer the lower the number; BM25 alone."""
    index = InMemoryIndex(fusion=FusionConfig(dense_weight=0.0))
    index.upsert(
        [product(f"p{i:02d}", f"Acme speaker Mark {i}", f"{100 - i}.00") for i in range(n)]
    )
    return index
