"""Against the real vLLM server running SmolLM2-135M-Instruct (started once per session)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from assistant.chat_model import Message, OpenAIChatModel
from assistant.errors import ModelUnavailable
from assistant.extract import IntentExtractor
from assistant.intent import IntentName
from assistant.parser import MessageParser
from tests.conftest import free_port
from ui import llm_server

pytestmark = pytest.mark.llm
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def llm_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = Path(os.environ.get("SHOPASSIST_TEST_LLM_HOME", tmp_path_factory.mktemp("llm-home")))
    home.mkdir(parents=True, exist_ok=True)
    port = free_port()
    proc: subprocess.Popen[bytes] = llm_server.start(home, ROOT, port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        llm_server.stop(proc)


@pytest.fixture
def extractor(llm_url: str) -> IntentExtractor:
    model = OpenAIChatModel(llm_url, "shopassist-llm", timeout=60)
    return IntentExtractor(MessageParser(["Sony", "JBL", "Logitech"], ["bluetooth speaker"]), model)


def test_constrained_output_is_valid_json_of_the_schema(extractor: IntentExtractor) -> None:
    proposal = extractor.propose("Sony headphones under $80")
    assert proposal.intent in set(IntentName)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("waterproof bluetooth speaker under $50", IntentName.SEARCH),
        ("I want to return my order 2231", IntentName.RETURN_REQUEST),
        ("hello", IntentName.GREETING),
    ],
)
def test_merged_extraction_keeps_the_facts(
    extractor: IntentExtractor, text: str, intent: IntentName
) -> None:
    got = extractor.extract(text)
    assert got.source == "merged", got.fault
    assert got.intent.intent is intent
    if "$50" in text:
        assert got.intent.price_max == Decimal("50")
    if "2231" in text:
        assert got.intent.order_id == "2231"


def test_killed_server_falls_back_to_the_parser(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    cached = Path(os.environ.get("SHOPASSIST_TEST_LLM_HOME", "")) / llm_server.DEFAULT_MODEL_DIR
    port = free_port()
    proc = llm_server.start(home, ROOT, port, str(cached) if cached.exists() else None)
    model = OpenAIChatModel(f"http://127.0.0.1:{port}", "shopassist-llm", timeout=60, retries=0)
    extractor = IntentExtractor(MessageParser(["Sony"]), model)
    assert extractor.extract("sony speaker under $30").source == "merged"
    llm_server.stop(proc)
    got = extractor.extract("sony speaker under $30")
    assert got.source == "parser" and got.intent.price_max == Decimal("30")
    assert got.intent.brands == ["Sony"]
    with pytest.raises(ModelUnavailable):
        model.complete([Message("user", "hi")])
