"""The embedder choice: throughput, single-query latency and ranking quality of each variant.

For each of the fused int8 ONNX build (the default), the packaged int8 ONNX export, torch bf16 and
torch fp32 (all all-MiniLM-L6-v2, all at `--max-length` tokens): products/s embedding the dense
texts of `--limit` products, p50 latency of one query, cosine agreement with fp32, and dense
nDCG@10 over the demo subset (which holds every judged product) on the dev judgments.

    python bench/embedders.py [--icecat DIR] [--limit 3000] [--max-length 24]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from common import DEFAULT_ICECAT, DEFAULT_JUDGMENTS, emit, percentile

from retrieval.embedder import OnnxMiniLMEmbedder, TorchMiniLMEmbedder, make_embedder
from retrieval.evaluation import ndcg_at_k, read_judgments
from retrieval.icecat import load_demo, load_icecat
from retrieval.text import dense_text
from ui.settings import Settings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--icecat", type=Path, default=DEFAULT_ICECAT)
    ap.add_argument("--judgments", type=Path, default=DEFAULT_JUDGMENTS)
    ap.add_argument("--limit", type=int, default=3000)
    ap.add_argument("--max-length", type=int, default=Settings().embed_max_length)
    args = ap.parse_args()
    n = args.max_length
    texts = [dense_text(p) for p in load_icecat(args.icecat, args.limit)]
    demo = load_demo()
    demo_texts, demo_ids = [dense_text(p) for p in demo], [p.id for p in demo]
    judgments = read_judgments(args.judgments)
    variants = {
        "onnx-fused-int8": make_embedder("onnx-fused", n, models_dir=Settings().models_dir),
        "onnx-int8": OnnxMiniLMEmbedder(max_length=n),
        "torch-bf16": TorchMiniLMEmbedder(max_length=n),
        "torch-fp32": TorchMiniLMEmbedder(max_length=n, dtype="float32"),
    }
    reference = variants["torch-fp32"].embed(texts[:500])
    out: dict[str, object] = {"bench": "embedders", "texts": len(texts), "max_length": n}
    for name, emb in variants.items():
        emb.embed(texts[:128])
        t0 = time.perf_counter()
        emb.embed(texts)
        out[f"{name}_texts_per_s"] = round(len(texts) / (time.perf_counter() - t0), 1)
        lat = []
        for q in judgments:
            t0 = time.perf_counter()
            emb.embed_one(q)
            lat.append((time.perf_counter() - t0) * 1000)
        out[f"{name}_query_p50_ms"] = round(percentile(lat, 50), 2)
        agree = (emb.embed(texts[:500]) * reference).sum(axis=1)
        out[f"{name}_cosine_vs_fp32_min"] = round(float(agree.min()), 5)
        matrix = emb.embed(demo_texts)
        scores = []
        for q, labels in judgments.items():
            sims = matrix @ emb.embed_one(q)
            scores.append(ndcg_at_k([demo_ids[i] for i in np.argsort(-sims)[:10]], labels))
        out[f"{name}_dense_ndcg@10_demo"] = round(float(np.mean(scores)), 4)
    emit(out)


if __name__ == "__main__":
    main()
