"""How far re-ranking can lift the dev judgments' nDCG@10, and how far the bundled re-ranker does.

For each depth N: the hybrid top N of every dev query, as the re-ranker would receive them, scored
over all Icecat products in embedded Chroma (the configured embedders and fusion):
the hybrid order itself, the bundled re-ranker's order (`ProductSearch`, the configured fusion
weights, `candidates=N`), and the best order any re-ranker could give those N products: by their
judged labels, unjudged ones last (they gain 0). Also the ceiling of the judgments themselves
(every query's best judged products on top). Prints one JSON line.

    python bench/ceiling.py [--icecat DIR] [--judgments CSV] [--depths 10,20,50,100] [--no-rerank]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from common import DEFAULT_ICECAT, DEFAULT_JUDGMENTS, configured_embedders, emit

from assistant.search import ProductSearch
from retrieval.chroma import ChromaIndex, chroma_client
from retrieval.embedder import CachedQueryEmbedder
from retrieval.evaluation import ndcg_at_k, oracle_order, read_judgments
from retrieval.icecat import load_icecat
from ui.compose import build_fusion, build_reranker, build_weights
from ui.settings import Settings


def mean_ndcg(ranked: dict[str, list[str]], judgments: dict[str, dict[str, float]]) -> float:
    """Mean nDCG@10 of each query's ranking, rounded for the JSON line."""
    return round(float(np.mean([ndcg_at_k(ids, judgments[q]) for q, ids in ranked.items()])), 4)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--icecat", type=Path, default=DEFAULT_ICECAT)
    ap.add_argument("--judgments", type=Path, default=DEFAULT_JUDGMENTS)
    ap.add_argument("--depths", default="10,20,50,100")
    ap.add_argument("--no-rerank", action="store_true", help="Skip the bundled re-ranker.")
    args = ap.parse_args()
    depths = [int(d) for d in args.depths.split(",")]
    judgments = read_judgments(args.judgments)
    settings = Settings()
    doc_embedder, query_embedder, _ = configured_embedders()
    result: dict[str, object] = {"bench": "ceiling", "queries": len(judgments)}
    with tempfile.TemporaryDirectory() as tmp:
        index = ChromaIndex(
            chroma_client(Path(tmp) / "db"),
            doc_embedder,
            "bench-ceiling",
            query_embedder=CachedQueryEmbedder(query_embedder),
            fusion=build_fusion(settings),
        )
        index.ingest(load_icecat(args.icecat))  # as `catalog ingest` does
        result["products"] = index.count()
        result["judged_ceiling"] = mean_ndcg(
            {q: oracle_order(list(j), j) for q, j in judgments.items()}, judgments
        )
        hybrid = {q: [h.product.id for h in index.search(q, k=max(depths))] for q in judgments}
        result["hybrid"] = mean_ndcg(hybrid, judgments)  # nDCG@10: the same for every depth
        reranker = None if args.no_rerank else build_reranker(settings)
        weights = build_weights(settings)
        for n in depths:
            result[f"oracle@{n}"] = mean_ndcg(
                {q: oracle_order(ids[:n], judgments[q]) for q, ids in hybrid.items()}, judgments
            )
            if reranker is not None:
                search = ProductSearch(index, reranker, weights, candidates=n)
                result[f"rerank@{n}"] = mean_ndcg(
                    {q: [h.product.id for h in search.search(q, k=10)] for q in judgments},
                    judgments,
                )
    result["rerank_candidates_configured"] = settings.rerank_candidates
    emit(result)


if __name__ == "__main__":
    main()
