"""`Reranker`: one primitive, `score`, and `rank` built on it.

A re-ranker scores (query, text) pairs and returns indices into the caller's list, so `ranking`
never needs to know what a product is.
"""

from __future__ import annotations

import re
from collections.abc import Sequence


class Reranker:
    """Orders texts by relevance to a query. Subclasses implement `score`."""

    name: str = "reranker"

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        """Relevance scores, one per text, higher is more relevant."""
        raise NotImplementedError

    def rank(
        self, query: str, texts: Sequence[str], top_k: int | None = None
    ) -> list[tuple[int, float]]:
        """(index into `texts`, score), best first, at most `top_k` of them.

        Ties keep the input order, so a stable retrieval order survives equal scores.
        """
        if not texts:
            return []
        scores = self.score(query, texts)
        order = sorted(range(len(texts)), key=lambda i: (-scores[i], i))
        return [(i, float(scores[i])) for i in order[: top_k or len(texts)]]


_WORD = re.compile(r"[a-z0-9]+")


class OverlapReranker(Reranker):
    """The in-package fake: the share of query words found in the text (for unit tests)."""

    name = "overlap"

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        words = set(_WORD.findall(query.lower()))
        if not words:
            return [0.0] * len(texts)
        return [len(words & set(_WORD.findall(t.lower()))) / len(words) for t in texts]
