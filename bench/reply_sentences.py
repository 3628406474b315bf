"""Grounded reply sentences: how many of the model's sentences the checkers pass unchanged.

Held-out turns: the search and refinement messages of the hand-labelled set
`tests/data/intent_set.jsonl` (kept out of the LoRA training data): each search in a new
conversation, then each search followed by a refinement of the set (four times, with
different refinements); the first 200 turns that count are scored. Many searches find
nothing the model may introduce (the catalog does not carry it); those turns do not count.

The whole assistant answers them: the demo catalog in embedded Chroma, the real embedders and
re-ranker, SmolLM2 under vLLM with the adapter of `assistant/lora` merged in (unless
--adapter says otherwise). A turn counts when the model was asked for the sentence that
introduces the products. It passes when `check_sentence` and `unusable` accept it as
written; otherwise the template sentence is shown. The turn budget is lifted here, so a slow
answer is not counted as a rejection (latency is `turn_latency.py`'s).
The target is >= 95% of 200 turns.

    python bench/reply_sentences.py [--turns 200] [--llm-url URL] [--home DIR]
                                    [--adapter merged|lora|off]
"""

from __future__ import annotations

import argparse
import json
import logging
import uuid
from collections import Counter
from pathlib import Path

from common import ROOT, add_stack_arguments, demo_stack, emit, percentile

SET = ROOT / "tests" / "data" / "intent_set.jsonl"


def held_out_turns() -> list[tuple[str | None, str]]:
    """(opening search or None, the turn's message): every search of the set, then each search
    followed by a refinement of the set, four times over (refinements i, i + 19, i + 7 and
    i + 29), so that a refinement meets different products."""
    rows = [json.loads(line) for line in SET.read_text(encoding="utf-8").splitlines() if line]
    searches = [r["message"] for r in rows if r["intent"]["intent"] == "search"]
    refines = [r["message"] for r in rows if r["intent"]["intent"] == "refine"]
    turns: list[tuple[str | None, str]] = [(None, m) for m in searches]
    for shift in (0, 19, 7, 29):
        turns += [(m, refines[(i + shift) % len(refines)]) for i, m in enumerate(searches)]
    return turns


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--turns", type=int, default=200, help="Turns with a model sentence to score.")
    add_stack_arguments(ap)
    ap.add_argument("--temperature", type=float, default=0.0)
    ap.add_argument("--samples", type=Path, help="Write every scored sentence here (JSON lines).")
    args = ap.parse_args()

    from ui.compose import build_assistant
    from ui.settings import Settings

    scored: list[dict[str, object]] = []
    reasons: Counter[str] = Counter()
    seconds: list[float] = []
    with demo_stack(args.home, args.llm_url, args.adapter) as (home, url):
        settings = Settings(
            home=home,
            llm_url=url,
            llm_turn_budget=120,
            llm_timeout=60,
            llm_temperature=args.temperature,
            store=False,
        )
        bot = build_assistant(settings)
        model = bot.writer.name if bot.writer else None
        rejected: list[str] = []  # the model's sentences the checkers turned down, as logged

        class Keep(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                if record.msg.startswith("model sentence rejected"):
                    rejected.append(str(record.args[0]) if record.args else "")

        turn_log = logging.getLogger("assistant.turn")
        turn_log.addHandler(Keep())
        turn_log.setLevel(logging.INFO)
        for opening, message in held_out_turns():
            if len(scored) >= args.turns:
                break
            session = uuid.uuid4().hex
            if opening is not None:
                bot.respond(session, opening)
            rejected.clear()
            result = bot.respond(session, message)
            if "write" not in result.timings:
                continue  # no product list to introduce (nothing found, a question, ...)
            seconds.append(result.timings["write"])
            if not result.wrote:
                reasons.update(v.split(":")[0] for v in result.violations or [result.fault or ""])
            scored.append(
                {
                    "message": message,
                    "passed": result.wrote,
                    "reply": result.reply.split("\n")[0],
                    "rejected": None if result.wrote else (rejected or [None])[-1],
                    "violations": result.violations,
                    "fault": result.fault,
                }
            )
    if args.samples:
        args.samples.write_text("".join(json.dumps(s) + "\n" for s in scored), "utf-8")
    passed = sum(bool(s["passed"]) for s in scored)
    emit(
        {
            "bench": "reply_sentences",
            "model": model,
            "temperature": args.temperature,
            "turns": len(scored),
            "passed": passed,
            "pass_rate": round(passed / max(len(scored), 1), 3),
            "target": 0.95,
            "rejections": dict(reasons.most_common()),
            "write_p50_s": round(percentile(seconds, 50), 3),
            "write_p95_s": round(percentile(seconds, 95), 3),
        }
    )


if __name__ == "__main__":
    main()
