"""`ProductSearch`: retrieval, then the cross-encoder re-ranker, then score fusion.

This is where products meet the re-ranker: `ranking` sees only texts and signals, and this class
maps its indices back to hits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from assistant.matching import kind_first
from ranking.base import Reranker
from ranking.fusion import FusionWeights, ItemSignals, UserVectorProvider, freshness, fuse_scores
from retrieval.index import ProductIndex
from retrieval.product import utcnow
from retrieval.search import Hit, SearchFilters
from retrieval.text import rerank_text


def whole_windows(k: int, window: int) -> int:
    """`k` rounded up to whole windows of `window` hits (at least one window)."""
    return -(-max(k, 1) // window) * window


@dataclass
class ProductSearch:
    """Hybrid retrieval followed by re-ranking.

    Args:
        index: The catalog.
        reranker: Scores (query, product text) pairs; None searches without re-ranking.
        weights: The fusion weights.
        candidates: How many retrieval hits the re-ranker orders at a time (its window).
        users: Gives w(u) for personalised fusion (the behaviour loop's hook); optional.
        kinds_first: Put the matches of the kind of product the query names first within each
            window (`kind_first`): "camera" shows cameras before camera cases, re-ranked or not.
    """

    index: ProductIndex
    reranker: Reranker | None = None
    weights: FusionWeights | None = None
    candidates: int = 10
    users: UserVectorProvider | None = None
    kinds_first: bool = True

    def search(
        self,
        query: str,
        filters: SearchFilters | None = None,
        k: int = 10,
        rerank: bool = True,
        user_id: str | None = None,
    ) -> list[Hit]:
        """The `k` best products, re-ranked unless `rerank` is False or there is no query.

        The re-ranker orders the retrieval hits in windows of `candidates`: the first window is
        the best `candidates` hits re-ordered, the next the following ones, and so on. A hit's
        place therefore never depends on how many are asked for: asking for 15 and then for 20
        gives the same first 15 ("show me more" neither repeats nor skips a product).
        """
        window = max(1, self.candidates)
        if not rerank or self.reranker is None or not query.strip():
            return self._kinds(query, filters, self.index.search(query, filters, k), window)
        hits = self.index.search(query, filters, whole_windows(k, window))
        if not hits:
            return hits
        user: np.ndarray | None = None
        if user_id is not None and self.users is not None:
            user = self.users.user_vector(user_id)
        ranked: list[Hit] = []
        for start in range(0, len(hits), window):
            ranked += self._rerank(self.reranker, query, hits[start : start + window], user)
        return self._kinds(query, filters, ranked, window)[:k]

    def _kinds(
        self, query: str, filters: SearchFilters | None, hits: list[Hit], window: int
    ) -> list[Hit]:
        """`hits` with the matches of the kind the query names first in each window, unless
        switched off or a category filter already names the kind."""
        if not self.kinds_first or (filters is not None and filters.category):
            return hits
        return kind_first(hits, query, window)

    def _rerank(
        self, reranker: Reranker, query: str, hits: list[Hit], user: np.ndarray | None
    ) -> list[Hit]:
        """`hits` ordered by the fused score of the re-ranker, retrieval and item signals."""
        ce = reranker.score(query, [rerank_text(h.product) for h in hits])
        features = self.index.vectors([h.product.id for h in hits]) if user is not None else {}
        now = utcnow()
        signals = [
            ItemSignals(
                in_stock=h.product.in_stock,
                freshness=freshness((now - h.product.updated_at).total_seconds() / 86400),
                vector=features.get(h.product.id),
            )
            for h in hits
        ]
        final = fuse_scores(ce, [h.score for h in hits], signals, user, self.weights)
        for hit, ce_score, score in zip(hits, ce, final, strict=True):
            hit.extra_scores = {"retrieval_score": hit.score, "rerank_score": ce_score}
            hit.score, hit.stage = score, "rerank"
        return sorted(hits, key=lambda h: -h.score)
