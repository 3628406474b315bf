"""Distilling the cross-encoder into a shallower student that re-ranks within the latency budget.

The fine-tuned six-layer cross-encoder (the teacher) scores (query, text) pairs; a student with
fewer transformer layers, initialised from some of the teacher's layers (its embeddings, pooler
and head too), learns to reproduce those scores (mean squared error on the logits, batches of
whole queries). Nothing but the teacher's scores is needed, so the pairs can come from the shop's
own catalog and query wording as well as from labelled data; labels, where a pair has them, only
measure validation nDCG.

Validation, on held-out queries: the student's per-query Spearman rank agreement with the
teacher, its MSE, and nDCG@10 of both on the labelled validation pairs.

Importing this module does not import torch; `distill` does.
"""

from __future__ import annotations

import copy
import json
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ranking.cross_encoder import _torch, load_classifier, save_packed
from ranking.data import Pair, by_query
from ranking.metrics import mean_ndcg, mean_spearman


@dataclass
class DistillConfig:
    """The student recipe; every field is recorded in the training report."""

    layers: tuple[int, ...] = (0, 5)
    epochs: int = 3
    lr: float = 2e-4
    weight_decay: float = 0.01
    warmup: float = 0.1
    batch_pairs: int = 64
    max_length: int = 40
    teacher_max_length: int = 48
    seed: int = 13
    threads: int | None = None
    freeze_embeddings: bool = True
    weak_weight: float = 0.0


@dataclass
class DistillEpoch:
    """Figures of one epoch."""

    epoch: int
    train_mse: float
    val_mse: float
    val_spearman: float
    val_ndcg10: float | None
    val_weak_ndcg10: float | None
    seconds: float
    pairs_per_s: float


