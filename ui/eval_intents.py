"""`shopassist eval intents`: intent accuracy and slot P/R/F1 of the parser, the model and both.

Rows: `parser` (the deterministic floor), `model` (the served model alone: the base model with
few-shot prompts, and the LoRA adapter with its short prompts when the server lists it) and
`merged` (parser + the best served model, as the assistant runs). Model requests are greedy
(temperature 0); a proposal that fails or does not validate counts as intent "other" with no
slots. Slots are scored as `assistant.evaluation.flat_score` does (brands, prices, first
reference, order id).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from assistant.errors import AssistantOperatorError

SOURCES = ("parser", "model", "merged")


@dataclass
class Row:
    """One scored extractor."""

    source: str
    model: str | None
    n: int
    intent_accuracy: float
    slot_precision: float
    slot_recall: float
    slot_f1: float
    p50_ms: float | None = None
    p95_ms: float | None = None
    failures: int = 0

    def summary(self) -> dict[str, Any]:
        """The JSON line: the four figures the issue names, and the model asked."""
        out: dict[str, Any] = {
            "n": self.n,
            "intent_accuracy": round(self.intent_accuracy, 3),
            "slot_f1": round(self.slot_f1, 3),
            "source": self.source,
        }
        if self.model is not None:
            out["model"] = self.model
        return out


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def evaluate(
    items: list[Any],
    parser: Any,
    models: dict[str, tuple[Any, str]],
    sources: tuple[str, ...],
    merge_with: str | None,
    progress: bool = True,
    mistakes: list[dict[str, Any]] | None = None,
) -> list[Row]:
    """Score the asked sources. `models` maps a served name to (client, prompt style); the
    `merged` row is `IntentExtractor.extract` with `merge_with`, as the assistant runs (it
    reuses the proposals already asked for). Each message a source gets wrong (intent or any
    slot) is appended to `mistakes`, when given."""
    from assistant.chat_model import MemoChatModel
    from assistant.errors import ModelError
    from assistant.evaluation import flat_pairs, flat_score
    from assistant.extract import IntentExtractor
    from assistant.intent import Intent

    texts, gold = [i.message for i in items], [i.intent for i in items]
    parsed = [parser.parse(t) for t in texts]
    rows: list[Row] = []

    def row(source: str, model: str | None, predicted: list[Intent], **extra: Any) -> Row:
        if mistakes is not None:
            for text, g, p in zip(texts, gold, predicted, strict=True):
                want, got = flat_pairs(g), flat_pairs(p)
                if g.intent != p.intent or want != got:
                    mistakes.append(
                        {
                            "source": source,
                            "model": model,
                            "text": text,
                            "intent": g.intent.value,
                            "predicted_intent": p.intent.value,
                            "missed": sorted(f"{k}={v}" for k, v in want - got),
                            "extra": sorted(f"{k}={v}" for k, v in got - want),
                        }
                    )
        s = flat_score(gold, predicted)
        c = s.slots
        return Row(source, model, s.n, s.intent_accuracy, c.precision, c.recall, c.f1, **extra)

    if "parser" in sources:
        rows.append(row("parser", None, parsed))
    extractors = {
        name: IntentExtractor(parser, MemoChatModel(client), prompt_style=style)
        for name, (client, style) in models.items()
    }
    if "model" in sources:
        for name, extractor in extractors.items():
            got: list[Intent | None] = []
            seconds: list[float] = []
            for i, text in enumerate(texts, 1):
                t0 = time.perf_counter()
                try:
                    got.append(extractor.propose(text))
                except ModelError:
                    got.append(None)
                seconds.append(time.perf_counter() - t0)
                if progress and (i % 25 == 0 or i == len(texts)):
                    typer.echo(f"  {name}: {i}/{len(texts)}", err=True)
            rows.append(
                row(
                    "model",
                    name,
                    [g or Intent() for g in got],
                    p50_ms=round(_percentile(seconds, 50) * 1000, 1),
                    p95_ms=round(_percentile(seconds, 95) * 1000, 1),
                    failures=sum(g is None for g in got),
                )
            )
    if "merged" in sources:
        merger = extractors[merge_with] if merge_with else IntentExtractor(parser, None)
        rows.append(row("merged", merge_with, [merger.extract(t).intent for t in texts]))
    return rows


def table(rows: list[Row]) -> list[str]:
    """The rows as text."""
    lines = [
        f"{'source':<8} {'model':<16} {'n':>4} {'intent':>7} {'slot P':>7} {'slot R':>7} "
        f"{'slot F1':>7} {'p50 ms':>7} {'p95 ms':>7} {'failed':>6}"
    ]
    for r in rows:
        p50 = "" if r.p50_ms is None else f"{r.p50_ms:.0f}"
        p95 = "" if r.p95_ms is None else f"{r.p95_ms:.0f}"
        lines.append(
            f"{r.source:<8} {(r.model or '-'):<16} {r.n:>4} {r.intent_accuracy:>7.3f} "
            f"{r.slot_precision:>7.3f} {r.slot_recall:>7.3f} {r.slot_f1:>7.3f} "
            f"{p50:>7} {p95:>7} {r.failures:>6}"
        )
    return lines


def register(eval_app: typer.Typer) -> None:
    """Add `intents` to the `eval` sub-app."""

    @eval_app.command("intents")
    def eval_intents(
        file: Annotated[Path, typer.Option("--file", help="JSON lines of labelled messages.")],
        source: Annotated[
            str | None,
            typer.Option(help="parser, model or merged (default: every row)."),
        ] = None,
        model: Annotated[
            str | None,
            typer.Option(
                help="The served model to ask (default: base and adapter for `model` rows, "
                "the adapter when served for `merged`)."
            ),
        ] = None,
        serve_model: Annotated[
            bool,
            typer.Option(
                "--serve-model",
                help="Start the local model server (base model + adapter) unless one answers.",
            ),
        ] = False,
        limit: Annotated[
            int | None, typer.Option(min=1, help="Score the first N messages only.")
        ] = None,
        as_json: Annotated[
            bool, typer.Option("--json", help="Print JSON (the summary on the last line).")
        ] = False,
        mistakes_file: Annotated[
            Path | None,
            typer.Option(
                "--mistakes", help="Write each message a source got wrong here (JSON lines)."
            ),
        ] = None,
    ) -> None:
        """Intent accuracy and slot P/R/F1 on labelled messages: parser, model, merged."""
        from assistant.chat_model import OpenAIChatModel
        from assistant.evaluation import read_labelled
        from assistant.parser import MessageParser
        from retrieval.icecat import load_demo
        from ui import llm_server
        from ui.settings import Settings

        if source is not None and source not in SOURCES:
            typer.echo(f"error: --source must be one of {', '.join(SOURCES)}", err=True)
            raise typer.Exit(1)
        try:
            items = read_labelled(file)[:limit]
        except (OSError, ValueError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        sources = SOURCES if source is None else (source,)
        settings = Settings()
        parser = MessageParser(sorted({p.brand for p in load_demo()}))
        proc = None
        try:
            models: dict[str, tuple[Any, str]] = {}
            merge_with: str | None = None
            if sources != ("parser",):
                if serve_model and not llm_server.answers(settings.model_url):
                    typer.echo("starting the model server...", err=True)
                    proc = llm_server.start_configured(settings, lora_mode="lora")
                listed = llm_server.served_models(settings.model_url, settings.llm_api_key)
                if not listed:
                    raise AssistantOperatorError(
                        f"no model server answers at {settings.model_url}: start one with "
                        "`shopassist llm serve`, or pass --serve-model"
                    )
                if model and model not in listed:
                    raise AssistantOperatorError(
                        f"the server does not serve {model!r} (it serves {', '.join(listed)})"
                    )
                names = [model] if model else [settings.llm_served_name, llm_server.LORA_NAME]
                names = [n for n in names if n in listed]
                for name in names:
                    style = "short" if name == llm_server.LORA_NAME else "few_shot"
                    client = OpenAIChatModel(
                        settings.model_url, name, timeout=60, api_key=settings.llm_api_key
                    )
                    models[name] = (client, style)
                merge_with = names[-1] if names else None
                if source == "model" and model is None and llm_server.LORA_NAME in models:
                    models = {llm_server.LORA_NAME: models[llm_server.LORA_NAME]}
            mistakes: list[dict[str, Any]] = []
            rows = evaluate(items, parser, models, sources, merge_with, mistakes=mistakes)
        except AssistantOperatorError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        finally:
            if proc is not None:
                llm_server.stop(proc)
        if mistakes_file is not None:
            mistakes_file.write_text(
                "".join(json.dumps(m) + "\n" for m in mistakes), encoding="utf-8"
            )
        for line in table(rows):
            typer.echo(line)
        if as_json:
            for r in rows:
                typer.echo(json.dumps(r.summary()))
