"""Freshness: from the return of an update call to the product being found with its new price.

1,000 price patches interleaved with ordinary searches; after each patch, a search filtered on
exactly the new price must find the product. p50/p99 of that delay, and whether any search ever
returned the old price.

    python bench/freshness.py [--icecat DIR] [--updates N]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from common import DEFAULT_ICECAT, configured_embedders, emit, percentile

from retrieval.chroma import ChromaIndex, chroma_client
from retrieval.embedder import CachedQueryEmbedder
from retrieval.icecat import load_icecat
from retrieval.search import SearchFilters


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--icecat", type=Path, default=DEFAULT_ICECAT)
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--updates", type=int, default=1000)
    args = ap.parse_args()
    products = load_icecat(args.icecat, args.limit)
    rng = random.Random(1)
    embedder, query_embedder, _ = configured_embedders()
    with tempfile.TemporaryDirectory() as tmp:
        index = ChromaIndex(
            chroma_client(Path(tmp) / "db"),
            embedder,
            "bench-fresh",
            query_embedder=CachedQueryEmbedder(query_embedder),
        )
        index.ingest(products)
        queries = ["bluetooth speaker", "usb cable", "toner", "gaming mouse", "laptop bag"]
        delays, stale, tries_needed = [], 0, []
        for n in range(args.updates):
            p = products[rng.randrange(len(products))]
            new_price = Decimal(rng.randrange(100, 99999)) / 100
            index.search(rng.choice(queries), k=10)  # unrelated traffic in between
            index.patch(p.id, price=new_price)
            returned = time.perf_counter()
            exact = SearchFilters(price_min=new_price, price_max=new_price)
            tries = 0
            while tries < 1000:
                tries += 1
                hits = index.search(p.title, exact, k=10)
                found = [h for h in hits if h.product.id == p.id]
                if found:
                    if found[0].product.price != new_price:
                        stale += 1
                    break
                stale += 1
            delays.append((time.perf_counter() - returned) * 1000)
            tries_needed.append(tries)
            if n % 250 == 0:
                old = index.search(p.title, SearchFilters(price_max=new_price - Decimal("0.01")))
                stale += any(h.product.id == p.id for h in old)
    emit(
        {
            "bench": "freshness",
            "updates": args.updates,
            "products": len(products),
            "p50_ms": round(percentile(delays, 50), 2),
            "p99_ms": round(percentile(delays, 99), 2),
            "max_ms": round(max(delays), 2),
            "stale_results": stale,
            "searches_until_found_max": max(tries_needed),
        }
    )


if __name__ == "__main__":
    main()
