"""Re-ranking latency: 50 candidates for one query, our fast path vs sentence-transformers fp32.

Same trained model (`SHOPASSIST_RERANKER_MODEL`, default the bundled one), same pairs, same
run. Ours: torch `auto` (the project's default: bf16 where the CPU has bf16 kernels, fp32
elsewhere; the JSON's `fast_path` names the one that ran), bf16, torch int8, or `--precision
onnx-int8` (the fused per-channel int8 ONNX build, `OnnxCrossEncoderReranker`; its `build_*`
fields say whether the build kept the feed-forward down-projections in fp32), at the trained
max length.
Baseline: sentence-transformers `CrossEncoder.predict` with its defaults (fp32, whole texts) on
the dequantised model. Spearman rank agreement of our scores with fp32 at
the same length and with the baseline's scores, per query, over the dev queries with >= 50 judged
products (the demo subset holds them all).

    python bench/rerank.py [--repeat 30] [--candidates 50] [--precision auto|bf16|int8|onnx-int8]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
from common import DEFAULT_JUDGMENTS, emit, percentile

from ranking.base import Reranker
from ranking.cross_encoder import CrossEncoderReranker, bundled_model_dir, load_classifier
from ranking.metrics import spearman
from ranking.onnx_reranker import OnnxCrossEncoderReranker
from retrieval.evaluation import read_judgments
from retrieval.icecat import load_demo
from retrieval.text import rerank_text
from ui.settings import Settings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--judgments", type=Path, default=DEFAULT_JUDGMENTS)
    ap.add_argument("--repeat", type=int, default=30)
    ap.add_argument("--candidates", type=int, default=50)
    ap.add_argument("--precision", default="auto", choices=["auto", "bf16", "int8", "onnx-int8"])
    args = ap.parse_args()
    demo = {p.id: p for p in load_demo()}
    judgments = read_judgments(args.judgments) if args.judgments.exists() else {}
    queries = [q for q, labels in judgments.items() if len(labels) >= args.candidates]
    rng = np.random.default_rng(0)
    cases = []
    for q in queries or ["bluetooth speaker"]:
        ids = [d for d in judgments.get(q, {}) if d in demo][: args.candidates]
        while len(ids) < args.candidates:
            ids.append(list(demo)[int(rng.integers(len(demo)))])
        cases.append((q, [rerank_text(demo[d]) for d in ids]))

    settings = Settings()
    model_dir = settings.reranker_model or bundled_model_dir()
    ours: Reranker
    if args.precision == "onnx-int8":
        ours = OnnxCrossEncoderReranker(settings.models_dir, model_dir)
    else:
        ours = CrossEncoderReranker(model_dir, precision=args.precision)
    fp32 = CrossEncoderReranker(model_dir, precision="fp32")
    from sentence_transformers import CrossEncoder

    with tempfile.TemporaryDirectory() as tmp:
        tokenizer, model = load_classifier(model_dir)
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        baseline = CrossEncoder(tmp, device="cpu")  # its defaults: whole texts, fp32

        def timed(fn, q, texts) -> float:
            t0 = time.perf_counter()
            fn(q, texts)
            return (time.perf_counter() - t0) * 1000

        def st(q, texts) -> list[float]:
            return [float(x) for x in baseline.predict([(q, t) for t in texts], batch_size=64)]

        for q, texts in cases[:2]:
            ours.score(q, texts)
            st(q, texts)
        t_ours, t_base, rho = [], [], []
        for r in range(args.repeat):
            q, texts = cases[r % len(cases)]
            t_ours.append(timed(ours.score, q, texts))
            t_base.append(timed(st, q, texts))
        rho_base = []
        for q, texts in cases:
            mine = ours.score(q, texts)
            rho.append(spearman(mine, fp32.score(q, texts)))
            rho_base.append(spearman(mine, st(q, texts)))
    emit(
        {
            "bench": "rerank",
            "candidates": args.candidates,
            "runs": args.repeat,
            "p50_ms": round(percentile(t_ours, 50), 1),
            "p95_ms": round(percentile(t_ours, 95), 1),
            "baseline_p50_ms": round(percentile(t_base, 50), 1),
            "baseline_p95_ms": round(percentile(t_base, 95), 1),
            "speedup_p50": round(percentile(t_base, 50) / percentile(t_ours, 50), 2),
            "spearman_vs_fp32_same_length_mean": round(float(np.mean(rho)), 4),
            "spearman_vs_fp32_same_length_min": round(min(rho), 4),
            "spearman_vs_baseline_mean": round(float(np.mean(rho_base)), 4),
            "spearman_vs_baseline_min": round(min(rho_base), 4),
            "queries": len(cases),
            "fast_path": ours.name,
            "layers": fp32.model.config.num_hidden_layers,
            "max_length": fp32.max_length,
            # the ONNX build's choice: feed-forward down-projections kept fp32, probe agreement
            **(
                {f"build_{k}": v for k, v in ours.build_info.items()}
                if isinstance(ours, OnnxCrossEncoderReranker)
                else {}
            ),
        }
    )


if __name__ == "__main__":
    main()
