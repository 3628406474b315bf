"""Fixtures of the assistant tests that need the real model server or the real catalog."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port
from ui import llm_server
from ui.compose import build_index
from ui.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def llm_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the converted (and merged) models are kept: SHOPASSIST_TEST_LLM_HOME or a
    temporary folder."""
    home = Path(os.environ.get("SHOPASSIST_TEST_LLM_HOME", tmp_path_factory.mktemp("llm-home")))
    home.mkdir(parents=True, exist_ok=True)
    return home


@pytest.fixture(scope="session")
def llm_url(llm_home: Path) -> Iterator[str]:
    """The real vLLM server: SmolLM2 with the bundled LoRA adapter beside it (`lora` mode)."""
    port = free_port()
    lora = Settings().lora_path
    proc: subprocess.Popen[bytes] = llm_server.start(llm_home, ROOT, port, lora=lora)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        llm_server.stop(proc)


@pytest.fixture(scope="session")
def demo_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home holding the demo catalog in embedded Chroma, embedded by the real MiniLM."""
    home = tmp_path_factory.mktemp("demo-home")
    settings = Settings(home=home)
    index = build_index(settings)
    from retrieval.icecat import load_demo

    index.ingest(load_demo())
    return home
