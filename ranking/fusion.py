"""Score fusion from our design paper (section 4.2).

For candidate item i with features v_i and a user (or intent) vector w(u), the paper ranks to
maximise  prod_i exp(match(u, y_i) * lambda_i)  with  match(u, v) = v^T w(u)  and per-item
coefficients lambda_i. We use the per-item score whose sum that product maximises::

    relevance_i = w_ce * sigmoid(cross_encoder_i) + w_retrieval * retrieval_i
                  + w_user * v_i^T w(u)                       (the last term only with a user)
    lambda_i    = 1 + w_stock * in_stock_i + w_popularity * popularity_i
                    + w_freshness * freshness_i
    final_i     = lambda_i * relevance_i

`retrieval_i` is the retrieval score min-max normalised over the candidates; popularity and
freshness are in [0, 1]. With the defaults (w_ce 1, w_retrieval 0.3, small lambda weights)
the cross-encoder leads, and the retrieval score and lambda break near-ties: an in-stock, popular,
recent item wins between two equally relevant ones. `w(u)` is a hook: `UserVectorProvider`
returns it (or None), and the behaviour loop fills it from clicks and purchases.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from ranking.errors import RankingInputError


@dataclass(frozen=True)
class FusionWeights:
    """Weights of the fused score (documented in the README's configuration table)."""

    cross_encoder: float = 1.0
    retrieval: float = 0.3
    user: float = 0.2
    in_stock: float = 0.05
    popularity: float = 0.05
    freshness: float = 0.02

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if value < 0 or math.isnan(value):
                raise RankingInputError(f"fusion weight {name} must be >= 0, got {value}")


@dataclass(frozen=True)
class ItemSignals:
    """What fusion knows of one candidate besides its text.

    Attributes:
        in_stock: Whether it can be bought now.
        popularity: In [0, 1] (from the behaviour log; 0 when unknown).
        freshness: In [0, 1] (1 = just updated).
        vector: Item features v_i for match(u, v); None when unknown.
    """

    in_stock: bool = True
    popularity: float = 0.0
    freshness: float = 0.0
    vector: np.ndarray | None = None


class UserVectorProvider(Protocol):
    """Gives w(u) for a user (profile or session intent), or None when there is nothing to use."""

    def user_vector(self, user_id: str) -> np.ndarray | None:
        """The user's weight vector w(u), in the item feature space."""
        ...


def freshness(age_days: float, half_life_days: float = 30.0) -> float:
    """exp-decay freshness in [0, 1]: 1 now, 0.5 after one half-life."""
    return float(0.5 ** (max(age_days, 0.0) / half_life_days))


def _sigmoid(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x >= 0 else math.exp(x) / (1.0 + math.exp(x))


def fuse_scores(
    cross_encoder: Sequence[float],
    retrieval: Sequence[float],
    items: Sequence[ItemSignals],
    user_vector: np.ndarray | None = None,
    weights: FusionWeights | None = None,
) -> list[float]:
    """The final score of each candidate (same order as the inputs).

    Raises:
        RankingInputError: The sequences differ in length.
    """
    w = weights or FusionWeights()
    n = len(cross_encoder)
    if len(retrieval) != n or len(items) != n:
        raise RankingInputError(
            f"fuse_scores needs equal lengths, got {n}, {len(retrieval)}, {len(items)}"
        )
    lo, hi = (min(retrieval), max(retrieval)) if n else (0.0, 0.0)
    span = hi - lo
    out: list[float] = []
    for ce, ret, item in zip(cross_encoder, retrieval, items, strict=True):
        relevance = w.cross_encoder * _sigmoid(ce)
        relevance += w.retrieval * ((ret - lo) / span if span > 0 else 0.0)
        if user_vector is not None and item.vector is not None:
            relevance += w.user * float(np.dot(item.vector, user_vector))
        lam = 1.0 + w.in_stock * item.in_stock + w.popularity * item.popularity
        lam += w.freshness * item.freshness
        out.append(lam * relevance)
    return out
