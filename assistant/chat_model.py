"""`ChatModel`: one method, `complete(messages, ...) -> Reply`, and its implementations.

- `OpenAIChatModel` talks to any OpenAI-compatible server (vLLM by default) with timeouts and
  bounded retries; `response_format` carries a JSON schema for constrained decoding.
- `FunctionChatModel` is the in-package fake: a function of the messages, for unit tests.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.errors import ModelUnavailable

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Message:
    """One chat message."""

    role: str
    content: str


@dataclass
class Reply:
    """What the model said, with timing for the logs."""

    text: str
    model: str = ""
    seconds: float = 0.0
    raw: dict[str, Any] = field(default_factory=dict)


class ChatModel:
    """A chat model. Subclasses implement `complete`."""

    name: str = "chat-model"

    def complete(
        self,
        messages: Sequence[Message],
        json_schema: dict[str, Any] | None = None,
        max_tokens: int = 256,
        temperature: float = 0.0,
        timeout: float | None = None,
    ) -> Reply:
        """The model's reply; with `json_schema`, constrained to JSON matching it. `timeout`
        (seconds) overrides the model's own per-attempt timeout for this call.

        Raises:
            ModelUnavailable: The model cannot be reached or answered badly.
        """
        raise NotImplementedError


class FunctionChatModel(ChatModel):
    """The fake: `fn(messages, json_schema) -> str` decides the reply (or raises)."""

    name = "function"

    def __init__(self, fn: Callable[[Sequence[Message], dict[str, Any] | None], str]) -> None:
        self.fn = fn
        self.calls: list[list[Message]] = []

    def complete(
        self,
        messages: Sequence[Message],
        json_schema: dict[str, Any] | None = None,
        max_tokens: int = 256,
        temperature: float = 0.0,
        timeout: float | None = None,
    ) -> Reply:
        self.calls.append(list(messages))
        return Reply(text=self.fn(messages, json_schema), model=self.name)


class OpenAIChatModel(ChatModel):
    """An OpenAI-compatible `/v1/chat/completions` endpoint.

    Args:
        base_url: The server, e.g. http://127.0.0.1:8100 (with or without /v1).
        model: The served model name.
        timeout: Seconds per attempt.
        retries: Further attempts after a refused connection or a 5xx answer (a slow answer is
            not asked again: that would double the wait).
        api_key: Sent as a bearer token when given.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        timeout: float = 10.0,
        retries: int = 1,
        api_key: str | None = None,
    ) -> None:
        import httpx

        root = base_url.rstrip("/")
        self.url = (root if root.endswith("/v1") else root + "/v1") + "/chat/completions"
        self.model, self.retries, self.name = model, retries, f"openai:{model}"
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=timeout, headers=headers)
        self._timeout = timeout
        self._httpx = httpx

    def complete(
        self,
        messages: Sequence[Message],
        json_schema: dict[str, Any] | None = None,
        max_tokens: int = 256,
        temperature: float = 0.0,
        timeout: float | None = None,
    ) -> Reply:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in messages],
            "max_tokens": max_tokens,
            "temperature": temperature,
        }
        if json_schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "output", "schema": json_schema},
            }
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            started = time.perf_counter()
            try:
                resp = self._client.post(
                    self.url, json=body, timeout=self._timeout if timeout is None else timeout
                )
            except self._httpx.ReadTimeout as exc:  # slow: asking again would double the wait
                raise ModelUnavailable(f"the model at {self.url} timed out: {exc}") from exc
            except self._httpx.TransportError as exc:  # down or refused: retry
                last = exc
                log.warning("model call failed (attempt %d): %s", attempt + 1, exc)
                continue
            if resp.status_code >= 500:  # overloaded or crashed: retry
                last = ModelUnavailable(f"{self.url} answered {resp.status_code}")
                log.warning("model call failed (attempt %d): %s", attempt + 1, last)
                continue
            if resp.status_code >= 400:  # our request is wrong: retrying cannot help
                raise ModelUnavailable(
                    f"{self.url} refused the request ({resp.status_code}): {resp.text[:200]}"
                )
            try:
                data = resp.json()
                text = data["choices"][0]["message"]["content"] or ""
            except (ValueError, KeyError, IndexError, TypeError) as exc:
                raise ModelUnavailable(f"{self.url} sent a malformed answer: {exc}") from exc
            return Reply(text, data.get("model", self.model), time.perf_counter() - started, data)
        raise ModelUnavailable(f"the model at {self.url} is unavailable: {last}") from last


class MemoChatModel(ChatModel):
    """Answers a repeated request from memory (for evaluations: requests at temperature 0 are
    deterministic, so asking again would only cost time). A failed request is not kept."""

    def __init__(self, inner: ChatModel) -> None:
        self.inner, self.name = inner, inner.name
        self._memo: dict[tuple[Any, ...], Reply] = {}

    def complete(
        self,
        messages: Sequence[Message],
        json_schema: dict[str, Any] | None = None,
        max_tokens: int = 256,
        temperature: float = 0.0,
        timeout: float | None = None,
    ) -> Reply:
        key = (tuple(messages), json.dumps(json_schema, sort_keys=True), max_tokens, temperature)
        if key not in self._memo:
            self._memo[key] = self.inner.complete(
                messages, json_schema, max_tokens, temperature, timeout
            )
        return self._memo[key]
