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
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass

import numpy as np

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
    "phone": ("smartphone",),
    "ram": ("sdram",),
    "mic": ("microphone",),
    "microphone": ("mic",),
    "network": ("networking",),
    "networking": ("network",),
}
SYNONYM_WEIGHT = 0.5
# Query words that the catalog writes as one word ("head set": "headset" is in at least
# `COMPOUND_MIN_DOCS` products) count `SPLIT_WEIGHT` apart, so that a "Styling Head ... hair
# styling set" does not outrank headsets. Chosen on the dev judgments (README, "Measures that
# pool bias does not decide").
COMPOUND_MIN_DOCS = 3
SPLIT_WEIGHT = 0.5


# Spelling: an unknown query word of at least this many letters may be read as the catalog word
# one edit away (`BM25Index.correction`). Shorter words are too often names or other words
# ("sonos" is one edit from "sonys", "reams" from "rams").
SPELL_MIN_LENGTH = 6
_LETTERS = "abcdefghijklmnopqrstuvwxyz"


def _edits1(word: str) -> set[str]:
    """Every string one edit from `word`: a letter deleted, swapped with the next, replaced or
    inserted (Norvig's spelling corrector)."""
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    return {
        *(a + b[1:] for a, b in splits if b),
        *(a + b[1] + b[0] + b[2:] for a, b in splits if len(b) > 1),
        *(a + c + b[1:] for a, b in splits if b for c in _LETTERS),
        *(a + c + b for a, b in splits for c in _LETTERS),
    }


def query_terms(query: str, is_word: Callable[[str], bool] | None = None) -> dict[str, float]:
    """The weighted terms a query looks for: its tokens, adjacent pairs joined ("head set" ->
    "headset"), and shop-vocabulary synonyms at `SYNONYM_WEIGHT`. When `is_word` says a joined
    pair is a word of the catalog, the two words it joins count `SPLIT_WEIGHT`."""
    tokens = tokenize(query)
    weights: dict[str, float] = {t: 1.0 for t in tokens}
    for a, b in zip(tokens, tokens[1:], strict=False):
        joined = stem(a + b)
        weights.setdefault(joined, 1.0)
        if is_word is not None and is_word(joined):
            weights[a], weights[b] = min(weights[a], SPLIT_WEIGHT), min(weights[b], SPLIT_WEIGHT)
    for t in list(weights):
        for alt in SYNONYMS.get(t, ()):
            weights.setdefault(alt, SYNONYM_WEIGHT)
    return weights


def word_alternatives(tokens: list[str]) -> dict[str, set[str]]:
    """What else stands for each query token: its synonyms, and the word it makes with a
    neighbour with that word's synonyms ("headset" and "headphone" stand for "head" and "set")."""
    alternatives: dict[str, set[str]] = {t: set(SYNONYMS.get(t, ())) for t in tokens}
    for a, b in zip(tokens, tokens[1:], strict=False):
        joined = stem(a + b)
        for t in (a, b):
            alternatives[t] |= {joined, *SYNONYMS.get(joined, ())}
    return alternatives


@dataclass(frozen=True)
class LexicalDoc:
    """What the lexical index needs of a product: its id and text fields."""

    id: str
    title: str
    body: str


@dataclass(frozen=True)
class LexicalHit:
    """One BM25 match with the query terms it contains."""

    id: str
    score: float
    matched: tuple[str, ...]


