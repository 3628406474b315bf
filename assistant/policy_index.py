"""Retrieval over the store policy: its passages in their own Chroma collection.

`ChromaPolicyIndex` keeps one record per policy section (vector, title, text, a hash of the
text) in a collection of its own ("policies"), separate from the products, and re-embeds only
when the policy text or the embedder changed. `MemoryPolicyIndex` is the in-package fake with
the same contract. Both rank by cosine similarity plus the share of the question's words found
in the passage (the policy has a dozen passages, so every one is scored), and return nothing
when no passage shares a word with the question and none is close in meaning: the assistant
then says it cannot find that in the policy instead of stretching a passage.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from assistant.policy import PolicyPassage
from retrieval.embedder import Embedder
from retrieval.lexical import tokenize

MIN_COSINE = 0.55  # with no shared word, only a passage this close in meaning is an answer
LEXICAL_WEIGHT = 0.5
_GENERIC = frozenset(
    tokenize("policy policies store shop can do does what how about is tell use using your you")
)


@dataclass(frozen=True)
class PolicyHit:
    """A retrieved passage and its scores."""

    passage: PolicyPassage
    score: float
    cosine: float
    overlap: float


class PolicySearch(Protocol):
    """Finds the policy passages that answer a question."""

    def search(self, question: str, k: int = 2) -> list[PolicyHit]:
        """The best passages for `question`, best first; empty when none answers it."""
        ...


def _words(text: str) -> set[str]:
    return set(tokenize(text)) - _GENERIC


def rank(
    question: str, passages: Sequence[PolicyPassage], cosines: Sequence[float], k: int
) -> list[PolicyHit]:
    """Score passages (cosine + LEXICAL_WEIGHT x the share of the question's words they hold)."""
    asked = _words(question)
    hits = []
    for passage, cosine in zip(passages, cosines, strict=True):
        overlap = len(asked & _words(passage.search_text)) / len(asked) if asked else 0.0
        if overlap == 0 and cosine < MIN_COSINE:
            continue
        hits.append(PolicyHit(passage, cosine + LEXICAL_WEIGHT * overlap, cosine, overlap))
    hits.sort(key=lambda h: -h.score)
    return hits[:k]


def _digest(passage: PolicyPassage) -> str:
    return hashlib.sha256(passage.search_text.encode()).hexdigest()[:16]


class MemoryPolicyIndex:
    """The policy passages in memory (the fake of `ChromaPolicyIndex`).

    Args:
        passages: The policy sections.
        embedder: Embeds passages and questions.
    """

    def __init__(self, passages: Sequence[PolicyPassage], embedder: Embedder) -> None:
        self.passages, self.embedder = list(passages), embedder
        self._vectors = embedder.embed([p.search_text for p in self.passages])

    def search(self, question: str, k: int = 2) -> list[PolicyHit]:
        """The best passages for `question`, best first; empty when none answers it."""
        if not self.passages:
            return []
        cosines = self._vectors @ self.embedder.embed_one(question)
        return rank(question, self.passages, [float(c) for c in cosines], k)


class ChromaPolicyIndex:
    """The policy passages in a Chroma collection of their own.

    Args:
        client: A Chroma client (`retrieval.chroma.chroma_client`).
        embedder: Embeds passages and questions.
        passages: The policy sections; the collection is brought in line with them on open
            (changed sections re-embedded, removed ones deleted).
        collection: The collection name.
    """

    def __init__(
        self,
        client: Any,
        embedder: Embedder,
        passages: Sequence[PolicyPassage],
        collection: str = "policies",
    ) -> None:
        self.client, self.embedder, self.collection_name = client, embedder, collection
        self._col = self._open()
        if (self._col.metadata or {}).get("embedder") != embedder.model_id:
            client.delete_collection(collection)  # a dozen passages: re-embedding is cheap
            self._col = self._open()
        self.sync(passages)

    def _open(self) -> Any:
        return self.client.get_or_create_collection(
            self.collection_name,
            embedding_function=None,
            configuration={"hnsw": {"space": "cosine"}},
            metadata={"embedder": self.embedder.model_id, "dim": self.embedder.dim},
        )

    def sync(self, passages: Sequence[PolicyPassage]) -> int:
        """Make the collection hold exactly `passages`; returns how many were (re-)embedded."""
        stored = self._col.get(include=["metadatas"])
        digests = {
            pid: (meta or {}).get("digest")
            for pid, meta in zip(stored["ids"], stored["metadatas"] or [], strict=True)
        }
        wanted = {p.id: p for p in passages}
        gone = [pid for pid in digests if pid not in wanted]
        if gone:
            self._col.delete(ids=gone)
        changed = [p for p in passages if digests.get(p.id) != _digest(p)]
        if changed:
            vectors = self.embedder.embed([p.search_text for p in changed])
            self._col.upsert(
                ids=[p.id for p in changed],
                embeddings=vectors,
                metadatas=[
                    {"title": p.title, "text": p.text, "keywords": p.keywords, "digest": _digest(p)}
                    for p in changed
                ],
            )
        return len(changed)

    def search(self, question: str, k: int = 2) -> list[PolicyHit]:
        """The best passages for `question`, best first; empty when none answers it."""
        count = self._col.count()
        if not count:
            return []
        vector = np.asarray(self.embedder.embed_one(question), dtype=np.float32)
        res = self._col.query(
            query_embeddings=[vector], n_results=count, include=["metadatas", "distances"]
        )
        metas = (res["metadatas"] or [[]])[0]
        dists = (res["distances"] or [[]])[0]
        passages = [PolicyPassage(m["title"], m["text"], m.get("keywords", "")) for m in metas]
        return rank(question, passages, [1.0 - float(d) for d in dists], k)
