"""`shopassist eval intents` and the choice of the served model, against a stub server that
serves a base model and an adapter the way vLLM lists them."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from ui.cli import app
from ui.compose import choose_model
from ui.settings import Settings

ROWS = [
    {"text": "Sony headphones under $80", "intent": "search", "brands": ["Sony"], "price_max": 80},
    {"text": "is the second one in stock?", "intent": "product_question", "ref": 2},
    {"text": "where is my order 1043?", "intent": "order_status", "order_id": "1043"},
    {"text": "I want to talk to a person", "intent": "handoff"},
]


class Stub(BaseHTTPRequestHandler):
    """Lists `models`; the adapter answers every message as a search for Sony, the base model
    answers "other"."""

    models: list[str] = []
    asked: list[dict[str, Any]] = []

    def _send(self, payload: Any) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._send({"object": "list", "data": [{"id": m} for m in Stub.models]})

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Stub.asked.append(body)
        answer = (
            '{"intent":"search","brands":["Sony"]}'
            if body["model"] == "shopassist-lora"
            else '{"intent":"other"}'
        )
        self._send({"model": body["model"], "choices": [{"message": {"content": answer}}]})

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = HTTPServer(("127.0.0.1", 0), Stub)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    Stub.models, Stub.asked = ["shopassist-llm", "shopassist-lora"], []
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture
def labelled(tmp_path: Path) -> Path:
    path = tmp_path / "set.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    return path


def json_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def test_every_row_with_base_model_and_adapter(
    cli: CliRunner, server: str, labelled: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPASSIST_LLM_URL", server)
    res = cli.invoke(app, ["eval", "intents", "--file", str(labelled), "--json"])
    assert res.exit_code == 0, res.output
    rows = json_lines(res.stdout)
    assert [(r["source"], r.get("model")) for r in rows] == [
        ("parser", None),
        ("model", "shopassist-llm"),
        ("model", "shopassist-lora"),
        ("merged", "shopassist-lora"),
    ]
    assert rows[-1].keys() >= {"n", "intent_accuracy", "slot_f1", "source"}
    assert rows[0]["intent_accuracy"] == 1.0 and rows[0]["slot_f1"] == 1.0
    assert rows[1]["intent_accuracy"] == 0.0  # the base stub answers "other" to everything
    assert rows[2]["intent_accuracy"] == 0.25  # the adapter stub reads everything as a search
    # each model is asked once per message; the adapter with its one-line prompt
    assert len(Stub.asked) == 2 * len(ROWS)
    lora = [b for b in Stub.asked if b["model"] == "shopassist-lora"]
    assert [m["role"] for m in lora[0]["messages"]] == ["system", "user"]
    assert rows[3]["intent_accuracy"] == 1.0  # the parser's reading wins where it is sure


def test_one_source(cli: CliRunner, server: str, labelled: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SHOPASSIST_LLM_URL", server)
    res = cli.invoke(app, ["eval", "intents", "--file", str(labelled), "--source", "model"])
    assert res.exit_code == 0, res.output
    assert "shopassist-lora" in res.stdout and "shopassist-llm " not in res.stdout
    res = cli.invoke(
        app,
        ["eval", "intents", "--file", str(labelled), "--source", "model", "--model",
         "shopassist-llm", "--json", "--limit", "2"],
    )  # fmt: skip
    assert json_lines(res.stdout)[-1] == {
        "n": 2,
        "intent_accuracy": 0.0,
        "slot_f1": 0.0,
        "source": "model",
        "model": "shopassist-llm",
    }


def test_mistakes_are_written_per_source(
    cli: CliRunner, server: str, labelled: Path, tmp_path: Path, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SHOPASSIST_LLM_URL", server)
    out = tmp_path / "mistakes.jsonl"
    res = cli.invoke(
        app,
        ["eval", "intents", "--file", str(labelled), "--source", "model", "--mistakes", str(out)],
    )
    assert res.exit_code == 0, res.output
    wrong = [json.loads(line) for line in out.read_text().splitlines()]
    # the stub adapter reads every message as a search for Sony, with no price
    assert [m["text"] for m in wrong] == [r["text"] for r in ROWS]
    assert wrong[0]["missed"] == ["price_max=80"] and wrong[0]["extra"] == []
    assert wrong[1] == {
        "source": "model",
        "model": "shopassist-lora",
        "text": "is the second one in stock?",
        "intent": "product_question",
        "predicted_intent": "search",
        "missed": ["ref=2"],
        "extra": ["brands=sony"],
    }


def test_the_parser_needs_no_server(cli: CliRunner, labelled: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("SHOPASSIST_LLM_URL", "http://127.0.0.1:9")
    res = cli.invoke(app, ["eval", "intents", "--file", str(labelled), "--source", "parser"])
    assert res.exit_code == 0, res.output
    res = cli.invoke(app, ["eval", "intents", "--file", str(labelled), "--source", "model"])
    assert res.exit_code == 2 and "no model server answers" in res.output


def test_bad_input_is_a_clear_error(
    cli: CliRunner, server: str, labelled: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPASSIST_LLM_URL", server)
    res = cli.invoke(app, ["eval", "intents", "--file", str(labelled), "--source", "llm"])
    assert res.exit_code == 1 and "parser, model, merged" in res.output
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "hi", "intent": "greeting"}\n{"text": "x"\n', encoding="utf-8")
    res = cli.invoke(app, ["eval", "intents", "--file", str(bad)])
    assert res.exit_code == 1 and "bad.jsonl line 2" in res.output
    res = cli.invoke(app, ["eval", "intents", "--file", str(labelled), "--model", "gpt-9"])
    assert res.exit_code == 2 and "does not serve 'gpt-9'" in res.output


def test_the_assistant_asks_the_adapter_when_it_is_served(server: str, tmp_path: Path) -> None:
    model, style = choose_model(Settings(home=tmp_path, llm_url=server))
    assert model.model == "shopassist-lora" and style == "short"
    Stub.models = ["shopassist-llm"]
    model, style = choose_model(Settings(home=tmp_path, llm_url=server))
    assert model.model == "shopassist-llm" and style == "few_shot"


def test_no_server_yet(tmp_path: Path) -> None:
    # the local server will be started with the bundled adapter: ask it
    local = Settings(home=tmp_path, llm_port=9, llm_lora="auto")
    assert choose_model(local)[1] == ("short" if local.lora_path else "few_shot")
    # a remote server that does not answer: nothing says it serves an adapter
    remote = Settings(home=tmp_path, llm_url="http://127.0.0.1:9")
    assert choose_model(remote)[1] == "few_shot"
    assert choose_model(Settings(home=tmp_path, llm_port=9, llm_lora="off"))[1] == "few_shot"


def test_lora_setting(tmp_path: Path) -> None:
    assert Settings(llm_lora="off").lora_path is None
    assert Settings(llm_lora="auto", llm_model="some/other-model").lora_path is None
    with pytest.raises(ValueError, match="no adapter_config.json"):
        _ = Settings(llm_lora=str(tmp_path)).lora_path
    (tmp_path / "adapter_config.json").write_text("{}", encoding="utf-8")
    assert Settings(llm_lora=str(tmp_path)).lora_path == tmp_path


def test_the_server_command_serves_the_adapter(tmp_path: Path) -> None:
    from ui.llm_server import LORA_NAME, lora_rank, server_command

    (tmp_path / "adapter_config.json").write_text('{"r": 12}', encoding="utf-8")
    assert lora_rank(tmp_path) == 16 and lora_rank(None) == 16
    cmd = server_command(Path("python"), "model", 8100, "shopassist-llm", lora=tmp_path,
                         max_lora_rank=lora_rank(tmp_path))  # fmt: skip
    assert cmd[cmd.index("--lora-modules") + 1] == f"{LORA_NAME}={tmp_path}"
    assert "--enable-lora" in cmd and cmd[cmd.index("--max-lora-rank") + 1] == "16"
