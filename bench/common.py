"""Shared helpers of the benchmark scripts (each prints one JSON line)."""

from __future__ import annotations

import json
import os
import socket
import sys
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
