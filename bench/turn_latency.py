"""Turn latency of the whole assistant against the real model server: 50 fixed messages.

Ten five-turn conversations (searches, references, refinements, comparisons, questions) over
the demo catalog in embedded Chroma, with the real embedders, the trained re-ranker and
SmolLM2 under vLLM: extraction, tools, re-ranking, the model's sentence and the grounding
check, as a customer waits for them. The target is p95 <= 3 s on 2 cores.

    python bench/turn_latency.py [--llm-url URL] [--home DIR] [--adapter merged|lora|off]

Without --llm-url the script starts the model server with the LoRA adapter of `assistant/lora`
(the assistant uses the adapter whenever the server lists it), and stops it; without --home it
ingests the demo catalog into a temporary home.
"""

from __future__ import annotations

import argparse
import os
import time
import uuid

from common import add_stack_arguments, demo_stack, emit, percentile

CONVERSATIONS = [
    [
        "I need a wireless mouse under $30",
        "is the second one in stock?",
        "something cheaper",
        "compare the first two",
        "only HP",
    ],
    [
        "toner cartridge for a laser printer",
        "under $40",
        "what colour is the first one?",
        "sort by lowest price",
        "tell me more about the third one",
    ],
    [
        "laptop bag 15.6 inch",
        "in black",
        "is the first one in stock?",
        "compare the top 3",
        "something cheaper",
    ],
    [
        "hello",
        "headphones with a microphone",
        "only Sony",
        "how much is the second one?",
        "more expensive",
    ],
    [
        "usb cable 2 m",
        "between $5 and $15",
        "the third one, is it available?",
        "compare the first two",
        "what about hdmi cables",
    ],
    [
        "sd memory card 16GB",
        "under $20",
        "is the last one in stock?",
        "cheaper",
        "do you have netflix gift cards?",
    ],
    [
        "keyboard for my pc",
        "only Logitech",
        "tell me about the first one",
        "compare the first two",
        "wireless keyboard under $40",
    ],
    [
        "monitor 24 inch",
        "under $200",
        "is the second one in stock?",
        "more expensive",
        "compare the first three",
    ],
    [
        "printer paper A4",
        "cheapest first",
        "how much is the first one?",
        "photo paper",
        "is the 2nd one available?",
    ],
    [
        "portable speaker",
        "under $50",
        "what colour is the first one?",
        "compare the first two",
        "I want to talk to a human",
    ],
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    add_stack_arguments(ap)
    args = ap.parse_args()

    from ui.compose import build_assistant
    from ui.settings import Settings

    with demo_stack(args.home, args.llm_url, args.adapter) as (home, url):
        bot = build_assistant(Settings(home=home, llm_url=url))
        model = bot.extractor.model.name if bot.extractor.model else None
        bot.respond("warm-up", "warm up the caches")
        seconds: list[float] = []
        stages: dict[str, list[float]] = {"extract": [], "tools": [], "write": []}
        fallback = grounded = 0
        for conversation in CONVERSATIONS:
            session = uuid.uuid4().hex
            for message in conversation:
                started = time.perf_counter()
                result = bot.respond(session, message)
                seconds.append(time.perf_counter() - started)
                fallback += result.fallback
                for stage, took in result.timings.items():
                    stages[stage].append(took)
                grounded += result.grounded
    emit(
        {
            "bench": "turn_latency",
            "turns": len(seconds),
            "p50_s": round(percentile(seconds, 50), 3),
            "p95_s": round(percentile(seconds, 95), 3),
            "max_s": round(max(seconds), 3),
            "target_p95_s": 3.0,
            "stage_p50_s": {k: round(percentile(v, 50), 3) for k, v in stages.items() if v},
            "stage_p95_s": {k: round(percentile(v, 95), 3) for k, v in stages.items() if v},
            "grounded_turns": grounded,
            "fallback_turns": fallback,
            "model": model,
            "cpus": os.cpu_count(),
        }
    )


if __name__ == "__main__":
    main()
