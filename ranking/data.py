"""Relevance pairs for training and evaluating the re-ranker.

Every label is put on one 0-3 scale (3 = perfect): Home Depot's 1-3 rater means map linearly
(1 -> 0, 3 -> 3), Icecat's 0-3 judgments stay as they are.
"""

from __future__ import annotations

import csv
import io
import math
import random
import zipfile
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ranking.errors import RankingInputError


@dataclass(frozen=True)
class Pair:
    """A graded (query, text) pair; `label` on the 0-3 scale."""

    query: str
    text: str
    label: float


def read_homedepot(path: Path) -> list[Pair]:
    """The Home Depot pairs (`train.csv.zip`, Latin-1): search_term, product_title, relevance."""
    try:
        with zipfile.ZipFile(path) as zf:
            raw = zf.read(zf.namelist()[0]).decode("latin-1")
    except (OSError, zipfile.BadZipFile, IndexError) as exc:
        raise RankingInputError(f"Cannot read the Home Depot pairs {path}: {exc}") from exc
    return [
        Pair(
            r["search_term"].strip(), r["product_title"].strip(), (float(r["relevance"]) - 1) * 1.5
        )
        for r in csv.DictReader(io.StringIO(raw))
    ]


def read_pairs_csv(path: Path) -> list[Pair]:
    """Pairs from a CSV with columns `query,text,label` (graded, higher is better).

    Raises:
        RankingInputError: The file is missing or not UTF-8, lacks a column or has a label
            that is not a finite number.
    """
    pairs: list[Pair] = []
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            reader = csv.DictReader(fh)
            missing = {"query", "text", "label"} - set(reader.fieldnames or [])
            if missing:
                raise RankingInputError(
                    f"{path}: missing column(s) {', '.join(sorted(missing))}; "
                    "expected query,text,label"
                )
            for n, row in enumerate(reader, start=2):
                try:
                    label = float(row["label"])
                except (TypeError, ValueError):
                    label = math.nan
                if not math.isfinite(label) or row["query"] is None or row["text"] is None:
                    raise RankingInputError(
                        f"{path}:{n}: label {row['label']!r} is not a number, or the row has "
                        "fewer than three columns"
                    )
                pairs.append(Pair(row["query"], row["text"], label))
    except (OSError, UnicodeDecodeError) as exc:
        raise RankingInputError(f"Cannot read pairs {path}: {exc}") from exc
    return pairs


def judgment_pairs(
    judgments: Mapping[str, Mapping[str, float]], texts: Mapping[str, str]
) -> list[Pair]:
    """Pairs from graded judgments {query: {docid: 0-3}} and the documents' texts."""
    return [
        Pair(query, texts[doc], float(label))
        for query, labels in judgments.items()
        for doc, label in labels.items()
        if doc in texts
    ]


def by_query(pairs: Iterable[Pair]) -> dict[str, list[Pair]]:
    """Pairs grouped by query, in first-seen order."""
    groups: dict[str, list[Pair]] = defaultdict(list)
    for p in pairs:
        groups[p.query].append(p)
    return dict(groups)


def split_by_query(
    pairs: list[Pair], val_fraction: float = 0.1, seed: int = 13
) -> tuple[list[Pair], list[Pair]]:
    """Train and validation pairs, split by query (never by pair), reproducibly."""
    queries = sorted(by_query(pairs))
    random.Random(seed).shuffle(queries)
    val = set(queries[: max(1, int(len(queries) * val_fraction))])
    return [p for p in pairs if p.query not in val], [p for p in pairs if p.query in val]
