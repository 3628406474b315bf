"""The real trained re-ranker (bundled in `ranking/model`), loaded once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from ranking.cross_encoder import (
    CrossEncoderReranker,
    bundled_model_dir,
    bundled_student_dir,
    model_card,
    native_bf16,
)
from ranking.errors import ModelMissing

pytestmark = pytest.mark.model


@pytest.fixture(scope="session")
def reranker() -> CrossEncoderReranker:
    return CrossEncoderReranker()


def test_bundled_model_is_small_and_documented() -> None:
    folder = bundled_model_dir()
    sizes = {p.name: p.stat().st_size for p in folder.iterdir()}
    assert sum(sizes.values()) <= 30 * 1024 * 1024
    assert {"MODEL_CARD.md", "training_report.json", "training_curves.png"} <= sizes.keys()
    card = model_card()
    assert card["config"]["loss"] in {"pointwise", "pairwise", "listwise"}
    assert card["epochs"] and card["extra"]["loss_comparison"]


@pytest.mark.xfail(
    strict=True,
    reason="known gap (issue 3): the model trained in the 2-core budget scores validation "
    "nDCG@10 0.885 against 0.891 for the un-tuned MiniLM cosine; a better model makes this pass",
)
def test_bundled_model_beats_the_untuned_baseline() -> None:
    card = model_card()
    stored = card["epochs"][(card.get("kept_epoch") or len(card["epochs"])) - 1]
    assert stored["val_ndcg10"] > card["baseline_val_ndcg10"]


def test_relevant_texts_rank_first(reranker: CrossEncoderReranker) -> None:
    texts = [
        "HP 301 ink cartridge black",
        "Sony SRS-XB13 waterproof portable bluetooth speaker",
        "Belkin USB-C charging cable 2 m",
        "JBL Flip 5 portable bluetooth speaker blue",
    ]
    ranked = reranker.rank("bluetooth speaker", texts, top_k=2)
    assert {i for i, _ in ranked} == {1, 3}
    assert reranker.rank("usb c cable", texts, top_k=1)[0][0] == 2


def test_the_default_precision_is_the_one_this_cpu_runs_fast(
    reranker: CrossEncoderReranker,
) -> None:
    expected = "bf16" if native_bf16() else "fp32"
    assert (reranker.precision, reranker.name) == (expected, f"cross-encoder-{expected}")
    dtypes = {"bf16": "torch.bfloat16", "fp32": "torch.float32"}
    assert str(reranker.model.dtype) == dtypes[expected]


def test_bf16_agrees_with_fp32() -> None:
    # bf16 is what the default runs where the CPU has bf16 kernels; checked on every CPU.
    reranker = CrossEncoderReranker(precision="bf16")
    fp32 = CrossEncoderReranker(precision="fp32")
    texts = [f"{w} speaker" for w in ("bluetooth", "wired", "car", "smart", "tiny")] + [
        "toner cartridge",
        "usb hub",
        "laptop bag",
    ]
    fast = [i for i, _ in reranker.rank("bluetooth speaker", texts)]
    slow = [i for i, _ in fp32.rank("bluetooth speaker", texts)]
    assert fast[:3] == slow[:3]


def test_missing_model_says_how_to_fix(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from ranking.onnx_reranker import OnnxCrossEncoderReranker

    with pytest.raises(ModelMissing, match="shopassist train reranker"):
        CrossEncoderReranker(tmp_path)
    # Both paths say where they looked and where the bundled student is.
    relative = Path("no-such-model")
    for build in (
        lambda: CrossEncoderReranker(relative),
        lambda: OnnxCrossEncoderReranker(tmp_path / "models", relative),
    ):
        with pytest.raises(ModelMissing) as caught:
            build()
        assert str(relative.resolve()) in str(caught.value)
        assert str(bundled_student_dir()) in str(caught.value)
