"""Shared helpers of the benchmark scripts (each prints one JSON line)."""

from __future__ import annotations

import json
import os
import socket
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
DEFAULT_ICECAT = ROOT.parent / "shared" / "data" / "icecat"
DEFAULT_JUDGMENTS = ROOT.parent / "shared" / "data" / "relevance" / "icecat_judgments_dev.csv"


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by nearest rank."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def emit(data: dict[str, Any]) -> None:
    """Print the benchmark's one JSON line."""
    print(json.dumps(data), flush=True)


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def configured_embedders() -> tuple[Any, Any, float]:
    """The configured document and query embedders (Settings, as `make run` uses them), built
    now, and the seconds the one-time model build took (about 0 when it was built before)."""
    import time

    from retrieval.embedder import make_embedder
    from ui.settings import Settings

    settings = Settings()
    models = settings.models_dir
    start = time.perf_counter()
    doc = make_embedder(settings.embedder, settings.embed_max_length, models_dir=models)
    build_s = time.perf_counter() - start
    query = make_embedder(settings.query_embedder, settings.query_max_length, models_dir=models)
    return doc, query, build_s


def add_stack_arguments(ap: Any) -> None:
    """--llm-url, --home and --adapter: what `demo_stack` takes from the command line."""
    ap.add_argument("--llm-url", help="A running OpenAI-compatible server (default: start one).")
    ap.add_argument("--home", type=Path, help="A home that holds the demo catalog already.")
    ap.add_argument(
        "--adapter",
        choices=("merged", "lora", "off"),
        default="merged",
        help="How the model server started here serves assistant/lora (off = the base model).",
    )


@contextmanager
def demo_stack(home: Path | None, llm_url: str | None, adapter: str) -> Iterator[tuple[Path, str]]:
    """(home, model URL): `home`, or a temporary one with the demo catalog ingested, and
    `llm_url`, or a model server started here under $SHOPASSIST_HOME or the home, stopped on
    exit. `adapter`: "merged" or "lora" (how the bundled adapter is served), or "off"."""
    from retrieval.icecat import load_demo
    from ui import llm_server
    from ui.compose import build_index
    from ui.settings import Settings

    with tempfile.TemporaryDirectory() as scratch:
        where = home or Path(scratch)
        if home is None:
            build_index(Settings(home=where)).ingest(load_demo())
        proc = None
        if llm_url is None:
            port = free_port()
            model_home = Path(os.environ.get("SHOPASSIST_HOME", where))
            model_home.mkdir(parents=True, exist_ok=True)
            settings = Settings(home=model_home, llm_lora="auto" if adapter != "off" else "off")
            proc = llm_server.start_configured(settings, port, adapter)
            llm_url = f"http://127.0.0.1:{port}"
        try:
            yield where, llm_url
        finally:
            if proc is not None:
                llm_server.stop(proc)
