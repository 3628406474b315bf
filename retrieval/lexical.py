"""An incremental BM25 index that lives beside Chroma and changes with it.

Chroma has no lexical ranking, and static BM25 libraries rebuild on every change. This index adds,
replaces and removes one document at a time, so a product deleted or changed in Chroma is never
returned stale. The title is counted twice (a simple BM25F field weight): a term in the title says
more about the product than one in its description.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass

_TOKEN = re.compile(r"[a-z0-9]+(?:[.'][a-z0-9]+)*")
STOPWORDS = frozenset(
    "a an and are as at be by for from has have i in is it its me my of on or our that the this "
    "to was we with you your want need looking some any".split()
)


def stem(token: str) -> str:
    """A light plural stemmer: batteries -> battery, speakers -> speaker, glasses -> glass."""
    if len(token) > 4 and token.endswith("ies"):
        return token[:-3] + "y"
    if len(token) > 4 and token.endswith(("sses", "shes", "ches", "xes")):
        return token[:-2]
    if len(token) > 3 and token.endswith("s") and not token.endswith(("ss", "us", "is")):
        return token[:-1]
    return token


def tokenize(text: str) -> list[str]:
    """Lower-cased, stemmed word tokens without stop words."""
    return [stem(t) for t in _TOKEN.findall(text.lower()) if t not in STOPWORDS]


# Shop vocabulary: a query term also looks for these (weaker) alternatives. Keys and values are
# stemmed tokens. Icecat says "notebook" where shoppers say "laptop", and so on.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "laptop": ("notebook",),
    "notebook": ("laptop",),
    "headset": ("headphone",),
    "earphone": ("earbud",),
    "earbud": ("earphone",),
    "tv": ("television",),
    "television": ("tv",),
    "sd": ("sdhc", "sdxc"),
    "stick": ("flash",),
    "pc": ("computer",),
    "computer": ("pc",),
    "cord": ("cable",),
}
SYNONYM_WEIGHT = 0.5


def query_terms(query: str) -> dict[str, float]:
    """The weighted terms a query looks for: its tokens, adjacent pairs joined ("head set" ->
    "headset"), and shop-vocabulary synonyms at `SYNONYM_WEIGHT`."""
    tokens = tokenize(query)
    weights: dict[str, float] = {t: 1.0 for t in tokens}
    for a, b in zip(tokens, tokens[1:], strict=False):
        weights.setdefault(stem(a + b), 1.0)
    for t in list(weights):
        for alt in SYNONYMS.get(t, ()):
            weights.setdefault(alt, SYNONYM_WEIGHT)
    return weights


@dataclass(frozen=True)
class LexicalDoc:
    """What the lexical index needs of a product: its text fields and one filter payload."""

    id: str
    title: str
    body: str
    payload: object = None


@dataclass(frozen=True)
class LexicalHit:
    """One BM25 match with the query terms it contains."""

    id: str
    score: float
    matched: tuple[str, ...]


class BM25Index:
    """Okapi BM25 over a mutable document set.

    Args:
        k1: Term-frequency saturation.
        b: Length normalisation.
        title_weight: How many times title tokens are counted.
    """

    def __init__(self, k1: float = 1.2, b: float = 0.75, title_weight: int = 2) -> None:
        self.k1, self.b, self.title_weight = k1, b, title_weight
        self._postings: dict[str, dict[int, int]] = defaultdict(dict)
        self._doc_terms: dict[int, Counter[str]] = {}
        self._doc_len: dict[int, int] = {}
        self._ids: dict[str, int] = {}
        self._names: dict[int, str] = {}
        self._payloads: dict[int, object] = {}
        self._next = 0
        self._total_len = 0

    def __len__(self) -> int:
        return len(self._doc_len)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._ids

    def payload(self, doc_id: str) -> object:
        """The payload stored with a document."""
        return self._payloads[self._ids[doc_id]]

    def add(self, doc: LexicalDoc) -> None:
        """Add a document, replacing any with the same id."""
        self.remove(doc.id)
        terms = Counter(tokenize(doc.title) * self.title_weight + tokenize(doc.body))
        n = self._next
        self._next += 1
        self._ids[doc.id], self._names[n], self._payloads[n] = n, doc.id, doc.payload
        self._doc_terms[n] = terms
        length = sum(terms.values())
        self._doc_len[n] = length
        self._total_len += length
        for term, tf in terms.items():
            self._postings[term][n] = tf

    def add_many(self, docs: Iterable[LexicalDoc]) -> None:
        """Add several documents."""
        for doc in docs:
            self.add(doc)

    def ids_where(self, accept: Callable[[object], bool]) -> list[str]:
        """The ids of the documents whose payload `accept` admits."""
        return [name for n, name in self._names.items() if accept(self._payloads[n])]

    def set_payload(self, doc_id: str, payload: object) -> None:
        """Replace a document's payload (a price or stock change) without re-indexing its text."""
        self._payloads[self._ids[doc_id]] = payload

    def remove(self, doc_id: str) -> bool:
        """Remove a document; returns whether it was there."""
        n = self._ids.pop(doc_id, None)
        if n is None:
            return False
        for term in self._doc_terms.pop(n):
            posting = self._postings[term]
            posting.pop(n, None)
            if not posting:
                del self._postings[term]
        self._total_len -= self._doc_len.pop(n)
        del self._names[n], self._payloads[n]
        return True

    def search(
        self,
        query: str,
        k: int = 100,
        accept: Callable[[object], bool] | None = None,
    ) -> list[LexicalHit]:
        """The `k` best documents for `query` among those whose payload `accept` admits."""
        terms = query_terms(query)
        n_docs = len(self._doc_len)
        if not n_docs:
            return []
        if not terms:  # no query: list what the filter admits, in id order, score 0
            names = sorted(
                name
                for n, name in self._names.items()
                if accept is None or accept(self._payloads[n])
            )
            return [LexicalHit(name, 0.0, ()) for name in names[:k]]
        avg_len = self._total_len / n_docs
        scores: dict[int, float] = defaultdict(float)
        matched: dict[int, list[str]] = defaultdict(list)
        for term, weight in terms.items():
            posting = self._postings.get(term)
            if not posting:
                continue
            idf = weight * math.log(1 + (n_docs - len(posting) + 0.5) / (len(posting) + 0.5))
            k1, b, doc_len = self.k1, self.b, self._doc_len
            for n, tf in posting.items():
                norm = k1 * (1 - b + b * doc_len[n] / avg_len)
                scores[n] += idf * tf * (k1 + 1) / (tf + norm)
                matched[n].append(term)
        ranked = sorted(scores.items(), key=lambda item: (-item[1], self._names[item[0]]))
        hits: list[LexicalHit] = []
        for n, score in ranked:
            if accept is not None and not accept(self._payloads[n]):
                continue
            hits.append(LexicalHit(self._names[n], score, tuple(matched[n])))
            if len(hits) >= k:
                break
        return hits
