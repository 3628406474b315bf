"""`ProductSearch`: retrieval + re-ranking + fusion, on the fakes."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from assistant.matching import kind_first
from assistant.search import ProductSearch
from ranking.base import OverlapReranker, Reranker
from retrieval.memory import InMemoryIndex
from retrieval.search import SearchFilters
from tests.assistant.search_fixtures import PrefersThirds, numbered, thirds_first
from tests.retrieval.catalog_fixtures import product, sample_products


class PreferReranker(Reranker):
    """Scores texts containing `word` high: shows that the re-ranker decides the order."""

    def __init__(self, word: str) -> None:
        self.word = word

    def score(self, query: str, texts: list[str]) -> list[float]:  # type: ignore[override]
        return [5.0 if self.word in t.lower() else -5.0 for t in texts]


class LikesMice:
    """w(u) = the vector of a mouse this user clicked; nothing for anyone else."""

    def __init__(self, index: InMemoryIndex) -> None:
        self.vector = index.vectors(["m2"])["m2"]

    def user_vector(self, user_id: str) -> np.ndarray | None:
        return self.vector if user_id == "u1" else None


def engine(reranker: Reranker | None = None) -> ProductSearch:
    index = InMemoryIndex()
    index.upsert(sample_products())
    return ProductSearch(index, reranker or OverlapReranker())


def test_rerank_reorders_and_marks_the_stage() -> None:
    search = engine(PreferReranker("jbl"))
    hits = search.search("bluetooth speaker", k=3)
    assert hits[0].product.id == "s2" and all(h.stage == "rerank" for h in hits)
    why = hits[0].as_dict()["why"]
    assert why["rerank_score"] == 5.0 and "retrieval_score" in why
    assert "re-ranker score 5.00" in hits[0].why()
    plain = search.search("bluetooth speaker", k=3, rerank=False)
    assert all(h.stage == "hybrid" for h in plain)


def test_filters_survive_reranking() -> None:
    search = engine(PreferReranker("jbl"))
    hits = search.search("speaker", SearchFilters(price_max=Decimal("50")), k=5)
    assert hits and all(h.product.price <= 50 for h in hits)
    assert "s2" not in [h.product.id for h in hits]


def test_in_stock_breaks_a_tie() -> None:
    search = engine(PreferReranker("bluetooth speaker"))
    hits = search.search("bluetooth speaker", k=3)
    assert hits[-1].product.id == "s3"  # the one out of stock, equal relevance otherwise


def test_empty_query_lists_without_reranking() -> None:
    hits = engine().search("", SearchFilters(category="mouse"))
    assert {h.product.id for h in hits} == {"m1", "m2"} and hits[0].stage == "hybrid"


def test_user_vector_personalises_the_order() -> None:
    search = engine(PreferReranker("logitech"))  # m1 (mouse) and k1 (keyboard) tie
    assert isinstance(search.index, InMemoryIndex)
    search.users = LikesMice(search.index)
    anonymous = [h.product.id for h in search.search("logitech", k=2, user_id="nobody")]
    personal = [h.product.id for h in search.search("logitech", k=2, user_id="u1")]
    assert set(anonymous) == set(personal) == {"m1", "k1"}
    assert personal[0] == "m1"  # closer to the mouse the user liked
    hits = search.search("logitech", k=2, user_id="u1")
    assert hits[0].score > search.search("logitech", k=2, user_id="nobody")[0].score


def test_a_hits_place_does_not_depend_on_how_many_are_asked_for() -> None:
    search = ProductSearch(numbered(30), PrefersThirds(), candidates=10)
    retrieved = [h.product.id for h in search.search("speaker", k=20, rerank=False)]
    ten = [h.product.id for h in search.search("speaker", k=10)]
    assert ten == thirds_first(retrieved[:10])  # the re-ranker orders the first ten
    fifteen = [h.product.id for h in search.search("speaker", k=15)]
    twenty = [h.product.id for h in search.search("speaker", k=20)]
    assert fifteen[:10] == ten and twenty[:15] == fifteen  # asking for more adds, never moves
    # The next ten are the re-ranker's second window: the retrieval's 11th to 20th.
    assert twenty[10:] == thirds_first(retrieved[10:])
    assert all(h.stage == "rerank" for h in search.search("speaker", k=25))


def _cameras() -> InMemoryIndex:
    """Camera cases that say "camera" more often than the cameras do."""
    index = InMemoryIndex()
    index.upsert(
        [
            product(
                f"c{n}",
                f"Acme camera case {n} for camera and camera lens",
                "9",
                category="camera case",
            )
            for n in range(3)
        ]
        + [
            product("d1", "Zeta digital camera 20 MP", "199", category="digital camera"),
            product("d2", "Zeta compact camera", "149", category="camera"),
        ]
    )
    return index


def test_the_matches_of_the_kind_named_come_first_within_each_window() -> None:
    index = _cameras()
    search = ProductSearch(index, PreferReranker("case"), candidates=10)
    for rerank in (True, False):
        ids = [h.product.id for h in search.search("camera", k=5, rerank=rerank)]
        assert ids[:2] in (["d1", "d2"], ["d2", "d1"]), (rerank, ids)
        assert sorted(ids[2:]) == ["c0", "c1", "c2"]
    # switched off: the fused order alone (the re-ranker prefers the cases)
    search.kinds_first = False
    assert search.search("camera", k=5)[0].product.category == "camera case"
    # a category filter names the kind itself: nothing is moved
    search.kinds_first = True
    hits = search.search("camera", SearchFilters(category="camera case"), k=5)
    assert {h.product.id for h in hits} == {"c0", "c1", "c2"}
    # windows of 3: each holds the hits it holds without the rule, its cameras first, so a
    # product's place never depends on how many are asked for
    narrow = ProductSearch(index, PreferReranker("case"), candidates=3, kinds_first=False)
    plain = [h.product.id for h in narrow.search("camera", k=5)]
    narrow.kinds_first = True
    ids = [h.product.id for h in narrow.search("camera", k=5)]
    for window in (slice(0, 3), slice(3, 5)):
        assert set(ids[window]) == set(plain[window])
        got = [i[0] for i in ids[window]]
        assert got == sorted(got, key=lambda c: c != "d"), ids
    assert ids != plain and [h.product.id for h in narrow.search("camera", k=3)] == ids[:3]


def test_kind_first_keeps_the_order_within_each_group() -> None:
    index = _cameras()
    hits = index.search("camera", None, 5)
    ordered = kind_first(hits, "camera", 5)
    cameras = [h.product.id for h in hits if h.product.id.startswith("d")]
    cases = [h.product.id for h in hits if h.product.id.startswith("c")]
    assert [h.product.id for h in ordered] == cameras + cases
    assert kind_first(hits, "", 5) == hits  # no words: no kind
