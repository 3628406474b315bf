"""`ChromaIndex`: the catalog in Chroma, embedded (`PersistentClient`) or a server (`HttpClient`).

Vectors are computed by our embedder and passed in; the collection has no embedding function, so
Chroma never tries to download one. The product itself travels in the metadata (as JSON) next to
flat filter fields, so a search reads each product fresh from Chroma.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np

from retrieval.embedder import Embedder
from retrieval.errors import IndexUnavailable, MissingExtra
from retrieval.index import ProductIndex
from retrieval.search import FusionConfig

PAGE = 5000
# HNSW's search breadth. At Chroma's 128 the 100 dense candidates of a query missed 4% of the
# exact 100 over all 19,406 Icecat products (26% for the worst query), and which ones it missed
# changed from one ingest to the next (the graph is built by parallel inserts), so the same catalog
# ranked differently after a re-ingest. At 1,024 recall is 0.998 (worst query 0.98) and rankings
# repeat, for about 2 ms more per query (README, "The catalog").
EF_SEARCH = 1024


def chroma_client(path: Path | None = None, url: str | None = None) -> Any:
    """A Chroma client: a server at `url` when given, else the embedded store at `path`.

    Raises:
        IndexUnavailable: The server does not answer, or the folder cannot be opened.
    """
    try:
        import chromadb
        from chromadb.config import Settings as ChromaSettings
    except ImportError as exc:
        raise MissingExtra("chromadb", "The Chroma index") from exc
    settings = ChromaSettings(anonymized_telemetry=False)
    try:
        if url:
            parsed = urlparse(url if "://" in url else f"http://{url}")
            client = chromadb.HttpClient(
                host=parsed.hostname or "127.0.0.1",
                port=parsed.port or 8000,
                ssl=parsed.scheme == "https",
                settings=settings,
            )
            client.heartbeat()
            return client
        if path is None:
            raise IndexUnavailable("No Chroma path or URL given.")
        path.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(path), settings=settings)
    except IndexUnavailable:
        raise
    except Exception as exc:  # chromadb raises many types for "cannot connect/open"
        where = url or str(path)
        raise IndexUnavailable(
            f"Cannot open Chroma at {where}: {exc} - start it with `chroma run` or unset "
            "SHOPASSIST_CHROMA_URL to use the embedded store."
        ) from exc


class ChromaIndex(ProductIndex):
    """The catalog in a Chroma collection.

    Args:
        client: A Chroma client (see `chroma_client`).
        embedder: Embeds product texts.
        collection: The collection name (3-512 characters).
        query_embedder: Embeds queries; the same model as `embedder`.
        fusion: The hybrid fusion.

    Raises:
        IndexUnavailable: The collection was built with another embedder.
    """

    def __init__(
        self,
        client: Any,
        embedder: Embedder,
        collection: str = "products",
        query_embedder: Embedder | None = None,
        fusion: FusionConfig | None = None,
    ) -> None:
        super().__init__(embedder, query_embedder, fusion)
        self.client = client
        self.collection_name = collection
        self._col = client.get_or_create_collection(
            collection,
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine", "ef_search": EF_SEARCH}},
            metadata={"embedder": embedder.model_id, "dim": embedder.dim},
        )
        hnsw = (self._col.configuration_json or {}).get("hnsw") or {}
        if hnsw.get("ef_search", EF_SEARCH) != EF_SEARCH:  # created by an older version
            with warnings.catch_warnings():  # Chroma re-reads our embedding_function=None
                warnings.filterwarnings("ignore", "legacy embedding function config")
                self._col.modify(configuration={"hnsw": {"ef_search": EF_SEARCH}})
        stored = (self._col.metadata or {}).get("embedder")
        if stored and stored != embedder.model_id:
            raise IndexUnavailable(
                f"Collection {collection!r} holds vectors of {stored!r}, not "
                f"{embedder.model_id!r} - re-ingest with `shopassist catalog ingest --reset`."
            )
        self._max_batch = int(getattr(client, "get_max_batch_size", lambda: PAGE)() or PAGE)
        self._rebuild()

    def reset(self) -> None:
        """Drop every product (the collection is recreated empty)."""
        self.client.delete_collection(self.collection_name)
        self.__init__(  # type: ignore[misc]
            self.client, self.embedder, self.collection_name, self.query_embedder, self.fusion
        )

    def _load(self) -> Iterator[tuple[str, dict[str, Any]]]:
        offset = 0
        while True:
            page = self._col.get(include=["metadatas"], limit=PAGE, offset=offset)
            ids = page["ids"]
            yield from zip(ids, page["metadatas"] or [], strict=True)
            if len(ids) < PAGE:
                return
            offset += PAGE

    def _write(self, ids: list[str], metas: list[dict[str, Any]], vectors: np.ndarray) -> None:
        for s in range(0, len(ids), self._max_batch):
            e = s + self._max_batch
            self._col.upsert(ids=ids[s:e], metadatas=metas[s:e], embeddings=vectors[s:e])

    def _write_meta(self, ids: list[str], metas: list[dict[str, Any]]) -> None:
        for s in range(0, len(ids), self._max_batch):
            self._col.update(
                ids=ids[s : s + self._max_batch], metadatas=metas[s : s + self._max_batch]
            )

    def _dense(
        self, vector: np.ndarray, k: int, ids: Sequence[str] | None = None
    ) -> list[tuple[str, float]]:
        res = self._col.query(
            query_embeddings=[vector],
            n_results=k,
            ids=list(ids) if ids is not None else None,
            include=["distances"],
        )
        found, dists = res["ids"][0], (res["distances"] or [[]])[0]
        return [(pid, 1.0 - float(d)) for pid, d in zip(found, dists, strict=True)]

    def _fetch(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        res = self._col.get(ids=list(ids), include=["metadatas"])
        return dict(zip(res["ids"], res["metadatas"] or [], strict=True))

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        if not ids:
            return {}
        res = self._col.get(ids=list(ids), include=["embeddings"])
        rows = res["embeddings"] if res["embeddings"] is not None else []
        return {
            pid: np.asarray(v, dtype=np.float32) for pid, v in zip(res["ids"], rows, strict=True)
        }
