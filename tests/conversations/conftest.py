"""The assistant the conversation scripts run against: the demo catalog and the real model.

The demo catalog is ingested into a temporary home with the real MiniLM embedders, and the real
vLLM server (SmolLM2) is started once for the session; SHOPASSIST_TEST_LLM_HOME keeps the
converted model between runs. The limits are generous so that a slow machine does not turn
turns into template replies; sampling is greedy (pass^k at a higher temperature is measured by
`shopassist converse --repeat K`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from assistant.converse import Responder
from tests.conftest import free_port
from ui import llm_server
from ui.compose import build_assistant, build_index
from ui.settings import Settings


def _temporary(config: pytest.Config, prefix: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix=prefix))
    config.add_cleanup(lambda: shutil.rmtree(path, ignore_errors=True))
    return path


@pytest.hookimpl
def pytest_converse_assistant(config: pytest.Config) -> Responder:
    """The demo catalog in embedded Chroma and a model server started for this session."""
    from retrieval.icecat import load_demo

    cached = os.environ.get("SHOPASSIST_TEST_LLM_HOME")
    llm_home = Path(cached) if cached else _temporary(config, "shopassist-llm-")
    llm_home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    # as `make run` serves it: the adapter merged into SmolLM2 (the merged model is cached)
    proc = llm_server.start_configured(Settings(home=llm_home), port)
    config.add_cleanup(lambda: llm_server.stop(proc))

    home = _temporary(config, "shopassist-conversations-")
    build_index(Settings(home=home)).ingest(load_demo())
    settings = Settings(
        home=home,
        llm_url=f"http://127.0.0.1:{port}",
        llm_timeout=60,
        llm_turn_budget=120,
        llm_temperature=0.0,
    )
    return build_assistant(settings)
