"""Ingest throughput of the whole Icecat catalog vs a naive baseline, in one run.

Ours: `ProductIndex.ingest` with the configured embedder (fused int8 ONNX MiniLM, 24 tokens,
length-sorted batches; its one-time build is reported apart as `model_build_s`), Chroma writes
overlapped with the next batch's embedding.
Baseline: sentence-transformers `encode` with its defaults + Chroma `add`, the way a first
version would do it.

    python bench/ingest.py [--icecat DIR] [--limit N] [--baseline-limit N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from common import DEFAULT_ICECAT, configured_embedders, emit

from retrieval.chroma import ChromaIndex, chroma_client
from retrieval.embedder import minilm_dir
from retrieval.icecat import load_icecat


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--icecat", type=Path, default=DEFAULT_ICECAT)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument(
        "--baseline-limit",
        type=int,
        default=None,
        help="products for the baseline (default: the same as ours)",
    )
    args = ap.parse_args()
    products = load_icecat(args.icecat, args.limit)

    with tempfile.TemporaryDirectory() as tmp:
        embedder, _, build_s = configured_embedders()
        index = ChromaIndex(chroma_client(Path(tmp) / "ours"), embedder, "bench-ours")
        start = time.perf_counter()
        index.ingest(products)
        ours_s = time.perf_counter() - start
        assert index.count() == len(products)

        from sentence_transformers import SentenceTransformer

        base_products = products[: args.baseline_limit] if args.baseline_limit else products
        model = SentenceTransformer(str(minilm_dir()), device="cpu")
        col = chroma_client(Path(tmp) / "base").get_or_create_collection(
            "bench-baseline", embedding_function=None
        )
        start = time.perf_counter()
        for s in range(0, len(base_products), 1000):
            batch = base_products[s : s + 1000]
            vectors = model.encode([p.search_text() for p in batch])
            col.add(
                ids=[p.id for p in batch],
                embeddings=vectors,
                documents=[p.search_text() for p in batch],
                metadatas=[{"price_cents": p.price_cents, "brand": p.brand} for p in batch],
            )
        base_s = time.perf_counter() - start

    ours = len(products) / ours_s
    base = len(base_products) / base_s
    emit(
        {
            "bench": "ingest",
            "products": len(products),
            "seconds": round(ours_s, 1),
            "products_per_s": round(ours, 1),
            "baseline_products": len(base_products),
            "baseline_products_per_s": round(base, 1),
            "speedup": round(ours / base, 2),
            "embedder": embedder.name,
            "max_length": embedder.max_length,
            "model_build_s": round(build_s, 1),
        }
    )


if __name__ == "__main__":
    main()
