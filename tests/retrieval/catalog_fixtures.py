"""Small hand-written products for the contract tests."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import numpy as np

from retrieval.embedder import Embedder, HashEmbedder
from retrieval.product import Product


class CountingEmbedder(Embedder):
    """A `HashEmbedder` that counts how many texts it embedded."""

    name = "counting-hash"

    def __init__(self) -> None:
        self.inner = HashEmbedder(dim=256)
        self.dim = self.inner.dim
        self.texts = 0

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        self.texts += len(texts)
        return self.inner.embed_batch(texts)


def product(pid: str, title: str, price: str, **kw: object) -> Product:
    """A product with sensible defaults."""
    data: dict[str, object] = {
        "id": pid,
        "title": title,
        "brand": title.split()[0],
        "price": Decimal(price),
        "stock": 10,
        "category": "speaker",
    }
    data.update(kw)
    return Product.model_validate(data)


def sample_products() -> list[Product]:
    """Eight products across brands, prices, stock and categories."""
    return [
        product(
            "s1",
            "Sony SRS-XB13 waterproof bluetooth speaker",
            "49.99",
            attributes={"colour": "Black"},
        ),
        product(
            "s2", "JBL Flip 5 waterproof bluetooth speaker", "89.95", attributes={"colour": "Blue"}
        ),
        product("s3", "Anker Soundcore mini bluetooth speaker", "25.00", stock=0),
        product(
            "m1",
            "Logitech M185 wireless mouse",
            "14.99",
            category="mouse",
            attributes={"colour": "Grey"},
        ),
        product("m2", "Razer DeathAdder gaming mouse", "59.00", category="mouse", stock=3),
        product("c1", "Belkin USB-C charging cable 2 m", "12.50", category="cable"),
        product(
            "t1",
            "HP 301 ink cartridge black",
            "16.99",
            category="ink cartridge",
            description="Original HP ink for DeskJet printers",
        ),
        product("k1", "Logitech K120 keyboard", "19.99", category="keyboard"),
    ]
