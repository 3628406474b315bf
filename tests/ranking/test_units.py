"""Unit tests of `ranking` that need no model."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from ranking.base import OverlapReranker
from ranking.data import Pair, read_homedepot, read_pairs_csv, split_by_query
from ranking.errors import RankingInputError
from ranking.fusion import FusionWeights, ItemSignals, freshness, fuse_scores
from ranking.metrics import mean_ndcg, ndcg, pair_accuracy


def test_importing_ranking_does_not_import_torch() -> None:
    code = (
        "import sys, ranking, ranking.base, ranking.fusion, ranking.data, ranking.metrics, "
        "ranking.cross_encoder, ranking.train, ranking.distill, ranking.onnx_reranker; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_ranking_never_imports_retrieval_or_assistant() -> None:
    for path in Path("ranking").rglob("*.py"):
        text = path.read_text()
        assert "import retrieval" not in text and "from retrieval" not in text, path
        assert "from assistant" not in text and "from ui" not in text, path


def test_rank_returns_indices_best_first_and_honours_top_k() -> None:
    r = OverlapReranker()
    texts = ["red usb cable", "bluetooth speaker red", "bluetooth speaker"]
    assert [i for i, _ in r.rank("red bluetooth speaker", texts)] == [1, 2, 0]
    assert r.rank("red bluetooth speaker", texts, top_k=1) == [(1, 1.0)]
    assert r.rank("anything", []) == []
    ties = r.rank("zzz", ["a", "b", "c"])
    assert [i for i, _ in ties] == [0, 1, 2]  # stable on ties


def test_fusion_lets_relevance_lead_and_signals_break_ties() -> None:
    items = [ItemSignals(in_stock=False), ItemSignals(in_stock=True)]
    tied = fuse_scores([2.0, 2.0], [0.5, 0.5], items)
    assert tied[1] > tied[0]
    clear = fuse_scores([5.0, -3.0], [0.0, 1.0], items)
    assert clear[0] > clear[1]
    user = np.array([1.0, 0.0])
    vec_items = [ItemSignals(vector=np.array([0.0, 1.0])), ItemSignals(vector=np.array([1.0, 0.0]))]
    personal = fuse_scores([1.0, 1.0], [0.0, 0.0], vec_items, user_vector=user)
    assert personal[1] > personal[0]
    assert fuse_scores([1.0, 1.0], [0.0, 0.0], vec_items) == pytest.approx(
        [0.7311 * 1.05] * 2, rel=1e-3
    )
    with pytest.raises(RankingInputError):
        fuse_scores([1.0], [1.0, 2.0], items)
    with pytest.raises(RankingInputError):
        FusionWeights(in_stock=-1)
    assert freshness(0) == 1.0 and freshness(30) == pytest.approx(0.5)


def test_metrics() -> None:
    assert ndcg([3, 0], [3, 0]) == pytest.approx(1.0)
    assert ndcg([0, 3], [3, 0]) < 1
    pairs = [Pair("q", "a", 3), Pair("q", "b", 0), Pair("r", "c", 1), Pair("r", "d", 2)]
    assert mean_ndcg(pairs, [1, 0, 0, 1]) == pytest.approx(1.0)
    assert mean_ndcg(pairs, [0, 0, 0, 0]) < 1  # ties count against the scorer
    assert pair_accuracy(pairs, [1, 0, 1, 0]) == 0.5


def test_split_is_by_query_and_reproducible() -> None:
    pairs = [Pair(f"q{i % 50}", f"t{i}", i % 4) for i in range(500)]
    train, val = split_by_query(pairs, 0.2)
    assert not {p.query for p in train} & {p.query for p in val}
    assert len({p.query for p in val}) == 10
    assert split_by_query(pairs, 0.2) == (train, val)


def test_pair_files(tmp_path: Path) -> None:
    good = tmp_path / "p.csv"
    good.write_text('query,text,label\nspeaker,"JBL speaker, blue",2\nspeaker,cable,0\n')
    assert read_pairs_csv(good)[0] == Pair("speaker", "JBL speaker, blue", 2.0)
    bad = tmp_path / "bad.csv"
    bad.write_text("query,text,label\nx,y,good\n")
    with pytest.raises(RankingInputError, match=":2: label 'good'"):
        read_pairs_csv(bad)
    for body, line in (("x,y,1\nx,z,nan\n", 3), ("x,y,-inf\n", 2), ("x,y,1\nx,z\n", 3)):
        bad.write_text("query,text,label\n" + body)
        with pytest.raises(RankingInputError, match=f":{line}: label"):
            read_pairs_csv(bad)
    bad.write_bytes(b"query,text,label\n\xff\xfe,y,2\n")
    with pytest.raises(RankingInputError, match="Cannot read pairs.*utf-8"):
        read_pairs_csv(bad)
    with pytest.raises(RankingInputError, match="missing column"):
        (tmp_path / "c.csv").write_text("q,t\n")
        read_pairs_csv(tmp_path / "c.csv")
    with pytest.raises(RankingInputError, match="Cannot read"):
        read_pairs_csv(tmp_path / "none.csv")
    hd = tmp_path / "train.csv.zip"
    with zipfile.ZipFile(hd, "w") as zf:
        zf.writestr(
            "train.csv",
            "id,product_uid,product_title,search_term,relevance\n1,2,Angle \xe9,angle,2.5\n".encode(
                "latin-1"
            ),
        )
    assert read_homedepot(hd) == [Pair("angle", "Angle \xe9", 2.25)]


@pytest.mark.model
def test_listwise_and_pairwise_losses_group_pairs_by_query_wherever_they_stand() -> None:
    import torch

    from ranking.train import _loss

    grouped = [Pair("a", "x", 3), Pair("a", "y", 0), Pair("b", "z", 2), Pair("b", "w", 1)]
    mixed = [grouped[0], grouped[2], grouped[1], grouped[3]]
    s_grouped = torch.tensor([2.0, -1.0, 0.5, 0.1])
    s_mixed = s_grouped[[0, 2, 1, 3]]
    for kind in ("pairwise", "listwise"):
        assert float(_loss(torch, kind, s_mixed, mixed)) == pytest.approx(
            float(_loss(torch, kind, s_grouped, grouped))
        )


def test_the_feed_forward_down_projections_are_the_matmuls_fed_by_gelu() -> None:
    from onnx import helper

    from ranking.onnx_reranker import ffn_down_projections

    nodes = [
        helper.make_node("MatMul", ["x", "w_in"], ["up"], name="up"),
        helper.make_node("BiasGelu", ["up", "b"], ["act"], name="gelu"),
        helper.make_node("MatMul", ["act", "w_out"], ["down"], name="down"),
        helper.make_node("Gelu", ["x"], ["act2"], name="gelu2"),
        helper.make_node("MatMul", ["act2", "w2"], ["down2"], name="down2"),
        helper.make_node("MatMul", ["x", "act"], ["mixed"], name="gelu_second_input"),
        helper.make_node("Tanh", ["x"], ["t"], name="tanh"),
        helper.make_node("MatMul", ["t", "w3"], ["head"], name="head"),
    ]
    model = helper.make_model(helper.make_graph(nodes, "g", [], []))
    assert ffn_down_projections(model) == ["down", "down2"]


def test_auto_precision_is_bf16_only_where_the_cpu_has_bf16_kernels(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import ranking.cross_encoder as ce

    for native, expected in ((True, "bf16"), (False, "fp32")):
        monkeypatch.setattr(ce, "native_bf16", lambda native=native: native)
        assert ce.resolve_precision("auto") == expected
        # A precision asked for by name is kept, whatever the CPU.
        assert [ce.resolve_precision(p) for p in ("bf16", "int8", "fp32")] == [
            "bf16",
            "int8",
            "fp32",
        ]
    with pytest.raises(ValueError, match="auto, bf16, int8, fp32"):
        ce.resolve_precision("fp16")


def test_a_wrong_precision_is_refused_before_any_model_is_loaded(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import ranking.cross_encoder as ce

    def no_loading(model_dir: Path) -> None:
        raise AssertionError("loaded a model for a precision it then refused")

    monkeypatch.setattr(ce, "load_classifier", no_loading)
    with pytest.raises(ValueError, match="got 'fp16'"):
        ce.CrossEncoderReranker(precision="fp16")
