"""Intent extraction on the labelled set: the parser alone, the model alone, and merged.

Reads `tests/data/intent_set.jsonl` (messages written from real queries: Home Depot search terms
and the Icecat judgment queries, plus refinements, references and service requests, labelled by
hand). The parser gets the demo catalog's brands, as the assistant does. The model is SmolLM2
under the real vLLM server (started here with the LoRA adapter of `assistant/lora` beside it,
under $SHOPASSIST_HOME or a temporary folder, unless `--llm-url` names a running one). "model"
is the base model's `IntentExtractor.propose` with few-shot prompts, "adapter" the adapter's
with its short prompts (a failed proposal counts as intent "other" with no slots);
"merged_model" and "merged_adapter" are `IntentExtractor.extract` with each. Requests are
deterministic (temperature 0) and memoised, so `extract` reuses the proposal it would ask for.

Reported for each: intent accuracy, micro slot-level precision/recall/F1 over (slot, value)
pairs with the intent excluded, query-token P/R/F1, per-slot and per-intent figures (the
scoring rules are in `assistant/evaluation.py`).

    python bench/intents.py [--no-model | --llm-url URL] [--no-adapter] [--limit N] [--errors FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from common import ROOT, emit, free_port, percentile

from assistant.chat_model import MemoChatModel, OpenAIChatModel
from assistant.errors import ModelError
from assistant.evaluation import read_intent_set, score, slot_pairs
from assistant.extract import IntentExtractor
from assistant.intent import Intent
from assistant.parser import MessageParser
from retrieval.icecat import load_demo
from ui.settings import Settings

DEFAULT_SET = ROOT / "tests" / "data" / "intent_set.jsonl"
SERVED_NAME = "shopassist-llm"


def run_model(
    extractor: IntentExtractor, texts: list[str]
) -> tuple[list[Intent], list[Intent], int, list[float]]:
    proposed, merged, failures, seconds = [], [], 0, []
    for text in texts:
        t0 = time.perf_counter()
        try:
            proposed.append(extractor.propose(text))
        except ModelError:
            failures += 1
            proposed.append(Intent())
        seconds.append(time.perf_counter() - t0)
        merged.append(extractor.extract(text).intent)
    return proposed, merged, failures, seconds


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--set", type=Path, default=DEFAULT_SET)
    ap.add_argument("--llm-url", help="a running OpenAI-compatible server (else one is started)")
    ap.add_argument("--no-model", action="store_true", help="score the parser only")
    ap.add_argument(
        "--no-adapter", action="store_true", help="serve the base model only (no assistant/lora)"
    )
    ap.add_argument("--limit", type=int, help="score the first N messages only")
    ap.add_argument("--errors", type=Path, help="write the misread messages here (JSON lines)")
    args = ap.parse_args()

    items = read_intent_set(args.set)[: args.limit]
    texts, gold = [i.message for i in items], [i.intent for i in items]
    parser = MessageParser(sorted({p.brand for p in load_demo()}))
    predictions: dict[str, list[Intent]] = {"parser": [parser.parse(t) for t in texts]}
    report: dict[str, Any] = {
        "bench": "intents",
        "messages": len(items),
        "sources": dict(Counter(i.source for i in items)),
    }

    if not args.no_model:
        from ui import llm_server

        proc: subprocess.Popen[bytes] | None = None
        with tempfile.TemporaryDirectory() as tmp:
            url = args.llm_url
            if url is None:
                home = Path(os.environ.get("SHOPASSIST_HOME", tmp))
                home.mkdir(parents=True, exist_ok=True)
                port = free_port()
                t0 = time.perf_counter()
                lora = Settings(llm_lora="off" if args.no_adapter else "auto").lora_path
                proc = llm_server.start(home, ROOT, port, lora=lora)
                report["server_start_s"] = round(time.perf_counter() - t0, 1)
                url = f"http://127.0.0.1:{port}"
            try:
                listed = llm_server.served_models(url)
                for label, name, style in (
                    ("model", SERVED_NAME, "few_shot"),
                    ("adapter", llm_server.LORA_NAME, "short"),
                ):
                    if name not in listed:
                        continue
                    model = MemoChatModel(OpenAIChatModel(url, name, timeout=60))
                    t0 = time.perf_counter()
                    proposed, merged, failures, seconds = run_model(
                        IntentExtractor(parser, model, prompt_style=style), texts
                    )
                    report[f"{label}_s"] = round(time.perf_counter() - t0, 1)
                    predictions[label], predictions[f"merged_{label}"] = proposed, merged
                    report[f"{label}_failures"] = failures
                    report[f"{label}_propose_ms_p50"] = round(percentile(seconds, 50) * 1000, 1)
                    report[f"{label}_propose_ms_p95"] = round(percentile(seconds, 95) * 1000, 1)
            finally:
                if proc is not None:
                    llm_server.stop(proc)

    for name, predicted in predictions.items():
        report[name] = score(gold, predicted).as_dict()
    if args.errors:
        write_errors(args.errors, texts, gold, predictions)
    emit(report)


def write_errors(
    path: Path, texts: list[str], gold: list[Intent], predictions: dict[str, list[Intent]]
) -> None:
    def brief(intent: Intent) -> dict[str, Any]:
        return {
            "intent": intent.intent.value,
            **intent.model_dump(mode="json", exclude_defaults=True),
        }

    def same(a: Intent, b: Intent) -> bool:
        return a.intent == b.intent and slot_pairs(a) == slot_pairs(b)

    with path.open("w", encoding="utf-8") as fh:
        for i, text in enumerate(texts):
            wrong = {k: brief(v[i]) for k, v in predictions.items() if not same(v[i], gold[i])}
            if wrong:
                fh.write(json.dumps({"message": text, "gold": brief(gold[i]), **wrong}) + "\n")


if __name__ == "__main__":
    main()
