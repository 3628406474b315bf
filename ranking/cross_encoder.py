"""The fine-tuned BERT cross-encoder (MiniLM-L6-H384) and its packed int8 checkpoint.

The committed model (`ranking/model/`) stores every 2-D weight as int8 with one fp32 scale per
row (symmetric, per output channel) and the rest in fp16: 23 MB instead of 91 MB. Loading
dequantises it into an ordinary fp32 `BertForSequenceClassification`. Inference runs in the
precision "auto" chooses by default: bf16 where the CPU has bf16 kernels (oneDNN's: AVX-512 or
AMX on x86, the BF16 extension on ARM; with AMX as fast as torch dynamic int8 quantisation and
closer to fp32, bench/rerank.py), fp32 elsewhere (measured on an AVX2 CPU: bf16 there is
emulated and 5.6x slower than fp32). int8, bf16 and fp32 can be asked for by name.

Importing this module does not import torch; building a `CrossEncoderReranker` does.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from ranking.base import Reranker
from ranking.errors import MissingExtra, ModelMissing

PACKED_WEIGHTS = "weights.int8.safetensors"
PRECISIONS = ("auto", "bf16", "int8", "fp32")
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
)


def bundled_model_dir() -> Path:
    """The trained re-ranker shipped in the package (the 6-layer model, the default)."""
    return Path(str(resources.files("ranking") / "model"))


def bundled_student_dir() -> Path:
    """The 2-layer student distilled from it, also shipped: the fast path (with onnx-int8)."""
    return Path(str(resources.files("ranking") / "student"))


def missing_model(model_dir: Path) -> ModelMissing:
    """The error for a folder that holds no re-ranker: where it looked and what to do."""
    return ModelMissing(
        f"No re-ranker in {model_dir} ({model_dir.resolve()}) - train one with `shopassist train "
        "reranker`, point SHOPASSIST_RERANKER_MODEL at a model folder (the bundled student is "
        f"{bundled_student_dir()}), or unset it to use the bundled model."
    )


def _torch() -> Any:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        import torch
    except ImportError as exc:
        raise MissingExtra("torch", "The cross-encoder re-ranker") from exc
    return torch


def native_bf16() -> bool:
    """Whether torch's CPU kernels compute bf16 natively here (oneDNN's own check: AVX-512 or
    AMX on x86, the BF16 extension on ARM). Where they do not, bf16 is emulated: on an AVX2 CPU
    the bundled model scored 10 pairs in 724 ms in bf16 against 127 ms in fp32."""
    torch = _torch()
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch without oneDNN: no fast bf16 either
        return False


def resolve_precision(precision: str) -> str:
    """The precision to run: `precision` itself, or for "auto" bf16 where the CPU has bf16
    kernels (`native_bf16`) and fp32 elsewhere.

    Raises:
        ValueError: `precision` is not one of `PRECISIONS`.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision != "auto":
        return precision
    return "bf16" if native_bf16() else "fp32"


def save_packed(model: Any, tokenizer: Any, out: Path) -> int:
    """Write `model` as a packed int8 checkpoint with its config and tokenizer; returns bytes."""
    torch = _torch()
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    tensors: dict[str, Any] = {}
    for name, value in model.state_dict().items():
        value = value.detach().float().cpu()
        if value.dim() == 2:
            scale = value.abs().amax(dim=1).clamp(min=1e-12) / 127.0
            tensors[f"{name}.q"] = torch.round(value / scale[:, None]).to(torch.int8).contiguous()
            tensors[f"{name}.scale"] = scale.contiguous()
        else:
            tensors[name] = value.half().contiguous()
    save_file(tensors, str(out / PACKED_WEIGHTS))
    model.config.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    return (out / PACKED_WEIGHTS).stat().st_size


def load_classifier(model_dir: Path) -> tuple[Any, Any]:
    """(tokenizer, fp32 model in eval mode) from a packed or an ordinary HF folder.

    Raises:
        ModelMissing: The folder holds no model.
    """
    torch = _torch()
    from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

    if not (model_dir / "config.json").exists():
        raise missing_model(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    packed = model_dir / PACKED_WEIGHTS
    if not packed.exists():
        model = AutoModelForSequenceClassification.from_pretrained(str(model_dir))
        return tokenizer, model.eval()
    from safetensors.torch import load_file

    raw = load_file(str(packed))
    state: dict[str, Any] = {}
    for name, value in raw.items():
        if name.endswith(".q"):
            base = name[:-2]
            state[base] = value.float() * raw[f"{base}.scale"][:, None]
        elif not name.endswith(".scale"):
            state[name] = value.float()
    config = AutoConfig.from_pretrained(str(model_dir))
    model = AutoModelForSequenceClassification.from_config(config)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if unexpected or [m for m in missing if not m.endswith("position_ids")]:
        raise ModelMissing(f"{packed} does not fit its config: {missing[:3]} {unexpected[:3]}")
    return tokenizer, model.eval().to(torch.float32)


class CrossEncoderReranker(Reranker):
    """Scores (query, text) pairs with the fine-tuned cross-encoder.

    Args:
        model_dir: A packed or HF folder; defaults to the bundled model.
        precision: "auto" (the default: bf16 where the CPU has bf16 kernels, fp32 elsewhere;
            see `resolve_precision`), "bf16" (bf16 weights), "int8" (dynamic quantisation of
            the linear layers) or "fp32". `self.precision` is the one that runs.
        max_length: Token limit of query + text; None = the length the model was trained with.
        batch_size: Pairs per forward pass.
        threads: torch intra-op threads (None keeps torch's default).
    """

    def __init__(
        self,
        model_dir: Path | None = None,
        precision: str = "auto",
        max_length: int | None = None,
        batch_size: int = 64,
        threads: int | None = None,
    ) -> None:
        torch = _torch()
        precision = resolve_precision(precision)
        if threads:
            torch.set_num_threads(threads)
        self._torch = torch
        self.model_dir = model_dir or bundled_model_dir()
        self.tokenizer, model = load_classifier(self.model_dir)
        if precision == "int8":
            model = torch.ao.quantization.quantize_dynamic(model, {torch.nn.Linear}, torch.qint8)
        elif precision == "bf16":
            model = model.to(torch.bfloat16)
        self.model, self.precision = model, precision
        trained = model_card(self.model_dir).get("config", {}).get("max_length", 64)
        self.max_length, self.batch_size = max_length or int(trained), batch_size
        self.name = f"cross-encoder-{precision}"

    def _encode(self, query: str, chunk: list[str], truncation: str) -> Any:
        return self.tokenizer(
            [query] * len(chunk),
            chunk,
            padding=True,
            truncation=truncation,
            max_length=self.max_length,
            return_tensors="pt",
        )

    def score(self, query: str, texts: Sequence[str]) -> list[float]:
        torch = self._torch
        out: list[float] = []
        with torch.inference_mode():
            for start in range(0, len(texts), self.batch_size):
                chunk = list(texts[start : start + self.batch_size])
                try:
                    enc = self._encode(query, chunk, "only_second")
                except Exception:  # the query alone is over the limit: cut both, longest first
                    enc = self._encode(query, chunk, "longest_first")
                out += self.model(**enc).logits.view(-1).float().tolist()
        return out


def model_card(model_dir: Path | None = None) -> dict[str, Any]:
    """The training report of a model folder (empty if it has none)."""
    report = (model_dir or bundled_model_dir()) / "training_report.json"
    return json.loads(report.read_text()) if report.exists() else {}
