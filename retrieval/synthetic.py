"""Shopper-like queries drawn from the catalog itself, with the candidates search would show.

Used to distil the re-ranker on the shop's own products (`shopassist train reranker-student`):
the teacher scores the pairs, so no label is needed. A query is a product's category ("mouse"),
its brand and category ("logitech mouse"), or two or three adjacent title words without digits
("wireless mouse"); its candidates are the BM25 top hits over the whole catalog plus a few random
products, as a re-ranker meets them after retrieval. A query that names a product type also
grades its candidates weakly from the catalog's structure (`CatalogQuery.grade`).
"""

from __future__ import annotations

import random
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from retrieval.lexical import BM25Index, LexicalDoc, tokenize
from retrieval.product import Product

_WORD = re.compile(r"[A-Za-z][A-Za-z-]+")
_VAGUE = frozenset({"other", "gen", "on-site", "case", "kit"})
_UNITS = frozenset({"cm", "mm", "pixels", "dpi", "original", "pc", "pcs", "gb", "mb", "tb", "ghz"})


def _title_phrase(product: Product, rng: random.Random) -> str | None:
    words = [w.lower() for w in product.title.split()]
    words = [
        w for w in words if _WORD.fullmatch(w) and w != product.brand.lower() and w not in _UNITS
    ]
    if len(words) < 2:
        return None
    size = min(len(words), rng.choice((2, 2, 3)))
    start = rng.randrange(len(words) - size + 1)
    phrase = " ".join(words[start : start + size])
    return phrase if len(tokenize(phrase)) >= 2 else None


@dataclass(frozen=True)
class CatalogQuery:
    """A drawn query: its text, what it asks for when it names a product type, its candidates.

    Attributes:
        text: The query.
        category: The product type it names ("mouse"), or None for a title phrase.
        brand: The brand it names with the type ("logitech mouse"), or None.
        candidates: BM25 hits, then random products.
    """

    text: str
    category: str | None
    brand: str | None
    candidates: list[Product] = field(default_factory=list)

    def grade(self, product: Product) -> float | None:
        """A weak 0-3 relevance grade from the catalog's structure; None for a title phrase.

        3: the product is of the type (and brand) asked for; 2: the type, another brand;
        1: the brand, or the query's words in its title (an accessory: "mouse pad" for
        "mouse"); 0: otherwise.
        """
        if self.category is None:
            return None
        same_type = product.category.lower() == self.category
        same_brand = self.brand is not None and product.brand.lower() == self.brand
        if same_type and (self.brand is None or same_brand):
            return 3.0
        if same_type:
            return 2.0
        words = set(tokenize(self.category))
        if same_brand or words <= set(tokenize(product.title)):
            return 1.0
        return 0.0


def catalog_query(product: Product, rng: random.Random) -> CatalogQuery | None:
    """One shopper-like query about `product`, or None when it yields none."""
    category = product.category.lower()
    kind = rng.random()
    if kind < 0.35 and category not in _VAGUE:
        return CatalogQuery(category, category, None)
    if kind < 0.6 and category not in _VAGUE and product.brand:
        brand = product.brand.lower()
        return CatalogQuery(f"{brand} {category}", category, brand)
    phrase = _title_phrase(product, rng)
    return CatalogQuery(phrase, None, None) if phrase else None


def catalog_queries(
    products: Sequence[Product],
    queries: int,
    per_query: int = 30,
    random_negatives: int = 5,
    seed: int = 0,
    exclude: Collection[str] = (),
) -> list[CatalogQuery]:
    """`queries` distinct queries, each with its BM25 top `per_query` + random products.

    Args:
        products: The catalog.
        queries: How many queries to draw.
        per_query: BM25 candidates per query.
        random_negatives: Random products added per query.
        seed: The draw is reproducible.
        exclude: Queries never drawn (e.g. evaluation queries), compared lower-cased.
    """
    if not products:
        return []
    rng = random.Random(seed)
    index = BM25Index()
    by_id = {p.id: p for p in products}
    for p in products:
        index.add(LexicalDoc(p.id, p.title, " ".join((p.brand, p.category, p.description))))
    banned = {q.strip().lower() for q in exclude}
    seen: set[str] = set()
    out: list[CatalogQuery] = []
    attempts = 0
    while len(out) < queries and attempts < queries * 20:
        attempts += 1
        drawn = catalog_query(products[rng.randrange(len(products))], rng)
        if drawn is None or drawn.text in seen or drawn.text in banned:
            continue
        hits = [by_id[h.id] for h in index.search(drawn.text, k=per_query)]
        if len(hits) < 3:
            continue
        seen.add(drawn.text)
        shown = {p.id for p in hits}
        extra = [p for p in rng.sample(list(products), random_negatives) if p.id not in shown]
        drawn.candidates.extend(hits + extra)
        out.append(drawn)
    return out
