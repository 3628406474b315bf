"""The re-ranker's ONNX fast path, built from the real bundled model."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import numpy as np
import pytest

from ranking.cross_encoder import CrossEncoderReranker, bundled_model_dir
from ranking.metrics import spearman
from ranking.onnx_reranker import (
    FFN_DOWN_KEPT,
    PROBE_AGREEMENT,
    WEIGHTS,
    OnnxCrossEncoderReranker,
    ensure_onnx,
    ffn_down_projections,
    onnx_path,
)

pytestmark = pytest.mark.model

TEXTS = [
    "JBL Flip 5 portable bluetooth speaker blue",
    "HP 301 ink cartridge black",
    "Sony SRS-XB13 waterproof portable bluetooth speaker",
    "Belkin USB-C charging cable 2 m",
    "Logitech M185 wireless mouse grey",
    "Targus 15.6 inch laptop backpack",
    "SanDisk Ultra 64 GB microSDXC memory card",
    "Anker PowerCore 10000 power bank",
    "Bose SoundLink Micro bluetooth speaker",
    "Epson EcoTank ET-2810 inkjet printer",
    "",
]


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def fast(models_dir: Path) -> OnnxCrossEncoderReranker:
    return OnnxCrossEncoderReranker(models_dir)


@pytest.fixture(scope="module")
def fp32() -> CrossEncoderReranker:
    return CrossEncoderReranker(precision="fp32")


def test_exported_fused_graph_equals_torch(
    models_dir: Path, fast: OnnxCrossEncoderReranker, fp32: CrossEncoderReranker
) -> None:
    """Export and fusion change nothing: the fp32 build scores as torch fp32 does."""
    import onnxruntime as ort

    session = ort.InferenceSession(
        str(ensure_onnx(bundled_model_dir(), models_dir, quantise=False)),
        providers=["CPUExecutionProvider"],
    )
    for query in ("bluetooth speaker", "usb c cable"):
        mine = session.run(None, fast._feed(query, TEXTS))[0].reshape(-1)
        assert np.abs(mine - np.array(fp32.score(query, TEXTS))).max() < 1e-4


@pytest.mark.parametrize("query", ["bluetooth speaker", "usb c cable", "printer ink"])
def test_int8_build_keeps_the_ranking(
    fast: OnnxCrossEncoderReranker, fp32: CrossEncoderReranker, query: str
) -> None:
    # bench/rerank.py measures the agreement over whole candidate lists (README, "Results");
    # here: the clear leader stays in front and the order stays close (near-ties among the
    # irrelevant texts may swap, which is why int8 is not the default for the 6-layer model).
    a, b = fast.score(query, TEXTS), fp32.score(query, TEXTS)
    assert spearman(a, b) >= 0.9
    assert fast.rank(query, TEXTS, 1)[0][0] == fp32.rank(query, TEXTS, 1)[0][0]


def test_the_build_tries_more_only_where_the_probe_asks_keeps_the_best_and_says_so(
    models_dir: Path, fast: OnnxCrossEncoderReranker
) -> None:
    import onnx

    info = fast.build_info
    tried = {
        label: float(info[f"probe_agreement_{label}"])
        for label in ("all_int8", "u8_weights", "ffn_down_fp32")
        if f"probe_agreement_{label}" in info
    }
    # the builds run in this order, each only while the best before it is below the bar
    assert list(tried) == ["all_int8", "u8_weights", "ffn_down_fp32"][: len(tried)]
    for n in range(1, len(tried)):
        assert max(list(tried.values())[:n]) < PROBE_AGREEMENT
    # the build kept is the best one tried (the first on a tie), as its metadata says
    chosen = max(tried, key=lambda label: tried[label])
    assert float(info["probe_agreement"]) == tried[chosen]
    kept = int(info[FFN_DOWN_KEPT])
    assert (kept > 0) == (chosen == "ffn_down_fp32")
    if chosen != "ffn_down_fp32":
        assert info[WEIGHTS] == ("u8" if chosen == "u8_weights" else "s8")
    fused = onnx.load(str(ensure_onnx(bundled_model_dir(), models_dir, quantise=False)))
    layers = len(ffn_down_projections(fused))
    assert layers == 6  # one feed-forward down-projection per transformer layer
    assert kept in (0, layers)
    # and the graph is what the metadata says: fp32 MatMuls, the quantised weights' type
    built = onnx.load(str(onnx_path(bundled_model_dir(), models_dir)))
    assert sum(n.op_type == "MatMul" for n in built.graph.node) == kept
    types = {i.name: i.data_type for i in built.graph.initializer}
    weights = {types[n.input[1]] for n in built.graph.node if n.op_type == "MatMulInteger"}
    expected = onnx.TensorProto.UINT8 if info[WEIGHTS] == "u8" else onnx.TensorProto.INT8
    assert weights == {expected}


def test_tokenisation_equals_the_transformers_tokenizer(
    fast: OnnxCrossEncoderReranker, fp32: CrossEncoderReranker
) -> None:
    mine = fast._feed("bluetooth speaker", TEXTS)
    theirs = fp32._encode("bluetooth speaker", TEXTS, "only_second")
    for name, value in mine.items():
        assert (theirs[name].numpy() == value).all(), name
    assert mine["input_ids"].shape[1] <= fast.max_length


def test_a_query_longer_than_the_limit_is_cut_not_an_error(
    fast: OnnxCrossEncoderReranker, fp32: CrossEncoderReranker
) -> None:
    query = "waterproof portable bluetooth speaker with a long battery life " * 12
    for reranker in (fast, fp32):
        scores = reranker.score(query, TEXTS)
        assert len(scores) == len(TEXTS) and all(np.isfinite(scores))
    # and the next short query is cut as before (only the text)
    assert fast._feed("usb hub", TEXTS[:1])["token_type_ids"].sum() > 0


def test_a_damaged_build_is_built_again(
    models_dir: Path, fast: OnnxCrossEncoderReranker, caplog: pytest.LogCaptureFixture
) -> None:
    path = onnx_path(bundled_model_dir(), models_dir)
    assert path.exists()
    path.write_bytes(b"not a model")
    with caplog.at_level(logging.WARNING):
        again = OnnxCrossEncoderReranker(models_dir)
    assert "building it again" in caplog.text
    assert again.score("bluetooth speaker", TEXTS) == pytest.approx(
        fast.score("bluetooth speaker", TEXTS), abs=1e-5
    )


def test_a_changed_model_gets_its_own_build(tmp_path: Path, models_dir: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(bundled_model_dir(), copy)
    same = onnx_path(copy, models_dir)
    assert same == onnx_path(bundled_model_dir(), models_dir)
    config = copy / "config.json"
    config.write_text(config.read_text().replace("{", '{"note": "retrained",', 1))
    assert onnx_path(copy, models_dir) != same