@dataclass
class DistillReport:
    """What `distill` returns and writes as `training_report.json`."""

    config: dict[str, Any]
    train_pairs: int
    train_queries: int
    val_pairs: int
    val_queries: int
    teacher_val_ndcg10: float | None = None
    teacher_seconds: float = 0.0
    epochs: list[DistillEpoch] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON data."""
        data = asdict(self)
        data["kind"] = "distilled"
        data["epochs"] = [asdict(e) for e in self.epochs]
        return data


def make_student(teacher: Any, layers: Sequence[int]) -> Any:
    """A copy of `teacher` keeping only the transformer layers `layers` (in that order)."""
    torch = _torch()
    depth = teacher.config.num_hidden_layers
    if not layers or any(not 0 <= i < depth for i in layers):
        raise ValueError(f"student layers must be in 0..{depth - 1}, got {list(layers)}")
    student = copy.deepcopy(teacher)
    student.bert.encoder.layer = torch.nn.ModuleList(
        copy.deepcopy(teacher.bert.encoder.layer[i]) for i in layers
    )
    student.config.num_hidden_layers = len(layers)
    return student


def teacher_scores(
    teacher: Any,
    tokenizer: Any,
    pairs: Sequence[Pair],
    max_length: int,
    progress: Callable[[str, int, int, float], None] | None = None,
    chunk: int = 2048,
) -> list[float]:
    """The teacher's logits for `pairs`: in bf16 where the CPU has bf16 kernels (Spearman 0.999
    against fp32, 2x faster with AMX), in fp32 elsewhere (emulated bf16 is several times slower)."""
    from ranking.cross_encoder import resolve_precision
    from ranking.train import score_pairs

    torch = _torch()
    # the teacher is fp32: copied only to be cast, and only where "auto" chooses bf16
    bf16 = resolve_precision("auto") == "bf16"
    fast = copy.deepcopy(teacher).to(torch.bfloat16) if bf16 else teacher
    out: list[float] = []
    for s in range(0, len(pairs), chunk):
        out += score_pairs(torch, fast, tokenizer, pairs[s : s + chunk], max_length, 64)
        if progress:
            progress("teacher", min(s + chunk, len(pairs)), len(pairs), 0.0)
    return out


def _distill_loss(torch: Any, scores: Any, target: Any, queries: Sequence[str]) -> Any:
    """MSE on the scores plus MSE on the scores centred per query (the ranking within it)."""
    index: dict[str, int] = {}
    ids = torch.tensor([index.setdefault(q, len(index)) for q in queries])
    count = torch.zeros(len(index)).index_add_(0, ids, torch.ones(len(ids)))
    mean_s = torch.zeros(len(index)).index_add_(0, ids, scores) / count
    mean_t = torch.zeros(len(index)).index_add_(0, ids, target) / count
    mse = torch.nn.functional.mse_loss
    return mse(scores, target) + mse(scores - mean_s[ids], target - mean_t[ids])


def _listnet(
    torch: Any, scores: Any, grades: Sequence[float | None], queries: Sequence[str]
) -> Any:
    """ListNet cross-entropy per query over the pairs that have a grade (0 when none do)."""
    rows: dict[str, list[int]] = {}
    for i, (q, g) in enumerate(zip(queries, grades, strict=True)):
        if g is not None:
            rows.setdefault(q, []).append(i)
    terms = []
    for idx in rows.values():
        if len(idx) < 2:
            continue
        where = torch.tensor(idx)
        target = torch.softmax(torch.tensor([float(grades[i] or 0) for i in idx]), dim=0)
        terms.append(-(target * torch.log_softmax(scores[where], dim=0)).sum())
    return torch.stack(terms).mean() if terms else scores.sum() * 0.0


def _cache_path(
    cache_dir: Path | None, teacher_dir: Path, pairs: Sequence[Pair], max_length: int
) -> Path | None:
    if cache_dir is None:
        return None
    import hashlib

    from ranking.onnx_reranker import model_digest

    h = hashlib.sha1(f"{model_digest(teacher_dir)}|{max_length}".encode())
    for p in pairs:
        h.update(f"{p.query}\t{p.text}\n".encode())
    return cache_dir / f"teacher-scores-{h.hexdigest()[:16]}.json"


def distill(
    train_pairs: list[Pair],
    val_pairs: list[Pair],
    config: DistillConfig,
    teacher_dir: Path,
    out_dir: Path | None = None,
    labelled_val: Callable[[Pair], bool] | None = None,
    progress: Callable[[str, int, int, float], None] | None = None,
    weak: Sequence[float | None] | None = None,
    weak_val: Sequence[float | None] | None = None,
    cache_dir: Path | None = None,
    init: Path | None = None,
) -> tuple[DistillReport, Any, Any]:
    """Train a student on the teacher's scores; returns (report, student, tokenizer).

    Args:
        train_pairs: Pairs to learn from; their labels are not used.
        val_pairs: Pairs of held-out queries.
        config: The recipe.
        teacher_dir: The teacher's folder (packed or HF).
        out_dir: Where to write the packed student, report and plot (None: nowhere).
        labelled_val: Which validation pairs carry a real label (for nDCG@10); None = none.
        progress: Called with (stage, done, total, running MSE).
        weak: Weak 0-3 grades of `train_pairs` (None where a pair has none); with
            `config.weak_weight` > 0 a ListNet term on them joins the loss.
        weak_val: Weak grades of `val_pairs`, for a validation nDCG@10 on them.
        cache_dir: Where the teacher's scores are kept between runs (keyed by teacher, pairs
            and length); None = not kept.
        init: Start from this student (a further round) instead of the teacher's layers.
    """
    torch = _torch()
    from ranking.train import Optimiser, _batches, encode_pairs, score_pairs

    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    tokenizer, teacher = load_classifier(teacher_dir)
    started = time.perf_counter()
    everything = [*train_pairs, *val_pairs]
    cached = _cache_path(cache_dir, teacher_dir, everything, config.teacher_max_length)
    if cached is not None and cached.exists():
        targets = json.loads(cached.read_text())
    else:
        targets = teacher_scores(
            teacher, tokenizer, everything, config.teacher_max_length, progress
        )
        if cached is not None:
            cached.parent.mkdir(parents=True, exist_ok=True)
            tmp = cached.with_suffix(".tmp")
            tmp.write_text(json.dumps(targets))
            tmp.replace(cached)
    teacher_seconds = time.perf_counter() - started
    train_t, val_t = targets[: len(train_pairs)], targets[len(train_pairs) :]
    labelled = [i for i, p in enumerate(val_pairs) if labelled_val and labelled_val(p)]
    lab_pairs = [val_pairs[i] for i in labelled]
    graded = [i for i, g in enumerate(weak_val or []) if g is not None]
    graded_pairs = (
        [Pair(val_pairs[i].query, val_pairs[i].text, float(weak_val[i] or 0)) for i in graded]
        if weak_val
        else []
    )
    train_weak = list(weak) if weak is not None else [None] * len(train_pairs)
    if len(train_weak) != len(train_pairs):
        raise ValueError("weak grades must align with train_pairs")

    # Learn the teacher's scores standardised (its raw logits vary by about 0.25 within a query,
    # too little for MSE to see); the affine map is folded back into the head at the end.
    mu = sum(train_t) / max(len(train_t), 1)
    sigma = math.sqrt(sum((t - mu) ** 2 for t in train_t) / max(len(train_t), 1)) or 1.0
    if init is not None:  # a further round for a student trained before
        _, student = load_classifier(init)
    else:
        student = make_student(teacher, config.layers)
    del teacher
    head = student.classifier
    with torch.no_grad():
        head.bias.sub_(mu).div_(sigma)
        head.weight.div_(sigma)
    if config.freeze_embeddings:
        student.base_model.embeddings.word_embeddings.weight.requires_grad_(False)
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(train_pairs):
        groups.setdefault(p.query, []).append(i)
    group_list = list(groups.values())
    steps = len(_batches(group_list, config.batch_pairs, random.Random(0)))
    optimiser = Optimiser(
        torch, student, config.lr, config.weight_decay, config.warmup, steps * config.epochs
    )
    report = DistillReport(
        config={
            **asdict(config),
            "layers": list(config.layers),
            "teacher": str(teacher_dir),
            "init": str(init) if init else None,
        },
        train_pairs=len(train_pairs),
        train_queries=len(groups),
        val_pairs=len(val_pairs),
        val_queries=len(by_query(val_pairs)),
        teacher_val_ndcg10=mean_ndcg(lab_pairs, [val_t[i] for i in labelled]) if labelled else None,
        teacher_seconds=round(teacher_seconds, 1),
    )
    if graded:
        report.extra["teacher_val_weak_ndcg10"] = mean_ndcg(
            graded_pairs, [val_t[i] for i in graded]
        )
    for epoch in range(1, config.epochs + 1):
        student.train()
        batches = _batches(group_list, config.batch_pairs, rng)
        began, total, seen = time.perf_counter(), 0.0, 0
        for n, batch in enumerate(batches, start=1):
            enc = encode_pairs(tokenizer, [train_pairs[i] for i in batch], config.max_length)
            out = student(**enc).logits.view(-1)
            target = (torch.tensor([train_t[i] for i in batch]) - mu) / sigma
            queries = [train_pairs[i].query for i in batch]
            loss = _distill_loss(torch, out, target, queries)
            if config.weak_weight > 0:
                grades = [train_weak[i] for i in batch]
                loss = loss + config.weak_weight * _listnet(torch, out, grades, queries)
            optimiser.step(loss)
            total += loss.item() * len(batch)
            seen += len(batch)
            if progress:
                progress(f"epoch {epoch}", n, len(batches), total / seen)
        seconds = time.perf_counter() - began
        val_s = [
            v * sigma + mu
            for v in score_pairs(torch, student, tokenizer, val_pairs, config.max_length)
        ]
        val_mse = sum((a - b) ** 2 for a, b in zip(val_s, val_t, strict=True)) / max(len(val_s), 1)
        report.epochs.append(
            DistillEpoch(
                epoch=epoch,
                train_mse=total / max(seen, 1),
                val_mse=val_mse,
                val_spearman=mean_spearman(val_pairs, val_s, val_t),
                val_ndcg10=mean_ndcg(lab_pairs, [val_s[i] for i in labelled]) if labelled else None,
                val_weak_ndcg10=(
                    mean_ndcg(graded_pairs, [val_s[i] for i in graded]) if graded else None
                ),
                seconds=round(seconds, 1),
                pairs_per_s=round(seen / seconds, 1),
            )
        )
    student.eval()
    with torch.no_grad():  # back to the teacher's scale: scores feed the fusion's sigmoid
        head.weight.mul_(sigma)
        head.bias.mul_(sigma).add_(mu)
    report.extra["target_mean"], report.extra["target_std"] = mu, sigma
    if out_dir is not None:
        report.extra["packed_bytes"] = save_packed(student, tokenizer, out_dir)
        (out_dir / "training_report.json").write_text(json.dumps(report.as_dict(), indent=2))
        plot_distill(report, out_dir / "training_curves.png")
    return report, student, tokenizer


def plot_distill(report: DistillReport, path: Path) -> None:
    """A PNG of train/validation MSE and validation agreement / nDCG@10 per epoch."""
    from ranking.train import plot_curves

    es = report.epochs
    right: dict[str, Sequence[float]] = {"val Spearman vs teacher": [e.val_spearman for e in es]}
    if es and es[0].val_ndcg10 is not None:
        right["val nDCG@10"] = [e.val_ndcg10 or 0.0 for e in es]
    if es and es[0].val_weak_ndcg10 is not None:
        right["val nDCG@10 (weak grades)"] = [e.val_weak_ndcg10 or 0.0 for e in es]
    plot_curves(
        path,
        [e.epoch for e in es],
        {"train loss": [e.train_mse for e in es], "validation MSE": [e.val_mse for e in es]},
        "distillation loss (to the teacher's logits)",
        right,
        "validation",
        None
        if report.teacher_val_ndcg10 is None
        else (report.teacher_val_ndcg10, "teacher val nDCG@10"),
    )
