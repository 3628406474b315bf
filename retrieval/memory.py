"""`InMemoryIndex`: the in-package fake of the catalog, same contract, no Chroma."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from retrieval.embedder import Embedder, HashEmbedder
from retrieval.index import ProductIndex
from retrieval.search import FusionConfig


class InMemoryIndex(ProductIndex):
    """Keeps records in dicts and searches vectors by brute force. For unit tests and demos."""

    def __init__(
        self,
        embedder: Embedder | None = None,
        query_embedder: Embedder | None = None,
        fusion: FusionConfig | None = None,
    ) -> None:
        super().__init__(embedder or HashEmbedder(), query_embedder, fusion)
        self._meta: dict[str, dict[str, Any]] = {}
        self._vectors: dict[str, np.ndarray] = {}

    def _load(self) -> Iterator[tuple[str, dict[str, Any]]]:
        yield from self._meta.items()

    def _write(self, ids: list[str], metas: list[dict[str, Any]], vectors: np.ndarray) -> None:
        for pid, meta, vec in zip(ids, metas, vectors, strict=True):
            self._meta[pid] = dict(meta)
            self._vectors[pid] = np.asarray(vec, dtype=np.float32)

    def _write_meta(self, ids: list[str], metas: list[dict[str, Any]]) -> None:
        for pid, meta in zip(ids, metas, strict=True):
            self._meta[pid] = dict(meta)

    def _dense(
        self, vector: np.ndarray, k: int, ids: Sequence[str] | None = None
    ) -> list[tuple[str, float]]:
        pool = self._vectors if ids is None else {p: self._vectors[p] for p in ids}
        scored = [(pid, float(vec @ vector)) for pid, vec in pool.items()]
        scored.sort(key=lambda item: (-item[1], item[0]))
        return scored[:k]

    def _fetch(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        return {pid: dict(self._meta[pid]) for pid in ids if pid in self._meta}

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        return {pid: self._vectors[pid] for pid in ids if pid in self._vectors}
