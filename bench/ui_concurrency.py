"""Concurrent customers through the web app: 16 simulated customers, each its own gradio_client
session, send five-turn conversations to the `chat` endpoint for N seconds.

Reports turns per second, p50/p95/max turn latency (as the client waits for the full streamed
reply) and errors (target 0), as one JSON line.

    python bench/ui_concurrency.py [--seconds 120] [--users 16] [--fake] [--url URL]

By default the app is built on the configured stack (`Settings`: the catalog under
SHOPASSIST_HOME, which must hold the demo catalog - `shopassist catalog ingest --demo`; the model
server if one answers, template replies otherwise). --fake uses the in-memory catalog (the
demo products with hash embeddings), the word-overlap re-ranker and no model: a quick check of
the app and its queue. --url measures an app that is already running.
"""

from __future__ import annotations

import argparse
import os
import threading
import time
from typing import Any

from common import emit, free_port, percentile

CONVERSATION = [
    "I need a wireless mouse under $30",
    "is the second one in stock?",
    "something cheaper",
    "bluetooth speaker",
    "compare the first two",
]


def fake_assistant(home: str) -> Any:
    """The assistant on the fakes over the demo catalog."""
    from assistant.extract import IntentExtractor
    from assistant.parser import MessageParser
    from assistant.search import ProductSearch
    from assistant.state import SessionStore
    from assistant.tools import CatalogTools
    from assistant.turn import Assistant
    from ranking.base import OverlapReranker
    from retrieval.icecat import load_demo
    from retrieval.memory import InMemoryIndex

    index = InMemoryIndex()
    index.upsert(load_demo())
    search = ProductSearch(index, OverlapReranker())
    return Assistant(
        tools=CatalogTools(search),
        extractor=IntentExtractor(MessageParser(index.brands()), None),
        store=SessionStore(os.path.join(home, "conversations.sqlite3")),
    )


def real_assistant() -> Any:
    """The assistant on the configured stack (the catalog must be ingested)."""
    from ui.compose import build_assistant
    from ui.settings import Settings

    settings = Settings()
    assistant = build_assistant(settings)
    if assistant.index.count() == 0:
        raise SystemExit(
            f"the catalog under {settings.home} is empty - run `shopassist catalog ingest --demo`"
        )
    return assistant


def customer(url: str, deadline: float, latencies: list[float], errors: list[str]) -> None:
    """One simulated customer: its own session, the conversation over and over."""
    from gradio_client import Client

    client = Client(url, verbose=False)
    turn = 0
    while time.monotonic() < deadline:
        began = time.perf_counter()
        try:
            client.predict(CONVERSATION[turn % len(CONVERSATION)], api_name="/chat")
        except Exception as exc:  # every failure counts; the first few are printed
            errors.append(f"{type(exc).__name__}: {exc}")
        else:
            latencies.append(time.perf_counter() - began)
        turn += 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--users", type=int, default=16)
    parser.add_argument("--fake", action="store_true", help="The in-memory stack, no model.")
    parser.add_argument("--url", help="An app that is already running.")
    args = parser.parse_args()

    app = None
    url = args.url
    if url is None:
        import tempfile

        from ui.app import build_app, launch

        home = tempfile.mkdtemp(prefix="shopassist-ui-bench-")
        assistant = fake_assistant(home) if args.fake else real_assistant()
        app = build_app(assistant)
        url = launch(app, free_port())
    latencies: list[float] = []
    errors: list[str] = []
    began = time.monotonic()
    deadline = began + args.seconds
    users = [
        threading.Thread(target=customer, args=(url, deadline, latencies, errors), daemon=True)
        for _ in range(args.users)
    ]
    for user in users:
        user.start()
    for user in users:
        user.join()
    elapsed = time.monotonic() - began
    if app is not None:
        app.close()
    for message in errors[:3]:
        print(message, flush=True)
    emit(
        {
            "bench": "ui_concurrency",
            "stack": "external" if args.url else ("fake" if args.fake else "real"),
            "users": args.users,
            "seconds": round(elapsed, 1),
            "turns": len(latencies),
            "turns_per_s": round(len(latencies) / elapsed, 2),
            "p50_s": round(percentile(latencies, 50), 3),
            "p95_s": round(percentile(latencies, 95), 3),
            "max_s": round(max(latencies, default=float("nan")), 3),
            "errors": len(errors),
        }
    )


if __name__ == "__main__":
    main()
