"""Catalog queries for distilling the re-ranker."""

from __future__ import annotations

from decimal import Decimal

from retrieval.lexical import tokenize
from retrieval.product import Product
from retrieval.synthetic import CatalogQuery, catalog_queries


def _catalog() -> list[Product]:
    rows = [
        ("Logitech M185 Wireless Mouse grey", "Logitech", "mouse"),
        ("Logitech MX Master wireless mouse", "Logitech", "mouse"),
        ("HP 301 Original Ink Cartridge black", "HP", "ink cartridge"),
        ("JBL Flip 5 portable bluetooth speaker", "JBL", "speaker"),
        ("Belkin USB-C charging cable 2 m", "Belkin", "cable"),
        ("Targus laptop backpack for notebooks", "Targus", "notebook case"),
    ] * 5
    return [
        Product(id=str(n), title=title, brand=brand, category=cat, price=Decimal("9.99"), stock=3)
        for n, (title, brand, cat) in enumerate(rows)
    ]


def test_draw_is_reproducible_and_candidates_match_the_query() -> None:
    catalog = _catalog()
    first = catalog_queries(catalog, 8, per_query=5, random_negatives=2, seed=3)
    again = catalog_queries(catalog, 8, per_query=5, random_negatives=2, seed=3)
    assert [(q.text, [p.id for p in q.candidates]) for q in first] == [
        (q.text, [p.id for p in q.candidates]) for q in again
    ]
    assert len({q.text for q in first}) == len(first) >= 4
    for drawn in first:
        query, shown = drawn.text, drawn.candidates
        assert 3 <= len(shown) <= 7
        top = shown[0]
        words = set(tokenize(f"{top.title} {top.brand} {top.category}"))
        assert set(tokenize(query)) & words
        assert not any(ch.isdigit() for ch in query)


def test_excluded_queries_are_never_drawn() -> None:
    catalog = _catalog()
    drawn = {q.text for q in catalog_queries(catalog, 10, seed=1)}
    assert "mouse" in drawn or "logitech mouse" in drawn
    kept = {
        q.text for q in catalog_queries(catalog, 10, seed=1, exclude={"Mouse", "logitech mouse"})
    }
    assert not kept & {"mouse", "logitech mouse"}
    assert catalog_queries([], 5) == []


def test_weak_grades_follow_type_and_brand() -> None:
    catalog = _catalog()
    mouse, other_mouse, ink = catalog[0], catalog[1], catalog[2]
    pad = Product(
        id="pad",
        title="Logitech gaming mouse pad",
        brand="Logitech",
        category="mouse pad",
        price=Decimal("5"),
        stock=1,
    )
    typed = CatalogQuery("mouse", "mouse", None)
    assert [typed.grade(p) for p in (mouse, other_mouse, pad, ink)] == [3.0, 3.0, 1.0, 0.0]
    branded = CatalogQuery("logitech mouse", "mouse", "logitech")
    razer = mouse.model_copy(update={"brand": "Razer"})
    assert [branded.grade(p) for p in (mouse, razer, pad, ink)] == [3.0, 2.0, 1.0, 0.0]
    assert CatalogQuery("wireless mouse", None, None).grade(mouse) is None
