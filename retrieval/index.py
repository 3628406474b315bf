"""`ProductIndex`: the catalog contract, with hybrid search and ordered updates built once.

A subclass supplies a vector store through five primitives (`_load`, `_write`, `_write_meta`,
`_dense`, `_fetch`); this base class keeps the lexical BM25 index and the per-product versions in
step with it, and implements upsert / patch / delete / apply / search on top. Every write goes to
the store first and to the in-memory side only after the store accepted it, so a failed write
leaves both as they were.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, TypeVar

import numpy as np

from retrieval.columns import FilterColumns
from retrieval.embedder import Embedder, dictionary_words
from retrieval.errors import CatalogError, EventError, ProductNotFound
from retrieval.events import DeleteEvent, PatchEvent, UpsertEvent
from retrieval.lexical import BM25Index, LexicalDoc
from retrieval.product import Product, utcnow
from retrieval.search import FilterView, FusionConfig, Hit, SearchFilters, fuse
from retrieval.text import dense_text

log = logging.getLogger(__name__)

DENSE_IDS_LIMIT = 2000  # up to this many admitted ids, search exactly among them


@dataclass
class StoredState:
    """What the index remembers of every product id it has seen, deleted ones included."""

    version: int
    text_hash: str
    deleted: bool = False


@dataclass
class ApplyReport:
    """The outcome of applying a batch of events.

    Attributes:
        applied: Events that changed the catalog.
        ignored: Events that were not newer than the stored version (replays, out-of-order).
        errors: Events that could not be applied, with their line numbers when known.
        reembedded: Upserts whose text changed and so were embedded.
    """

    applied: int = 0
    ignored: int = 0
    reembedded: int = 0
    errors: list[EventError] = field(default_factory=list)

    def merge(self, other: ApplyReport) -> None:
        """Add another report's counts and errors to this one."""
        self.applied += other.applied
        self.ignored += other.ignored
        self.reembedded += other.reembedded
        self.errors += other.errors

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON data."""
        return {
            "applied": self.applied,
            "ignored": self.ignored,
            "reembedded": self.reembedded,
            "errors": [{"line": e.line, "error": str(e)} for e in self.errors],
        }


F = TypeVar("F", bound=Callable[..., Any])


def _locked(method: F) -> F:
    """Run a method under the index's lock: one writer or reader of the in-memory side at a time
    (the UI serves many sessions from threads)."""

    @functools.wraps(method)
    def wrapper(self: ProductIndex, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


@dataclass
class _Prepared:
    """Products sorted by what a write needs, with the vectors of those whose text changed."""

    fresh: list[Product] = field(default_factory=list)
    same_text: list[Product] = field(default_factory=list)
    vectors: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    report: ApplyReport = field(default_factory=ApplyReport)


def metadata_of(product: Product, deleted: bool = False) -> dict[str, str | int | float | bool]:
    """The flat metadata a vector store keeps for a product: the product itself and its state.

    Filters never run as store `where` clauses (they run on the in-memory columns), so filter
    fields are not copied out: every key costs a row in the store's metadata table, and dropping
    them made ingest 10% faster (README, "Benchmarks"). Price and stock stay readable for
    operators inspecting the store.
    """
    return {
        "product": product.model_dump_json(),
        "version": product.version,
        "text_hash": product.text_hash(),
        "deleted": deleted,
        "price_cents": product.price_cents,
        "stock": product.stock,
    }


def product_of(meta: dict[str, Any]) -> Product:
    """The product stored in a metadata record."""
    return Product.model_validate_json(str(meta["product"]))


class ProductIndex:
    """The product catalog: ordered real-time updates and hybrid (BM25 + dense) search.

    Args:
        embedder: Embeds product texts (batched).
        query_embedder: Embeds queries; defaults to `embedder`. Must be the same model.
        fusion: How the lexical and dense rankings combine.
    """

    def __init__(
        self,
        embedder: Embedder,
        query_embedder: Embedder | None = None,
        fusion: FusionConfig | None = None,
    ) -> None:
        self.embedder = embedder
        self.query_embedder = query_embedder or embedder
        self.fusion = fusion or FusionConfig()
        self._lexical = BM25Index(k1=self.fusion.bm25_k1, b=self.fusion.bm25_b)
        self._columns = FilterColumns()
        self._brand_names: dict[str, str] = {}  # lower case -> as written in the catalog
        self._state: dict[str, StoredState] = {}
        self._lock = threading.RLock()

    # ---- store primitives, implemented by subclasses -------------------------------------------

    def _load(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every stored record as (id, metadata), deleted ones included."""
        raise NotImplementedError

    def _write(self, ids: list[str], metas: list[dict[str, Any]], vectors: np.ndarray) -> None:
        """Insert or replace records with new vectors."""
        raise NotImplementedError

    def _write_meta(self, ids: list[str], metas: list[dict[str, Any]]) -> None:
        """Replace the metadata of existing records, keeping their vectors."""
        raise NotImplementedError

    def _dense(
        self, vector: np.ndarray, k: int, ids: Sequence[str] | None = None
    ) -> list[tuple[str, float]]:
        """The `k` records nearest to `vector` (among `ids` when given): (id, cosine).

        May return deleted records; the caller filters. Stores filter in memory, not with a
        `where` clause: Chroma's metadata filters cost ~100 ms at 19k products, a plain vector
        query ~3 ms.
        """
        raise NotImplementedError

    def _fetch(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The metadata of these ids (missing ids are left out)."""
        raise NotImplementedError

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The stored (unit) vectors of these ids, the item features v of match(u, v)."""
        raise NotImplementedError

    # ---- loading ---------------------------------------------------------------------------------

    @_locked
    def _rebuild(self) -> None:
        """Fill the lexical index and the version table from the store."""
        self._lexical = BM25Index(k1=self.fusion.bm25_k1, b=self.fusion.bm25_b)
        self._columns = FilterColumns()
        self._state.clear()
        for pid, meta in self._load():
            deleted = bool(meta.get("deleted"))
            self._state[pid] = StoredState(int(meta["version"]), str(meta["text_hash"]), deleted)
            if not deleted:
                self._index_lexical(product_of(meta))

    def _index_lexical(self, product: Product) -> None:
        body = " ".join((product.brand, product.category, product.description))
        if product.id in self._lexical:
            self._columns.kill(self._lexical.row_of(product.id))
        row = self._lexical.add(LexicalDoc(product.id, product.title, body))
        self._columns.set(row, FilterView.of(product))
        self._brand_names.setdefault(product.brand.lower(), product.brand)

    # ---- reads -----------------------------------------------------------------------------------

    def count(self) -> int:
        """The number of live (not deleted) products."""
        return len(self._lexical)

    def ids(self) -> list[str]:
        """The ids of all live products."""
        return [pid for pid, st in self._state.items() if not st.deleted]

    def version_of(self, product_id: str) -> int | None:
        """The stored version of a product id (deleted ones too), or None if never seen."""
        state = self._state.get(product_id)
        return state.version if state else None

    def get(self, product_id: str) -> Product:
        """The current product with this id.

        Raises:
            ProductNotFound: No live product has this id.
        """
        state = self._state.get(product_id)
        if state is None or state.deleted:
            raise ProductNotFound(product_id)
        meta = self._fetch([product_id]).get(product_id)
        if meta is None:
            raise ProductNotFound(product_id)
        return product_of(meta)

    def get_many(self, product_ids: Sequence[str]) -> list[Product]:
        """The current products with these ids, in order; unknown or deleted ids are left out."""
        live = [p for p in product_ids if (st := self._state.get(p)) and not st.deleted]
        metas = self._fetch(live)
        return [product_of(metas[p]) for p in live if p in metas]

    def brands(self) -> list[str]:
        """Every brand of a live product, as written in the catalog."""
        live = self._columns.live_brands()
        return sorted(self._brand_names[b] for b in live if b in self._brand_names and b)

    def categories(self) -> dict[str, int]:
        """Every category of a live product (lower-case) with its number of live products."""
        return {c: n for c, n in self._columns.live_categories().items() if c}

    @_locked
    def spelled(self, query: str) -> str:
        """`query` with each unknown word that is one edit away from a catalog word replaced by
        that word ("blutooth speakr" -> "bluetooth speaker", `BM25Index.correction`); a word of
        the dictionary (`dictionary_words`) is never changed. The query unchanged when no word
        is."""
        words = dictionary_words()
        return " ".join(self._lexical.correction(w, words) or w for w in query.split())

    @_locked
    def search(self, query: str, filters: SearchFilters | None = None, k: int = 10) -> list[Hit]:
        """The `k` best products for `query` that satisfy `filters`, best first.

        An empty query with filters lists matching products (lexical order by id).
        """
        filters = filters or SearchFilters()
        n = max(k, self.fusion.candidates)

        mask = None if filters == SearchFilters() else self._columns.mask(filters)
        lexical = [(h.id, h.score, h.matched) for h in self._lexical.search(query, n, mask)]
        dense: list[tuple[str, float]] = []
        if query.strip() and self.fusion.dense_weight > 0:
            dense = self._dense_filtered(self.query_embedder.embed_one(query), mask, n)
        cands = fuse(lexical, dense, self.fusion)[: max(k * 2, k + 5)]
        metas = self._fetch([c.id for c in cands])
        described = filters.describe()
        hits: list[Hit] = []
        for c in cands:
            meta = metas.get(c.id)
            if meta is None or meta.get("deleted"):
                continue  # changed under us between ranking and fetching
            product = product_of(meta)
            if not filters.admits(FilterView.of(product)):
                continue
            hits.append(
                Hit(
                    product=product,
                    score=c.score,
                    lexical_score=c.lexical_score,
                    dense_score=c.dense_score,
                    lexical_rank=c.lexical_rank,
                    dense_rank=c.dense_rank,
                    matched_terms=c.matched_terms,
                    filters=described,
                )
            )
            if len(hits) >= k:
                break
        return hits

    def _dense_filtered(
        self, vector: np.ndarray, mask: np.ndarray | None, n: int
    ) -> list[tuple[str, float]]:
        """The `n` nearest live products among the rows `mask` admits (all live when None).

        A selective filter searches among exactly the admitted ids; a broad one over-fetches and
        filters in memory.
        """
        live = self._lexical
        if mask is not None:
            rows = np.flatnonzero(mask)
            if not len(rows):
                return []
            if len(rows) <= DENSE_IDS_LIMIT:
                admitted = [live.name_of(int(r)) for r in rows]
                return self._dense(vector, min(n, len(admitted)), admitted)
        raw = self._dense(vector, min(n * (1 if mask is None else 3) + 10, max(len(live), 1)))
        return [
            (pid, s) for pid, s in raw if pid in live and (mask is None or mask[live.row_of(pid)])
        ][:n]

    # ---- writes ----------------------------------------------------------------------------------

    def upsert(self, products: Iterable[Product]) -> ApplyReport:
        """Create or replace products; each applies only if its version is newer than stored.

        Products whose searchable text did not change keep their vectors (no re-embedding).
        """
        return self._commit(self._prepare(products))

    def _prepare(self, products: Iterable[Product]) -> _Prepared:
        """Decide what each product needs and embed the ones whose text changed."""
        prep = _Prepared()
        latest: dict[str, Product] = {}
        for p in products:
            if p.id in latest and p.version <= latest[p.id].version:
                prep.report.ignored += 1
                continue
            if p.id in latest:
                prep.report.ignored += 1
            latest[p.id] = p
        for p in latest.values():
            state = self._state.get(p.id)
            if state is not None and p.version <= state.version:
                prep.report.ignored += 1
            elif state is not None and not state.deleted and state.text_hash == p.text_hash():
                prep.same_text.append(p)
            else:
                prep.fresh.append(p)
        if prep.fresh:
            prep.vectors = self.embedder.embed([dense_text(p) for p in prep.fresh])
        return prep

    @_locked
    def _commit(self, prep: _Prepared) -> ApplyReport:
        """Write prepared products to the store, then to the in-memory side."""
        fresh, same_text = prep.fresh, prep.same_text
        if fresh:
            self._write([p.id for p in fresh], [metadata_of(p) for p in fresh], prep.vectors)
        if same_text:
            self._write_meta([p.id for p in same_text], [metadata_of(p) for p in same_text])
        for p in fresh + same_text:
            self._state[p.id] = StoredState(p.version, p.text_hash())
            self._index_lexical(p)
        prep.report.applied += len(fresh) + len(same_text)
        prep.report.reembedded += len(fresh)
        return prep.report

    def ingest(
        self,
        products: Sequence[Product],
        batch_size: int = 256,
        progress: Callable[[int], None] | None = None,
    ) -> ApplyReport:
        """Bulk `upsert`: the next batch is embedded while the store writes the previous one.

        Args:
            products: The products to add or replace.
            batch_size: Products per embedding batch and store write.
            progress: Called with the number of products finished after each batch.
        """
        report = ApplyReport()
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ingest-writer") as writer:
            pending: Future[ApplyReport] | None = None
            done = 0
            for start in range(0, len(products), batch_size):
                batch = products[start : start + batch_size]
                prepared = self._prepare(batch)
                if pending is not None:
                    report.merge(pending.result())
                    if progress:
                        progress(done)
                pending = writer.submit(self._commit, prepared)
                done = start + len(batch)
            if pending is not None:
                report.merge(pending.result())
                if progress:
                    progress(done)
        return report

    @_locked
    def patch(
        self,
        product_id: str,
        price: Decimal | None = None,
        stock: int | None = None,
        version: int | None = None,
    ) -> bool:
        """Change price and/or stock without re-embedding.

        Args:
            product_id: The product.
            price: New price in currency units.
            stock: New stock quantity.
            version: The change's version; None applies it as the next version.

        Returns:
            True if applied, False if `version` was not newer than the stored one.

        Raises:
            ProductNotFound: No live product has this id.
        """
        state = self._state.get(product_id)
        if state is not None and version is not None and version <= state.version:
            return False
        current = self.get(product_id)
        changes: dict[str, Any] = {
            "version": version if version is not None else current.version + 1,
            "updated_at": utcnow(),
        }
        if price is not None:
            changes["price"] = Decimal(price)
        if stock is not None:
            changes["stock"] = stock
        updated = Product.model_validate({**current.model_dump(), **changes})
        self._write_meta([product_id], [metadata_of(updated)])
        self._state[product_id] = StoredState(updated.version, updated.text_hash())
        self._columns.set(self._lexical.row_of(product_id), FilterView.of(updated))
        return True

    @_locked
    def delete(self, product_id: str, version: int | None = None) -> bool:
        """Delete a product, leaving a tombstone so that an older upsert cannot bring it back.

        Returns:
            True if deleted, False if `version` was not newer than the stored one.

        Raises:
            ProductNotFound: No live product has this id.
        """
        state = self._state.get(product_id)
        if state is not None and version is not None and version <= state.version:
            return False
        current = self.get(product_id)
        new_version = version if version is not None else current.version + 1
        tomb = current.model_copy(update={"version": new_version, "updated_at": utcnow()})
        self._write_meta([product_id], [metadata_of(tomb, deleted=True)])
        self._state[product_id] = StoredState(new_version, tomb.text_hash(), deleted=True)
        row = self._lexical.remove(product_id)
        if row is not None:
            self._columns.kill(row)
        return True

    def apply(
        self, events: Iterable[tuple[int | None, UpsertEvent | PatchEvent | DeleteEvent]]
    ) -> ApplyReport:
        """Apply validated events in order; consecutive upserts are embedded as one batch.

        A failing event is reported with its line and does not stop the others.
        """
        report = ApplyReport()
        pending: list[tuple[int | None, Product]] = []

        def flush() -> None:
            if pending:
                report.merge(self.upsert(p for _, p in pending))
                pending.clear()

        for line, event in events:
            if isinstance(event, UpsertEvent):
                pending.append((line, event.product))
                continue
            flush()
            try:
                if isinstance(event, PatchEvent):
                    done = self.patch(event.id, event.price, event.stock, event.version)
                else:
                    done = self.delete(event.id, event.version)
            except CatalogError as exc:
                report.errors.append(EventError(str(exc), line))
                continue
            if done:
                report.applied += 1
            else:
                report.ignored += 1
        flush()
        return report
