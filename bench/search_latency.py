"""Search latency over the dev queries at 19k products and at 200k (synthetic variants).

The 200k catalog repeats each Icecat product as variants (new ids, a variant tag in the title).
Variant vectors are the original's plus small seeded noise, so building it costs store writes,
not hours of embedding; what is measured is search.

    python bench/search_latency.py [--icecat DIR] [--sizes 19406,200000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from common import DEFAULT_ICECAT, DEFAULT_JUDGMENTS, configured_embedders, emit, percentile

from assistant.search import ProductSearch
from retrieval.chroma import ChromaIndex, chroma_client
from retrieval.embedder import CachedQueryEmbedder, Embedder
from retrieval.evaluation import read_judgments
from retrieval.icecat import load_icecat
from retrieval.product import Product

TAG = re.compile(r" \[v(\d+)\]")


class VariantEmbedder(Embedder):
    """Embeds the text without its variant tag once, then adds noise seeded by the tag."""

    def __init__(self, inner: Embedder) -> None:
        self.inner, self.dim, self.name = inner, inner.dim, inner.name
        self.cache: dict[str, np.ndarray] = {}

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        bases = [TAG.sub("", t) for t in texts]
        missing = [b for b in dict.fromkeys(bases) if b not in self.cache]
        if missing:
            for b, v in zip(missing, self.inner.embed(missing), strict=True):
                self.cache[b] = v
        rows = []
        for text, base in zip(texts, bases, strict=True):
            tag = TAG.search(text)
            v = self.cache[base].copy()
            if tag:
                v += np.random.default_rng(int(tag.group(1))).normal(0, 0.02, self.dim)
            rows.append(v / np.linalg.norm(v))
        return np.asarray(rows, dtype=np.float32)


def variants(products: list[Product], size: int) -> list[Product]:
    out = list(products)
    v = 1
    while len(out) < size:
        for p in products:
            if len(out) >= size:
                break
            out.append(p.model_copy(update={"id": f"{p.id}-v{v}", "title": f"{p.title} [v{v}]"}))
        v += 1
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--icecat", type=Path, default=DEFAULT_ICECAT)
    ap.add_argument("--judgments", type=Path, default=DEFAULT_JUDGMENTS)
    ap.add_argument("--sizes", default="19406,200000")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    base = load_icecat(args.icecat)
    queries = list(read_judgments(args.judgments))
    doc_embedder, query_embedder, _ = configured_embedders()
    embedder = VariantEmbedder(doc_embedder)
    result: dict[str, object] = {"bench": "search_latency", "queries": len(queries)}
    for size in (int(s) for s in args.sizes.split(",")):
        catalog = variants(base, size)
        with tempfile.TemporaryDirectory() as tmp:
            index = ChromaIndex(
                chroma_client(Path(tmp) / "db"),
                embedder,
                f"bench-latency-{size}",
                query_embedder=CachedQueryEmbedder(query_embedder, size=0),
            )
            index.ingest(catalog, batch_size=2048)
            # retrieval as the search runs it without the re-ranker: hybrid, the kind named
            # first in each window (`ProductSearch`)
            search = ProductSearch(index, None)
            for q in queries[:5]:
                search.search(q)  # warm-up
            cold_q, times = [], []
            for _ in range(args.repeat):
                for q in queries:
                    t0 = time.perf_counter()
                    search.search(q, k=10)
                    times.append((time.perf_counter() - t0) * 1000)
            for q in queries:
                t0 = time.perf_counter()
                query_embedder.embed_one(q)
                cold_q.append((time.perf_counter() - t0) * 1000)
        result[f"p50_ms@{size}"] = round(percentile(times, 50), 2)
        result[f"p95_ms@{size}"] = round(percentile(times, 95), 2)
        result[f"query_embed_p50_ms@{size}"] = round(percentile(cold_q, 50), 2)
    emit(result)


if __name__ == "__main__":
    main()
