"""One contract, three stores: the in-memory fake, embedded Chroma, and a `chroma run` server."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from retrieval.chroma import EF_SEARCH, ChromaIndex, chroma_client
from retrieval.errors import ProductNotFound
from retrieval.events import parse_feed
from retrieval.index import ProductIndex
from retrieval.memory import InMemoryIndex
from retrieval.search import SearchFilters
from tests.retrieval.catalog_fixtures import CountingEmbedder, product, sample_products

_names = itertools.count()
Factory = Callable[[], ProductIndex]


@pytest.fixture(params=["memory", "chroma-embedded", "chroma-server"])
def make_index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Factory]:
    """A factory of empty indexes (same store on every call, so re-opening is testable)."""
    embedder = CountingEmbedder()
    collection = f"contract-{next(_names)}"
    if request.param == "memory":
        shared = InMemoryIndex(embedder)
        yield lambda: shared
        return
    if request.param == "chroma-embedded":
        client = chroma_client(path=tmp_path / "chroma")
    else:
        client = chroma_client(url=request.getfixturevalue("chroma_server"))
    yield lambda: ChromaIndex(client, embedder, collection)


@pytest.fixture
def index(make_index: Factory) -> ProductIndex:
    idx = make_index()
    idx.upsert(sample_products())
    return idx


def ids(hits: list) -> list[str]:
    return [h.product.id for h in hits]


pytestmark = pytest.mark.chroma


def test_upsert_then_get_and_count(index: ProductIndex) -> None:
    assert index.count() == 8
    got = index.get("s1")
    assert got.title.startswith("Sony") and got.price == Decimal("49.99")
    assert got.attributes == {"colour": "Black"}


def test_get_unknown_raises(index: ProductIndex) -> None:
    with pytest.raises(ProductNotFound):
        index.get("nope")
    index.delete("k1")
    assert [p.id for p in index.get_many(["m1", "nope", "k1", "s1"])] == ["m1", "s1"]


def test_search_finds_by_words_and_says_why(index: ProductIndex) -> None:
    hits = index.search("bluetooth speaker", k=3)
    assert set(ids(hits)) == {"s1", "s2", "s3"}  # all three match both words
    assert "bluetooth" in hits[0].matched_terms and "bluetooth" in hits[0].why()
    assert hits[0].dense_score is not None


def test_filters_hold_for_every_hit(index: ProductIndex) -> None:
    cheap = index.search("speaker", SearchFilters(price_max=Decimal("50")), k=10)
    assert set(ids(cheap)[:2]) == {"s1", "s3"}
    assert "s2" not in ids(cheap) and all(h.product.price <= 50 for h in cheap)
    logitech = index.search("mouse", SearchFilters(brands=("logitech",)), k=10)
    assert ids(logitech)[0] == "m1" and set(ids(logitech)) <= {"m1", "k1"}
    stocked = index.search("speaker", SearchFilters(in_stock=True), k=10)
    assert "s3" not in ids(stocked) and all(h.product.stock > 0 for h in stocked)
    assert ids(index.search("logitech", SearchFilters(category="Keyboard"))) == ["k1"]
    blue = index.search("speaker", SearchFilters(attributes={"colour": "blue"}))
    assert ids(blue) == ["s2"]
    ranged = index.search("", SearchFilters(price_min=Decimal("15"), price_max=Decimal("20")))
    assert set(ids(ranged)) == {"t1", "k1"}
    assert ranged[0].filters == {"price_min": 15.0, "price_max": 20.0}


def test_patch_is_visible_to_the_next_search_without_reembedding(index: ProductIndex) -> None:
    embedder = index.embedder
    assert isinstance(embedder, CountingEmbedder)
    before = embedder.texts
    assert index.patch("s2", price=Decimal("39.00"), stock=0)
    assert embedder.texts == before
    hits = index.search("speaker", SearchFilters(price_max=Decimal("50")))
    assert "s2" in ids(hits)
    s2 = next(h for h in hits if h.product.id == "s2")
    assert s2.product.price == Decimal("39.00") and s2.product.stock == 0
    assert "s2" not in ids(index.search("speaker", SearchFilters(in_stock=True)))
    assert index.get("s2").version == 2


def test_upsert_with_unchanged_text_keeps_the_vector(index: ProductIndex) -> None:
    embedder = index.embedder
    assert isinstance(embedder, CountingEmbedder)
    before = embedder.texts
    s1 = index.get("s1")
    index.upsert([s1.model_copy(update={"price": Decimal("44.00"), "version": 2})])
    assert embedder.texts == before
    index.upsert([s1.model_copy(update={"title": "Sony SRS-XB13 speaker v2", "version": 3})])
    assert embedder.texts == before + 1
    assert index.get("s1").title.endswith("v2")


def test_older_events_never_overwrite_newer(index: ProductIndex) -> None:
    s1 = index.get("s1")
    index.upsert([s1.model_copy(update={"price": Decimal("30.00"), "version": 5})])
    report = index.upsert([s1.model_copy(update={"price": Decimal("99.00"), "version": 4})])
    assert report.applied == 0 and report.ignored == 1
    assert not index.patch("s1", price=Decimal("1.00"), version=5)
    assert index.get("s1").price == Decimal("30.00")
    again = index.upsert([s1.model_copy(update={"price": Decimal("30.00"), "version": 5})])
    assert again.applied == 0  # replay is a no-op


def test_delete_leaves_no_stale_result_and_blocks_older_upserts(index: ProductIndex) -> None:
    assert index.delete("m1", version=7)
    assert "m1" not in ids(index.search("logitech wireless mouse", k=10))
    assert "m1" not in ids(index.search("", SearchFilters(brands=("Logitech",))))
    with pytest.raises(ProductNotFound):
        index.get("m1")
    assert index.count() == 7
    stale = product("m1", "Logitech M185 wireless mouse", "14.99", version=6)
    assert index.upsert([stale]).applied == 0
    assert "m1" not in ids(index.search("wireless mouse"))
    back = product("m1", "Logitech M185 wireless mouse", "13.99", version=8)
    assert index.upsert([back]).applied == 1
    assert ids(index.search("logitech wireless mouse", k=1)) == ["m1"]


def test_reopening_restores_state(make_index: Factory) -> None:
    first = make_index()
    first.upsert(sample_products())
    first.patch("c1", price=Decimal("9.99"))
    first.delete("k1")
    second = make_index()
    assert second.count() == 7
    assert second.get("c1").price == Decimal("9.99")
    assert "k1" not in ids(second.search("keyboard"))
    assert second.version_of("k1") == 2
    assert ids(second.search("usb charging cable", k=1)) == ["c1"]


def test_feed_applies_valid_lines_and_reports_bad_ones(index: ProductIndex) -> None:
    lines = [
        '{"op": "patch", "id": "s1", "price": 45.5, "version": 2}',
        "this is not json",
        '{"op": "patch", "id": "s1"}',
        '{"op": "delete", "id": "c1"}',
        '{"op": "upsert", "product": {"id": "n1", "title": "Bose SoundLink speaker", '
        '"brand": "Bose", "price": 99, "stock": 4}}',
        '{"op": "patch", "id": "ghost", "stock": 1}',
        '{"op": "frobnicate", "id": "s1"}',
    ]
    parsed = parse_feed(lines)
    assert [e.line for e in parsed.errors] == [2, 3, 7]
    report = index.apply(parsed.events)
    assert report.applied == 3
    assert [e.line for e in report.errors] == [6]
    assert index.get("s1").price == Decimal("45.50")
    assert index.get("n1").brand == "Bose"
    assert "c1" not in ids(index.search("cable"))


def test_values_out_of_range_are_rejected_and_the_index_still_opens(make_index: Factory) -> None:
    index = make_index()
    index.upsert(sample_products())
    parsed = parse_feed(
        [
            '{"op": "patch", "id": "s1", "stock": 100000000000000000000000}',
            '{"op": "patch", "id": "s1", "price": 100000000000000000000}',
            '{"op": "patch", "id": "s1", "stock": 1, "version": 100000000000000000000}',
            '{"op": "upsert", "id": "z1", "title": "Z", "price": 1, "stock": 10000000000}',
            '{"op": "patch", "id": "s1", "stock": 7}',
        ]
    )
    assert [e.line for e in parsed.errors] == [1, 2, 3, 4]
    assert "less than or equal" in str(parsed.errors[0])
    assert index.apply(parsed.events).applied == 1
    with pytest.raises(ValidationError):
        index.patch("s1", stock=10**20)
    reopened = make_index()
    assert reopened.get("s1").stock == 7 and reopened.count() == 8
    assert "s1" in ids(reopened.search("speaker", SearchFilters(in_stock=True)))


def test_concurrent_searches_and_updates(index: ProductIndex) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def reader(_: int) -> int:
        return sum(len(index.search("speaker", SearchFilters(in_stock=True))) for _ in range(20))

    def writer() -> None:
        for n in range(20):
            index.patch("s1", price=Decimal(f"{40 + n}.00"), stock=n % 3)

    with ThreadPoolExecutor(max_workers=5) as pool:
        readers = [pool.submit(reader, i) for i in range(4)]
        pool.submit(writer).result()
        assert all(r.result() > 0 for r in readers)
    assert index.get("s1").price == Decimal("59.00") and index.get("s1").version == 21


def test_brands_are_the_live_ones_as_written(index: ProductIndex) -> None:
    assert index.brands() == ["Anker", "Belkin", "HP", "JBL", "Logitech", "Razer", "Sony"]
    index.delete("m2")
    assert "Razer" not in index.brands()


def test_categories_count_the_live_products(index: ProductIndex) -> None:
    assert index.categories() == {
        "speaker": 3,
        "mouse": 2,
        "cable": 1,
        "ink cartridge": 1,
        "keyboard": 1,
    }
    index.delete("m2")
    index.upsert([product("k2", "Cherry KC 1000 keyboard", "24.00", category="Keyboard")])
    assert index.categories()["mouse"] == 1 and index.categories()["keyboard"] == 2


def test_an_unknown_word_one_letter_from_a_catalog_word_is_spelled_as_it(
    index: ProductIndex,
) -> None:
    # "speaker" is in three products: "speakr" is read as it; known words stay as typed.
    assert index.spelled("blue speakr") == "blue speaker"
    assert index.spelled("wireless mouse") == "wireless mouse"
    # A word in fewer than three products is no correction: "keybord" stays.
    assert index.spelled("keybord") == "keybord"
    index.upsert(
        [product(f"k{i}", f"Cherry KC {i} keyboard", "24.00", category="keyboard") for i in (2, 3)]
    )
    assert index.spelled("keybord") == "keyboard"  # the next search sees the new products
    for i in (1, 2, 3):
        index.delete(f"k{i}")
    assert index.spelled("keybord") == "keybord"


def test_vectors_are_the_stored_unit_vectors(index: ProductIndex) -> None:
    got = index.vectors(["s1", "m1", "nope"])
    assert set(got) == {"s1", "m1"}
    assert all(abs(float(v @ v) - 1.0) < 1e-4 for v in got.values())
    assert float(got["s1"] @ got["m1"]) < 0.99


@pytest.mark.parametrize("store", ["chroma-embedded", "chroma-server"])
def test_a_collection_of_an_older_version_gets_the_wider_hnsw_search(
    store: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if store == "chroma-embedded":
        client = chroma_client(path=tmp_path / "chroma")
    else:
        client = chroma_client(url=request.getfixturevalue("chroma_server"))
    name = f"older-{next(_names)}"
    client.create_collection(  # as versions before EF_SEARCH made it
        name, embedding_function=None, configuration={"hnsw": {"space": "cosine", "ef_search": 128}}
    )
    ChromaIndex(client, CountingEmbedder(), name).upsert(sample_products())
    hnsw = client.get_collection(name).configuration_json["hnsw"]
    assert hnsw["ef_search"] == EF_SEARCH and hnsw["space"] == "cosine"
    # A new collection is made with it.
    fresh = f"new-{next(_names)}"
    ChromaIndex(client, CountingEmbedder(), fresh)
    assert client.get_collection(fresh).configuration_json["hnsw"]["ef_search"] == EF_SEARCH