class BM25Index:
    """Okapi BM25 over a mutable document set, scored with numpy.

    Documents get row numbers (`row_of`); a replaced document gets a new row. Each term's posting
    list is kept as a dict for cheap updates and turned into numpy arrays when first scored after
    a change.

    Args:
        k1: Term-frequency saturation.
        b: Length normalisation.
        title_weight: How many times title tokens are counted.
    """

    def __init__(self, k1: float = 1.2, b: float = 0.75, title_weight: int = 2) -> None:
        self.k1, self.b, self.title_weight = k1, b, title_weight
        self._postings: dict[str, dict[int, int]] = defaultdict(dict)
        self._arrays: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._doc_terms: dict[int, Counter[str]] = {}
        self._lengths = np.zeros(1024, dtype=np.float32)
        self._ids: dict[str, int] = {}
        self._names: dict[int, str] = {}
        self._next = 0
        self._total_len = 0

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._ids

    @property
    def capacity(self) -> int:
        """Rows allocated so far (masks passed to `search` have this length or more)."""
        return self._next

    def row_of(self, doc_id: str) -> int:
        """The row number of a live document."""
        return self._ids[doc_id]

    def name_of(self, row: int) -> str:
        """The id of the document in a live row."""
        return self._names[row]

    def add(self, doc: LexicalDoc) -> int:
        """Add a document, replacing any with the same id; returns its row."""
        self.remove(doc.id)
        terms = Counter(tokenize(doc.title) * self.title_weight + tokenize(doc.body))
        n = self._next
        self._next += 1
        if n >= len(self._lengths):
            grown = np.zeros(len(self._lengths) * 2, dtype=np.float32)
            grown[: len(self._lengths)] = self._lengths
            self._lengths = grown
        self._ids[doc.id], self._names[n] = n, doc.id
        self._doc_terms[n] = terms
        length = sum(terms.values())
        self._lengths[n] = length
        self._total_len += length
        for term, tf in terms.items():
            self._postings[term][n] = tf
            self._arrays.pop(term, None)
        return n

    def remove(self, doc_id: str) -> int | None:
        """Remove a document; returns the row it had, or None if it was not there."""
        n = self._ids.pop(doc_id, None)
        if n is None:
            return None
        for term in self._doc_terms.pop(n):
            posting = self._postings[term]
            posting.pop(n, None)
            self._arrays.pop(term, None)
            if not posting:
                del self._postings[term]
        self._total_len -= int(self._lengths[n])
        self._lengths[n] = 0
        del self._names[n]
        return n

    def is_word(self, term: str) -> bool:
        """Whether at least `COMPOUND_MIN_DOCS` documents hold `term`."""
        return len(self._postings.get(term, ())) >= COMPOUND_MIN_DOCS

    def correction(self, word: str, words: AbstractSet[str] = frozenset()) -> str | None:
        """The catalog term (stemmed) one edit away from `word` when `word` is not a term:
        "blutooth" -> "bluetooth", "wireles" -> "wireless", "headphnes" -> "headphone"; the one in
        the most documents when several are, and only one in at least `COMPOUND_MIN_DOCS`. None
        for a known term, a word of the dictionary `words` (itself or its stem: "chair" is no
        typo of "hair"), a word shorter than `SPELL_MIN_LENGTH` or not all letters, or a word
        with no such neighbour."""
        word = word.lower()
        if len(word) < SPELL_MIN_LENGTH or not word.isalpha():
            return None
        if stem(word) in self._postings or word in words or stem(word) in words:
            return None
        df, term = max(
            ((len(self._postings.get(t, ())), t) for t in {stem(e) for e in _edits1(word)}),
            default=(0, ""),
        )
        return term if df >= COMPOUND_MIN_DOCS else None

    def _posting_arrays(self, term: str) -> tuple[np.ndarray, np.ndarray] | None:
        posting = self._postings.get(term)
        if not posting:
            return None
        arrays = self._arrays.get(term)
        if arrays is None:
            rows = np.fromiter(posting.keys(), dtype=np.int64, count=len(posting))
            tfs = np.fromiter(posting.values(), dtype=np.float32, count=len(posting))
            arrays = self._arrays[term] = (rows, tfs)
        return arrays

    def search(self, query: str, k: int = 100, mask: np.ndarray | None = None) -> list[LexicalHit]:
        """The `k` best documents for `query` among the rows `mask` admits (all when None).

        A query without terms lists the admitted documents in id order, score 0.
        """
        terms = query_terms(query, self.is_word)
        if not self._ids:
            return []
        if not terms:
            rows = np.flatnonzero(mask[: self._next]) if mask is not None else list(self._names)
            names = sorted(self._names[int(r)] for r in rows if int(r) in self._names)
            return [LexicalHit(name, 0.0, ()) for name in names[:k]]
        n_docs = len(self._ids)
        avg_len = self._total_len / n_docs
        scores = np.zeros(self._next, dtype=np.float32)
        found: list[str] = []
        for term, weight in terms.items():
            arrays = self._posting_arrays(term)
            if arrays is None:
                continue
            rows, tfs = arrays
            idf = weight * math.log(1 + (n_docs - len(rows) + 0.5) / (len(rows) + 0.5))
            norm = self.k1 * (1 - self.b + self.b * self._lengths[rows] / avg_len)
            scores[rows] += idf * tfs * (self.k1 + 1) / (tfs + norm)
            found.append(term)
        if mask is not None:
            scores[~mask[: self._next]] = 0.0
        hit_rows = np.flatnonzero(scores > 0)
        if len(hit_rows) > k:
            hit_rows = hit_rows[np.argpartition(-scores[hit_rows], k - 1)[:k]]
        ordered = sorted(hit_rows.tolist(), key=lambda r: (-scores[r], self._names[r]))
        hits = []
        for r in ordered:
            matched = tuple(t for t in found if r in self._postings[t])
            hits.append(LexicalHit(self._names[r], float(scores[r]), matched))
        return hits
