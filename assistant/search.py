"""`ProductSearch`: retrieval, then the cross-encoder re-ranker, then score fusion.

This is where products meet the re-ranker: `ranking` sees only texts and signals, and this class
maps its indices back to hits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ranking.base import Reranker
from ranking.fusion import FusionWeights, ItemSignals, UserVectorProvider, freshness, fuse_scores
from retrieval.index import ProductIndex
from retrieval.product import utcnow
from retrieval.search import Hit, SearchFilters
from retrieval.text import rerank_text


@dataclass
class ProductSearch:
    """Hybrid retrieval followed by re-ranking.

    Args:
        index: The catalog.
        reranker: Scores (query, product text) pairs; None searches without re-ranking.
        weights: The fusion weights.
        candidates: How many retrieval hits the re-ranker sees.
        users: Gives w(u) for personalised fusion (the behaviour loop's hook); optional.
    """

    index: ProductIndex
    reranker: Reranker | None = None
    weights: FusionWeights | None = None
    candidates: int = 10
    users: UserVectorProvider | None = None

    def search(
        self,
        query: str,
        filters: SearchFilters | None = None,
        k: int = 10,
        rerank: bool = True,
        user_id: str | None = None,
    ) -> list[Hit]:
        """The `k` best products, re-ranked unless `rerank` is False or there is no query."""
        if not rerank or self.reranker is None or not query.strip():
            return self.index.search(query, filters, k)
        hits = self.index.search(query, filters, max(k, self.candidates))
        if not hits:
            return hits
        ce = self.reranker.score(query, [rerank_text(h.product) for h in hits])
        user: np.ndarray | None = None
        if user_id is not None and self.users is not None:
            user = self.users.user_vector(user_id)
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
        return sorted(hits, key=lambda h: -h.score)[:k]
