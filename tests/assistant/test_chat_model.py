"""The OpenAI-compatible adapter's protocol handling, against a stub server on loopback."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from assistant.chat_model import Message, OpenAIChatModel
from assistant.errors import ModelUnavailable


class Stub(BaseHTTPRequestHandler):
    script: list[tuple[int, Any]] = []
    bodies: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        length = int(self.headers["Content-Length"])
        Stub.bodies.append(json.loads(self.rfile.read(length)))
        status, payload = Stub.script.pop(0)
        if status == 0:  # a slow server: answer after `payload` seconds
            time.sleep(payload)
            status, payload = 200, ok("late")
        data = payload.encode() if isinstance(payload, str) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = HTTPServer(("127.0.0.1", 0), Stub)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Stub.bodies.clear()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def ok(text: str) -> dict[str, Any]:
    return {"model": "smol", "choices": [{"message": {"role": "assistant", "content": text}}]}


def test_sends_schema_and_reads_the_reply(server: str) -> None:
    Stub.script = [(200, ok('{"intent": "greeting"}'))]
    reply = OpenAIChatModel(server, "smol").complete([Message("user", "hi")], {"type": "object"})
    assert reply.text == '{"intent": "greeting"}' and reply.model == "smol"
    sent = Stub.bodies[0]
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["messages"] == [{"role": "user", "content": "hi"}]


def test_retries_a_server_error_then_succeeds(server: str) -> None:
    Stub.script = [(503, "busy"), (200, ok("fine"))]
    assert OpenAIChatModel(server + "/v1", "smol", retries=1).complete([]).text == "fine"
    assert len(Stub.bodies) == 2


def test_gives_up_after_the_retries(server: str) -> None:
    Stub.script = [(500, "x"), (500, "x")]
    with pytest.raises(ModelUnavailable, match="unavailable"):
        OpenAIChatModel(server, "smol", retries=1).complete([])


def test_client_errors_and_malformed_answers_are_not_retried(server: str) -> None:
    Stub.script = [(400, "bad request")]
    with pytest.raises(ModelUnavailable, match="refused"):
        OpenAIChatModel(server, "smol", retries=3).complete([])
    assert len(Stub.bodies) == 1
    Stub.script = [(200, {"nothing": True})]
    with pytest.raises(ModelUnavailable, match="malformed"):
        OpenAIChatModel(server, "smol").complete([])


def test_a_dead_server_is_unavailable() -> None:
    with pytest.raises(ModelUnavailable):
        OpenAIChatModel("http://127.0.0.1:9", "smol", timeout=1, retries=0).complete([])


def test_a_slow_answer_times_out_once_without_a_retry(server: str) -> None:
    Stub.script = [(0, 1.5), (0, 1.5)]
    with pytest.raises(ModelUnavailable, match="timed out"):
        OpenAIChatModel(server, "smol", timeout=0.5, retries=1).complete([])
    assert len(Stub.bodies) == 1
