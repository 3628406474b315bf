"""Offline ranking evaluation: graded judgments and nDCG@k.

Judgments are pooled: raters saw only what some earlier system retrieved, so a ranking that finds
products they never saw scores those as irrelevant. Beside the official nDCG (unjudged gains 0),
two pool-robust views are kept: nDCG of the condensed ranking (Sakai's nDCG', the ranking with
its unjudged products removed) and how many products judged irrelevant sit in the top k.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from retrieval.errors import CatalogSourceError


def read_judgments(path: Path) -> dict[str, dict[str, float]]:
    """Judgments from a CSV with columns `query,docid,rating`: {query: {docid: rating}}.

    Raises:
        CatalogSourceError: The file is missing or not UTF-8, lacks a column or has a rating
            that is not a finite number.
    """
    out: dict[str, dict[str, float]] = defaultdict(dict)
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = {"query", "docid", "rating"} - set(reader.fieldnames or [])
            if missing:
                raise CatalogSourceError(
                    f"{path}: missing column(s) {', '.join(sorted(missing))}; "
                    "expected query,docid,rating"
                )
            for n, row in enumerate(reader, start=2):
                try:
                    rating = float(row["rating"])
                except (TypeError, ValueError):
                    rating = math.nan
                if not math.isfinite(rating) or row["query"] is None or row["docid"] is None:
                    raise CatalogSourceError(
                        f"{path}:{n}: rating {row['rating']!r} is not a number, or the row has "
                        "fewer than three columns"
                    )
                out[row["query"]][row["docid"]] = rating
    except (OSError, UnicodeDecodeError) as exc:
        raise CatalogSourceError(f"Cannot read judgments {path}: {exc}") from exc
    return dict(out)


def dcg(gains: Sequence[float]) -> float:
    """Discounted cumulative gain of gains in rank order."""
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def ndcg_at_k(ranked: Sequence[str], labels: dict[str, float], k: int = 10) -> float:
    """nDCG@k with gain 2^rating - 1; unjudged documents gain 0; the ideal uses judged labels."""
    gains = [2 ** labels.get(doc, 0.0) - 1 for doc in ranked[:k]]
    ideal = sorted((2**r - 1 for r in labels.values()), reverse=True)[:k]
    best = dcg(ideal)
    return dcg(gains) / best if best > 0 else 0.0


def condensed_ndcg_at_k(ranked: Sequence[str], labels: dict[str, float], k: int = 10) -> float:
    """nDCG@k of `ranked` with its unjudged documents removed (Sakai's condensed-list nDCG').

    It compares rankings by how they order what the raters judged, so finding products they
    never saw neither helps nor hurts. Pass a ranking deeper than `k` so that k judged documents
    can remain."""
    return ndcg_at_k([doc for doc in ranked if doc in labels], labels, k)


def judged_irrelevant_at_k(ranked: Sequence[str], labels: dict[str, float], k: int = 10) -> int:
    """How many of the top `k` were judged irrelevant (rating 0): known mistakes, which no
    pool bias excuses."""
    return sum(1 for doc in ranked[:k] if labels.get(doc) == 0)


def oracle_order(ranked: Sequence[str], labels: dict[str, float]) -> list[str]:
    """`ranked` reordered as a perfect re-ranker would: by judged label, best first, unjudged
    last (they gain 0); ties keep their order. Its nDCG is the ceiling of re-ranking `ranked`."""
    return sorted(ranked, key=lambda doc: -labels.get(doc, -1.0))
