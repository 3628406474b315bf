"""Distilling the cross-encoder into a shallower student."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from ranking.cross_encoder import bundled_model_dir, load_classifier
from ranking.data import Pair
from ranking.distill import DistillConfig, distill, make_student
from ranking.metrics import mean_spearman, spearman


def test_spearman_and_its_per_query_mean() -> None:
    assert spearman([1, 2, 3], [10, 20, 30]) == pytest.approx(1.0)
    assert spearman([1, 2, 3], [3, 2, 1]) == pytest.approx(-1.0)
    assert spearman([1, 1, 1], [1, 2, 3]) == 1.0  # a constant scoring has no order to disagree
    pairs = [Pair("a", str(i), 0) for i in range(3)] + [Pair("b", str(i), 0) for i in range(3)]
    assert mean_spearman(pairs, [1, 2, 3, 1, 2, 3], [1, 2, 3, 3, 2, 1]) == pytest.approx(0.0)
    assert math.isnan(mean_spearman(pairs[:2], [1, 2], [2, 1]))  # no query of 3+ pairs


@pytest.mark.model
def test_student_keeps_the_chosen_teacher_layers() -> None:
    torch = pytest.importorskip("torch")
    _, teacher = load_classifier(bundled_model_dir())
    depth = teacher.config.num_hidden_layers
    assert depth >= 2
    kept = (depth - 1, 0)  # any layers, in the order given
    student = make_student(teacher, kept)
    assert student.config.num_hidden_layers == 2 and len(student.bert.encoder.layer) == 2
    for mine, theirs in zip(student.bert.encoder.layer, kept, strict=True):
        a = mine.attention.self.query.weight
        b = teacher.bert.encoder.layer[theirs].attention.self.query.weight
        assert torch.equal(a, b) and a.data_ptr() != b.data_ptr()  # a copy, not shared
    assert teacher.config.num_hidden_layers == depth
    with pytest.raises(ValueError, match=f"0..{depth - 1}"):
        make_student(teacher, (0, depth))
    with pytest.raises(ValueError):
        make_student(teacher, ())


@pytest.mark.model
@pytest.mark.slow
def test_a_tiny_distillation_writes_a_loadable_student(tmp_path: Path) -> None:
    texts = ["bluetooth speaker", "ink cartridge", "usb cable", "wireless mouse", "laptop bag"]
    train = [Pair(q, t, -1.0) for q in ("speaker", "mouse", "cable", "bag") for t in texts]
    val = [Pair("printer ink", t, 3.0 if "ink" in t else 0.0) for t in texts]
    report, student, _ = distill(
        train,
        val,
        DistillConfig(layers=(0,), epochs=1, batch_pairs=10, max_length=24),
        bundled_model_dir(),
        tmp_path,
        labelled_val=lambda p: p.label >= 0,
    )
    assert student.config.num_hidden_layers == 1
    assert report.train_queries == 4 and report.val_queries == 1
    assert report.teacher_val_ndcg10 is not None and report.epochs[0].val_ndcg10 is not None
    data = json.loads((tmp_path / "training_report.json").read_text())
    assert data["kind"] == "distilled" and data["config"]["layers"] == [0]
    assert (tmp_path / "training_curves.png").stat().st_size > 0
    _, loaded = load_classifier(tmp_path)
    assert loaded.config.num_hidden_layers == 1


@pytest.mark.model
@pytest.mark.slow
def test_a_tiny_fine_tuning_writes_a_loadable_model(tmp_path: Path) -> None:
    from ranking.train import TrainConfig, train
    from retrieval.embedder import minilm_dir

    texts = {"bluetooth speaker": 3.0, "ink cartridge": 0.0, "usb cable": 1.0}
    pairs = [
        Pair(q, t, g if q == "speaker" else 3.0 - g)
        for q in ("speaker", "ink")
        for t, g in texts.items()
    ]
    val = [Pair("printer ink", t, g) for t, g in texts.items()]
    report, model, _ = train(
        pairs,
        val,
        TrainConfig(loss="listwise", epochs=1, batch_pairs=3, max_length=16),
        minilm_dir(),
        tmp_path,
    )
    assert report.train_queries == 2 and len(report.epochs) == 1 and report.kept_epoch == 1
    assert report.stored() is report.epochs[0]
    assert (tmp_path / "training_curves.png").stat().st_size > 0
    _, loaded = load_classifier(tmp_path)
    assert loaded.config.num_hidden_layers == model.config.num_hidden_layers


def test_the_best_epoch_is_kept_and_restored() -> None:
    torch = pytest.importorskip("torch")
    from ranking.train import BestEpoch

    model = torch.nn.Linear(2, 1)
    best = BestEpoch()
    assert best.restore(model) is None  # nothing offered: the model is left as it is
    with torch.no_grad():
        model.weight.fill_(1.0)
    best.offer(1, 0.80, model)
    with torch.no_grad():
        model.weight.fill_(2.0)
    best.offer(2, 0.80, model)  # equal: the earlier epoch stays
    best.offer(3, math.nan, model)  # no score: never kept
    with torch.no_grad():
        model.weight.fill_(3.0)
    best.offer(4, 0.79, model)
    assert best.restore(model) == 1
    assert torch.equal(model.weight, torch.ones(1, 2))
    best.offer(5, 0.81, model)  # a better epoch replaces it, with its own weights
    with torch.no_grad():
        model.weight.fill_(4.0)
    assert best.restore(model) == 5 and torch.equal(model.weight, torch.ones(1, 2))


@pytest.mark.model
def test_training_devices_and_precisions_are_checked_before_any_work() -> None:
    torch = pytest.importorskip("torch")
    from ranking.train import TrainConfig, check_device, train

    check_device("cpu", "fp32")
    check_device("cpu", "bf16")
    with pytest.raises(ValueError, match="precision"):
        check_device("cpu", "fp16")
    with pytest.raises(ValueError, match="unknown device"):
        check_device("gpu0", "fp32")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA GPU"):
            check_device("cuda", "fp32")
    with pytest.raises(ValueError, match="precision"):
        train([], [], TrainConfig(precision="fp8"), bundled_model_dir())


@pytest.mark.model
@pytest.mark.slow
def test_training_continues_from_the_packed_model_under_bf16_autocast(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from ranking.train import TrainConfig, load_trainable, train

    _, start = load_trainable(bundled_model_dir())
    _, bundled = load_classifier(bundled_model_dir())
    name = "bert.encoder.layer.0.attention.self.query.weight"
    assert torch.equal(start.state_dict()[name], bundled.state_dict()[name])
    pairs = [Pair("speaker", t, g) for t, g in (("bluetooth speaker", 3.0), ("ink", 0.0))]
    val = [Pair("printer ink", t, g) for t, g in (("ink cartridge", 3.0), ("usb cable", 0.0))]
    report, model, _ = train(
        pairs,
        val,
        TrainConfig(loss="pairwise", epochs=1, batch_pairs=2, max_length=16, precision="bf16"),
        bundled_model_dir(),
        tmp_path,
    )
    assert report.config["precision"] == "bf16" and report.epochs[0].pairs_per_s > 0
    moved = model.state_dict()[name].float().cpu()
    assert not torch.equal(moved, bundled.state_dict()[name])  # it trained
    assert next(model.parameters()).dtype == torch.float32  # autocast keeps fp32 weights


@pytest.mark.model
@pytest.mark.slow
def test_training_the_top_layers_runs_them_on_the_cached_lower_states(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    from ranking.train import (
        TrainConfig,
        _freeze_below,
        _LowerStates,
        encode_pairs,
        load_trainable,
        train,
    )

    pairs = [
        Pair(q, t, g)
        for q in ("speaker", "ink")
        for t, g in (("bluetooth speaker", 3.0), ("ink cartridge for a laser printer", 0.0))
    ]
    val = [Pair("printer ink", t, g) for t, g in (("ink cartridge", 3.0), ("usb cable", 0.0))]
    tokenizer, model = load_trainable(bundled_model_dir())
    with pytest.raises(ValueError, match="train_layers must be 1..6"):
        _freeze_below(model, 7)
    frozen = _freeze_below(model, 2)
    assert frozen == 4
    lower = _LowerStates(torch, model, tokenizer, pairs, frozen, 16)
    assert lower.states.shape[0] == len(pairs)
    with torch.no_grad():  # the same scores as the whole model, up to the cache's bf16
        cached = lower.scores(pairs, "cpu")
        whole = model(**encode_pairs(tokenizer, pairs, 16)).logits.view(-1)
    assert torch.allclose(cached, whole, atol=0.05), (cached, whole)

    config = TrainConfig(loss="pairwise", epochs=1, batch_pairs=2, max_length=16, train_layers=2)
    report, trained, _ = train(pairs, val, config, bundled_model_dir(), tmp_path)
    assert report.config["train_layers"] == 2 and report.epochs[0].pairs_per_s > 0
    _, bundled = load_classifier(bundled_model_dir())
    now, before = trained.state_dict(), bundled.state_dict()
    low, top = (f"bert.encoder.layer.{i}.attention.self.query.weight" for i in (3, 5))
    assert torch.equal(now[low], before[low])  # frozen
    assert not torch.equal(now[top], before[top])  # trained
    assert (
        len(trained.bert.encoder.layer) == 6 and type(trained.bert.embeddings).__name__ != "Given"
    )
