"""Ranking metrics over graded pairs (labels on the 0-3 scale)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ranking.data import Pair


def dcg(gains: Sequence[float]) -> float:
    """Discounted cumulative gain of gains in rank order."""
    return sum(g / math.log2(i + 2) for i, g in enumerate(gains))


def ndcg(labels_in_rank_order: Sequence[float], all_labels: Sequence[float], k: int = 10) -> float:
    """nDCG@k with gain 2^label - 1; 0 when no label has gain."""
    ideal = dcg(sorted((2**x - 1 for x in all_labels), reverse=True)[:k])
    if ideal <= 0:
        return 0.0
    return dcg([2**x - 1 for x in labels_in_rank_order[:k]]) / ideal


def _groups(pairs: Sequence[Pair], scores: Sequence[float]) -> dict[str, list[tuple[float, float]]]:
    groups: dict[str, list[tuple[float, float]]] = {}
    for p, s in zip(pairs, scores, strict=True):
        groups.setdefault(p.query, []).append((s, p.label))
    return groups


def mean_ndcg(pairs: Sequence[Pair], scores: Sequence[float], k: int = 10) -> float:
    """Mean over queries of nDCG@k when each query's texts are ordered by `scores`.

    Ties are broken pessimistically (lower labels first), so a constant scorer gains nothing.
    """
    values = []
    for items in _groups(pairs, scores).values():
        ranked = sorted(items, key=lambda x: (-x[0], x[1]))
        values.append(ndcg([y for _, y in ranked], [y for _, y in items], k))
    return sum(values) / len(values) if values else 0.0


def pair_accuracy(pairs: Sequence[Pair], scores: Sequence[float]) -> float:
    """Share of same-query pairs with different labels that the scores order correctly."""
    right = total = 0
    for items in _groups(pairs, scores).values():
        for i, (si, yi) in enumerate(items):
            for sj, yj in items[i + 1 :]:
                if yi != yj:
                    total += 1
                    right += (si - sj) * (yi - yj) > 0
    return right / total if total else 0.0


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman rank correlation of two score lists (ties broken by position); 1.0 if constant."""
    ra = np.argsort(np.argsort(np.asarray(a), kind="stable"), kind="stable").astype(float)
    rb = np.argsort(np.argsort(np.asarray(b), kind="stable"), kind="stable").astype(float)
    if len(ra) < 2 or ra.std() == 0 or rb.std() == 0:
        return 1.0
    return float(np.corrcoef(ra, rb)[0, 1])


def mean_spearman(pairs: Sequence[Pair], a: Sequence[float], b: Sequence[float]) -> float:
    """Mean per-query Spearman agreement of two scorings of `pairs` (queries of 3+ pairs)."""
    rows: dict[str, list[int]] = {}
    for i, p in enumerate(pairs):
        rows.setdefault(p.query, []).append(i)
    values = [
        spearman([a[i] for i in idx], [b[i] for i in idx]) for idx in rows.values() if len(idx) > 2
    ]
    return sum(values) / len(values) if values else math.nan
