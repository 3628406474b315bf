"""Search requests and results: filters, hits with their reasons, and the hybrid fusion."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from retrieval.product import Product


class SearchFilters(BaseModel):
    """Hard constraints on a search; every hit satisfies all of them.

    Attributes:
        price_min: Lowest price, inclusive, in currency units.
        price_max: Highest price, inclusive, in currency units.
        brands: Any of these brands (case-insensitive); empty means any brand.
        category: Exactly this category (case-insensitive).
        in_stock: Only products with stock > 0.
        attributes: Attribute values that must match exactly (case-insensitive).
    """

    model_config = ConfigDict(frozen=True)

    price_min: Decimal | None = Field(default=None, ge=0)
    price_max: Decimal | None = Field(default=None, ge=0)
    brands: tuple[str, ...] = ()
    category: str | None = None
    in_stock: bool = False
    attributes: dict[str, str] = Field(default_factory=dict)

    @field_validator("brands", mode="before")
    @classmethod
    def _brands_tuple(cls, value: Any) -> Any:
        return tuple(value) if isinstance(value, list) else value

    @model_validator(mode="after")
    def _price_range(self) -> SearchFilters:
        if (
            self.price_min is not None
            and self.price_max is not None
            and self.price_min > self.price_max
        ):
            raise ValueError(f"price_min {self.price_min} is above price_max {self.price_max}")
        return self

    def admits(self, view: FilterView) -> bool:
        """Whether a product (as its filter view) satisfies every filter.

        `FilterColumns.mask` is the vectorised twin of this method; a unit test keeps them equal.
        """
        if self.price_min is not None and view.price_cents < to_cents(self.price_min):
            return False
        if self.price_max is not None and view.price_cents > to_cents(self.price_max):
            return False
        if self.brands and view.brand not in {b.lower() for b in self.brands}:
            return False
        if self.category and view.category != self.category.lower():
            return False
        if self.in_stock and view.stock <= 0:
            return False
        return all(view.attributes.get(k.lower()) == v.lower() for k, v in self.attributes.items())

    def describe(self) -> dict[str, Any]:
        """The active filters as plain data (for "why this product")."""
        out: dict[str, Any] = {}
        if self.price_min is not None:
            out["price_min"] = float(self.price_min)
        if self.price_max is not None:
            out["price_max"] = float(self.price_max)
        if self.brands:
            out["brands"] = list(self.brands)
        if self.category:
            out["category"] = self.category
        if self.in_stock:
            out["in_stock"] = True
        if self.attributes:
            out["attributes"] = dict(self.attributes)
        return out


def to_cents(amount: Decimal) -> int:
    """An amount in currency units as integer cents."""
    return int((amount * 100).to_integral_value())


@dataclass(frozen=True)
class FilterView:
    """The filterable fields of a product, kept in memory beside the lexical index."""

    price_cents: int
    brand: str
    category: str
    stock: int
    attributes: dict[str, str]

    @classmethod
    def of(cls, product: Product) -> FilterView:
        """The filter view of a product (lower-cased for case-insensitive matching)."""
        return cls(
            price_cents=product.price_cents,
            brand=product.brand.lower(),
            category=product.category.lower(),
            stock=product.stock,
            attributes={k.lower(): v.lower() for k, v in product.attributes.items()},
        )


@dataclass(frozen=True)
class FusionConfig:
    """How lexical and dense rankings are combined.

    `method="rrf"`: score = w_lex / (k + rank_lex) + w_dense / (k + rank_dense).
    `method="linear"`: score = w_lex * bm25 / max_bm25 + w_dense * cosine.
    The defaults were chosen on the Icecat dev judgments, by nDCG@10, condensed nDCG@10 and the
    judged-irrelevant products in the top ten (README, "Measures that pool bias does not decide").
    """

    method: str = "rrf"
    rrf_k: int = 40
    lexical_weight: float = 1.0
    dense_weight: float = 0.5
    candidates: int = 100
    bm25_k1: float = 0.9
    bm25_b: float = 0.4


@dataclass
class Hit:
    """One search result and why it matched.

    Attributes:
        product: The product as stored now.
        score: The fused score the hits are ordered by.
        lexical_score: BM25 score, or None when the lexical side did not find it.
        dense_score: Cosine similarity, or None when the dense side did not find it.
        lexical_rank: 1-based rank on the lexical side, or None.
        dense_rank: 1-based rank on the dense side, or None.
        matched_terms: Query terms found in the product's text.
        filters: The filters it satisfied.
        stage: "hybrid", or "rerank" once a re-ranker ordered it.
    """

    product: Product
    score: float
    lexical_score: float | None = None
    dense_score: float | None = None
    lexical_rank: int | None = None
    dense_rank: int | None = None
    matched_terms: tuple[str, ...] = ()
    filters: dict[str, Any] = field(default_factory=dict)
    stage: str = "hybrid"
    extra_scores: dict[str, float] = field(default_factory=dict)

    def why(self) -> str:
        """A one-line human explanation of the match."""
        parts: list[str] = []
        if self.matched_terms:
            parts.append("matches " + ", ".join(repr(t) for t in self.matched_terms))
        if self.dense_rank is not None:
            parts.append(f"similar in meaning (cosine {self.dense_score:.2f})")
        if "rerank_score" in self.extra_scores:
            parts.append(f"re-ranker score {self.extra_scores['rerank_score']:.2f}")
        for name, value in self.filters.items():
            parts.append(f"{name} {value}")
        return "; ".join(parts) or "closest match"

    def as_dict(self) -> dict[str, Any]:
        """The hit as JSON data."""
        return {
            "product": self.product.public_dict(),
            "score": self.score,
            "stage": self.stage,
            "why": {
                "matched_terms": list(self.matched_terms),
                "lexical_score": self.lexical_score,
                "lexical_rank": self.lexical_rank,
                "dense_score": self.dense_score,
                "dense_rank": self.dense_rank,
                "filters": self.filters,
                **self.extra_scores,
            },
        }


@dataclass
class Candidate:
    """A product id found by at least one side, before hydration."""

    id: str
    score: float = 0.0
    lexical_score: float | None = None
    dense_score: float | None = None
    lexical_rank: int | None = None
    dense_rank: int | None = None
    matched_terms: tuple[str, ...] = ()


def fuse(
    lexical: list[tuple[str, float, tuple[str, ...]]],
    dense: list[tuple[str, float]],
    config: FusionConfig,
) -> list[Candidate]:
    """Combine a lexical and a dense ranking into one, best first.

    Args:
        lexical: (id, bm25 score, matched terms), best first.
        dense: (id, cosine similarity), best first.
        config: The fusion method and weights.
    """
    cands: dict[str, Candidate] = {}
    top_bm25 = max((s for _, s, _ in lexical), default=0.0) or 1.0
    for rank, (pid, score, terms) in enumerate(lexical, start=1):
        c = cands.setdefault(pid, Candidate(pid))
        c.lexical_score, c.lexical_rank, c.matched_terms = score, rank, terms
    for rank, (pid, sim) in enumerate(dense, start=1):
        c = cands.setdefault(pid, Candidate(pid))
        c.dense_score, c.dense_rank = sim, rank
    for c in cands.values():
        if config.method == "rrf":
            lex = 1 / (config.rrf_k + c.lexical_rank) if c.lexical_rank else 0.0
            den = 1 / (config.rrf_k + c.dense_rank) if c.dense_rank else 0.0
        else:
            lex = (c.lexical_score or 0.0) / top_bm25
            den = c.dense_score or 0.0
        c.score = config.lexical_weight * lex + config.dense_weight * den
    return sorted(cands.values(), key=lambda c: (-c.score, c.id))
