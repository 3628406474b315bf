"""The embedder choices: the configuration errors, and the built fused int8 ONNX model against
the reference (torch fp32) on real product texts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from retrieval.embedder import EMBEDDER_KINDS, HashEmbedder, LazyEmbedder, make_embedder
from retrieval.onnx_build import ensure_fused_int8, fused_int8_path
from ui.settings import Settings

TEXTS = [
    "JBL Flip 5 portable bluetooth speaker . Waterproof speaker with 12 hours of playtime",
    "HP 301 ink cartridge black . Original HP ink for DeskJet printers",
    "Belkin USB-C charging cable 2 m . Braided cable for phones and laptops",
    "Lenovo ThinkPad T14 notebook 35.6 cm (14in) . Intel Core i5, 16 GB RAM, 512 GB SSD",
    "Logitech MX Master 3 wireless mouse . Ergonomic mouse with USB receiver",
    "Samsung 27 inch monitor . Full HD IPS panel, HDMI",
]


def test_unknown_embedder_kind_is_refused_with_the_choices() -> None:
    with pytest.raises(ValueError, match="onnx-fused, onnx, torch, torch-fp32, hash"):
        make_embedder("bert")
    with pytest.raises(ValidationError):
        Settings(embedder="bert")  # type: ignore[arg-type]


def test_fused_embedder_needs_a_models_dir_and_lazy_builds_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="models_dir"):
        make_embedder("onnx-fused")
    lazy = make_embedder("onnx-fused", lazy=True, models_dir=tmp_path / "models")
    assert isinstance(lazy, LazyEmbedder) and lazy.model_id == "all-MiniLM-L6-v2"
    assert not (tmp_path / "models").exists()
    assert isinstance(make_embedder("hash", lazy=True), HashEmbedder)
    assert set(EMBEDDER_KINDS) >= {Settings().embedder, Settings().query_embedder}


@pytest.mark.model
@pytest.mark.slow
def test_built_fused_model_agrees_with_fp32_and_is_built_once(tmp_path: Path) -> None:
    from retrieval.embedder import OnnxMiniLMEmbedder, TorchMiniLMEmbedder

    models = tmp_path / "models"
    path = ensure_fused_int8(models)
    assert path == fused_int8_path(models) and path.stat().st_size < 30_000_000
    assert [p.name for p in models.iterdir()] == [path.name]  # no build leftovers
    mtime = path.stat().st_mtime_ns
    assert ensure_fused_int8(models) == path and path.stat().st_mtime_ns == mtime

    fused = make_embedder("onnx-fused", max_length=24, models_dir=models)
    assert isinstance(fused, OnnxMiniLMEmbedder) and fused.name == path.stem
    reference = TorchMiniLMEmbedder(max_length=24, dtype="float32")
    got, want = fused.embed(TEXTS), reference.embed(TEXTS)
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)
    assert float((got * want).sum(axis=1).min()) >= 0.98
    # the same nearest product for each query as the reference
    queries = ["waterproof speaker", "printer ink", "usb c cable", "thinkpad laptop", "mouse"]
    for q, expected in zip(queries, range(5), strict=True):
        assert int(np.argmax(got @ fused.embed_one(q))) == expected
        assert int(np.argmax(want @ reference.embed_one(q))) == expected


@pytest.mark.model
@pytest.mark.slow
def test_a_damaged_built_model_is_built_again(tmp_path: Path) -> None:
    models = tmp_path / "models"
    path = fused_int8_path(models)
    models.mkdir()
    path.write_bytes(b"not an onnx model")
    embedder = make_embedder("onnx-fused", models_dir=models)
    assert path.stat().st_size > 1_000_000
    vector = embedder.embed_one("usb cable")
    assert vector.shape == (384,) and abs(float(np.linalg.norm(vector)) - 1.0) < 1e-5


@pytest.mark.model
def test_embedders_of_one_model_share_its_session_but_keep_their_limits() -> None:
    from retrieval.embedder import OnnxMiniLMEmbedder

    short, long = make_embedder("onnx", max_length=8), make_embedder("onnx", max_length=64)
    assert isinstance(short, OnnxMiniLMEmbedder) and isinstance(long, OnnxMiniLMEmbedder)
    assert short.session is long.session  # one model in memory, not one per token limit
    text = "JBL Flip 5 portable waterproof bluetooth speaker with a twelve hour battery, blue"
    assert float(short.embed_one(text) @ long.embed_one(text)) < 0.99  # each cuts at its own
    assert np.allclose(short.embed_one("usb hub"), long.embed_one("usb hub"), atol=1e-5)
