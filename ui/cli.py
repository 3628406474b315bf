"""`shopassist`: the command line, a composition root like the app."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError

from assistant.errors import AssistantError, AssistantOperatorError
from ranking.errors import RankingError, RankingInputError
from retrieval.errors import CatalogError, CatalogInputError
from retrieval.search import Hit, SearchFilters
from ui.settings import Settings, settings_problems

app = typer.Typer(no_args_is_help=True, help="A grounded conversational shopping assistant.")
catalog_app = typer.Typer(no_args_is_help=True, help="Ingest, update and inspect the catalog.")
eval_app = typer.Typer(no_args_is_help=True, help="Measure ranking quality.")
app.add_typer(catalog_app, name="catalog")
app.add_typer(eval_app, name="eval")


def _register_training() -> None:
    from ui.train_cli import eval_pairs, train_app

    app.add_typer(train_app, name="train")
    from ui.train_llm import register as register_train_llm

    register_train_llm(train_app)
    from ui.train_student import register as register_train_student

    register_train_student(train_app)

    @eval_app.command("pairs")
    def _eval_pairs(
        file: Annotated[Path, typer.Option("--file", help="CSV with query,text,label.")],
        as_json: JsonOpt = False,
    ) -> None:
        """nDCG@10 of the re-ranker on graded pairs, beside the un-tuned MiniLM cosine."""
        eval_pairs(file, as_json)


_register_training()


def _register_eval_intents() -> None:
    from ui.eval_intents import register

    register(eval_app)


_register_eval_intents()


def _register_store() -> None:
    from ui.store_cli import register

    register(app)


_register_store()


def _register_converse() -> None:
    from ui.converse_cli import register

    register(app)


_register_converse()


def _register_serve() -> None:
    from ui.serve_cli import register

    register(app)


_register_serve()

T = TypeVar("T")
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON (the summary on the last line).")]


@contextmanager
def _errors() -> Iterator[None]:
    """Turn known errors into a one-line message and exit status 2 (1 for bad input)."""
    try:
        yield
    except (CatalogInputError, RankingInputError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except (CatalogError, RankingError, AssistantOperatorError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except AssistantError as exc:  # the request is wrong (e.g. another customer's session)
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None


def _settings() -> Settings:
    return Settings()


def _index(settings: Settings | None = None) -> Any:
    from ui.compose import build_index

    return build_index(settings or _settings())


def _search(rerank: bool) -> Any:
    from ui.compose import build_search

    return build_search(_settings(), rerank=rerank)


NoRerank = Annotated[
    bool, typer.Option("--no-rerank", help="Hybrid retrieval only, without the re-ranker.")
]


def _emit(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, default=str))


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Configuration comes from SHOPASSIST_* variables; see the README."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr)
    try:
        Settings()
    except ValidationError as exc:
        typer.echo(f"error: bad configuration\n{settings_problems(exc)}", err=True)
        raise typer.Exit(2) from None


# ---- catalog -------------------------------------------------------------------------------------


@catalog_app.command("ingest")
def catalog_ingest(
    icecat: Annotated[
        Path | None, typer.Option(help="Folder with Icecat 1..4.json.zip (default from settings).")
    ] = None,
    demo: Annotated[bool, typer.Option("--demo", help="Ingest the vendored demo subset.")] = False,
    limit: Annotated[int | None, typer.Option(min=1, help="Ingest only the first N.")] = None,
    reset: Annotated[bool, typer.Option("--reset", help="Drop the catalog first.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Index a catalog: all of Icecat, or the vendored demo subset."""
    from tqdm import tqdm

    from retrieval.icecat import load_demo, load_icecat
    from retrieval.onnx_build import fused_int8_path

    settings = _settings()
    with _errors():
        if demo and icecat is not None:
            raise typer.BadParameter("give --icecat DIR or --demo, not both")
        products = load_demo(limit) if demo else load_icecat(icecat or settings.icecat_dir, limit)
        index = _index(settings)
        if reset:
            index.reset()
        if settings.embedder == "onnx-fused" and not fused_int8_path(settings.models_dir).exists():
            typer.echo("Building the embedder model once for this home (about 15 s) ...", err=True)
        with tqdm(total=len(products), unit="product", desc="ingest", file=sys.stderr) as bar:
            report = index.ingest(products, progress=lambda n: bar.update(n - bar.n))
        summary = {
            **report.as_dict(),
            "products": index.count(),
            "source": "demo" if demo else str(icecat or settings.icecat_dir),
        }
        if as_json:
            _emit(summary)
        else:
            typer.echo(
                f"{report.applied} applied ({report.reembedded} embedded), {report.ignored} "
                f"already current; the catalog holds {index.count()} products."
            )


@catalog_app.command("apply")
def catalog_apply(
    file: Annotated[Path, typer.Argument(help="JSON lines, one event each.")],
    as_json: JsonOpt = False,
) -> None:
    """Apply a feed of upsert / patch / delete events (see the README for the format)."""
    from retrieval.events import read_feed

    with _errors():
        parsed = read_feed(file)
        index = _index()
        report = index.apply(parsed.events)
        errors = sorted(parsed.errors + report.errors, key=lambda e: e.line or 0)
        for err in errors:
            typer.echo(f"{file}:{err}", err=True)
        report.errors = errors
        if as_json:
            _emit(report.as_dict())
        else:
            typer.echo(
                f"{report.applied} applied, {report.ignored} ignored (not newer), "
                f"{len(errors)} rejected."
            )
    if errors:
        raise typer.Exit(1)


@catalog_app.command("show")
def catalog_show(product_id: str, as_json: JsonOpt = False) -> None:
    """Show one product."""
    with _errors():
        product = _index().get(product_id)
    data = product.public_dict()
    if as_json:
        _emit(data)
        return
    for key in ("id", "title", "brand", "category", "price", "currency", "stock", "availability"):
        typer.echo(f"{key:>12}: {data[key]}")
    typer.echo(f"{'description':>12}: {data['description']}")


@catalog_app.command("vendor-demo")
def catalog_vendor_demo(
    icecat: Annotated[Path | None, typer.Option(help="The full Icecat folder.")] = None,
    judgments: Annotated[
        Path | None, typer.Option(help="Judgments CSV whose products are always kept.")
    ] = None,
    size: Annotated[int, typer.Option(min=100, help="Products in the subset.")] = 4000,
    out: Annotated[
        Path | None, typer.Option(help="Output .jsonl.gz (default: the package's).")
    ] = None,
) -> None:
    """Rebuild the vendored demo subset from the full Icecat catalog."""
    from retrieval.evaluation import read_judgments
    from retrieval.icecat import DEMO_FILE, write_demo_subset

    settings = _settings()
    with _errors():
        keep: set[str] = set()
        if judgments is not None:
            for labels in read_judgments(judgments).values():
                keep.update(labels)
        target = out or Path(__file__).resolve().parents[1] / "retrieval" / "data" / DEMO_FILE
        n = write_demo_subset(icecat or settings.icecat_dir, target, size, keep)
    typer.echo(f"wrote {n} products to {target}")


# ---- search --------------------------------------------------------------------------------------


def _decimal(text: str | None, name: str) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text.lstrip("$"))
    except InvalidOperation:
        raise typer.BadParameter(f"{name} must be a number, got {text!r}") from None
    if not value.is_finite():
        raise typer.BadParameter(f"{name} must be a finite number, got {text!r}")
    if value < 0:
        raise typer.BadParameter(f"{name} must not be negative")
    return value


def _attrs(pairs: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name or not value:
            raise typer.BadParameter(f"--attr takes NAME=VALUE, got {pair!r}")
        out[name] = value
    return out


def _print_hits(hits: list[Hit]) -> None:
    if not hits:
        typer.echo("No products match.")
    for n, hit in enumerate(hits, start=1):
        p = hit.product
        typer.echo(
            f"{n:>2}. [{p.id}] {p.title} - {p.currency} {p.price} - "
            f"{p.availability.value.replace('_', ' ')} ({p.stock})"
        )
        typer.echo(f"    why: {hit.why()}")


@app.command("search")
def search(
    query: Annotated[
        str | None, typer.Argument(help="What to look for; omit for a prompt.")
    ] = None,
    max_price: Annotated[str | None, typer.Option(help="Highest price.")] = None,
    min_price: Annotated[str | None, typer.Option(help="Lowest price.")] = None,
    brand: Annotated[list[str] | None, typer.Option(help="A brand (repeatable).")] = None,
    category: Annotated[str | None, typer.Option(help="A category.")] = None,
    in_stock: Annotated[bool, typer.Option("--in-stock", help="Only in-stock products.")] = False,
    attr: Annotated[list[str] | None, typer.Option(help="NAME=VALUE (repeatable).")] = None,
    k: Annotated[int, typer.Option("-k", "--top", min=1, max=100)] = 10,
    no_rerank: NoRerank = False,
    as_json: JsonOpt = False,
) -> None:
    """Search the catalog (hybrid BM25 + dense, then the re-ranker, then the kind named
    first). Without QUERY, a prompt."""
    price_min, price_max = _decimal(min_price, "--min-price"), _decimal(max_price, "--max-price")
    if price_min is not None and price_max is not None and price_min > price_max:
        raise typer.BadParameter(f"--min-price {min_price} is above --max-price {max_price}")
    filters = SearchFilters(
        price_min=price_min,
        price_max=price_max,
        brands=tuple(brand or ()),
        category=category,
        in_stock=in_stock,
        attributes=_attrs(attr or []),
    )
    with _errors():
        engine = _search(rerank=not no_rerank)
        if query is None:
            _interactive(lambda q: engine.search(q, filters, k), engine.index.count())
            return
        hits = engine.search(query, filters, k)
    if as_json:
        stage = "hybrid" if no_rerank else "rerank"
        _emit({"query": query, "stage": stage, "hits": [h.as_dict() for h in hits]})
    else:
        _print_hits(hits)


def _interactive(run: Callable[[str], list[Hit]], count: int) -> None:
    typer.echo(f"Searching {count} products. Type a query; an empty line or Ctrl-D quits.")
    while True:
        try:
            line = input("search> ").strip()
        except EOFError:
            break
        if not line or line in {"quit", "exit"}:
            break
        _print_hits(run(line))


# ---- llm -----------------------------------------------------------------------------------------

llm_app = typer.Typer(no_args_is_help=True, help="The model server.")
app.add_typer(llm_app, name="llm")


@llm_app.command("serve")
def llm_serve(
    port: Annotated[int | None, typer.Option(help="Port (default SHOPASSIST_LLM_PORT).")] = None,
    lora_mode: Annotated[
        str | None,
        typer.Option(help="merged or lora (default SHOPASSIST_LLM_LORA_MODE)."),
    ] = None,
) -> None:
    """Start vLLM's OpenAI-compatible server with the configured model and adapter; Ctrl-C
    stops it."""
    import signal as _signal

    from assistant.errors import AssistantError
    from ui import llm_server

    settings = _settings()
    chosen = port or settings.llm_port
    if lora_mode not in (None, "merged", "lora"):
        typer.echo("error: --lora-mode must be merged or lora", err=True)
        raise typer.Exit(1)
    mode = lora_mode or settings.llm_lora_mode
    try:
        lora = settings.lora_path
        proc = llm_server.start_configured(settings, chosen, mode)
    except (AssistantError, ValueError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    served = ", ".join(llm_server.served_models(f"http://127.0.0.1:{chosen}"))
    adapter = "" if lora is None else f"; adapter {lora}, {mode}"
    typer.echo(f"model server ready at http://127.0.0.1:{chosen}/v1 (serving {served}{adapter})")

    def _interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    _signal.signal(_signal.SIGTERM, _interrupt)
    try:
        proc.wait()
    except KeyboardInterrupt:
        pass
    finally:
        llm_server.stop(proc)
        typer.echo("model server stopped")


# ---- chat ----------------------------------------------------------------------------------------


def _print_turn(result: Any) -> None:
    typer.echo(result.reply)
    if result.fallback:
        why = result.fault or "; ".join(result.violations) or "no model configured"
        typer.echo(f"  (template reply: {why})", err=True)


@app.command("chat")
def chat(
    once: Annotated[
        str | None, typer.Option("--once", help="Answer this one message and exit.")
    ] = None,
    session: Annotated[
        str | None, typer.Option(help="Continue this conversation (default: a new one).")
    ] = None,
    customer: Annotated[str | None, typer.Option(help="The signed-in customer, e.g. C001.")] = None,
    serve_model: Annotated[
        bool,
        typer.Option(
            "--serve-model",
            help="Start the local model server for this session unless one already answers.",
        ),
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Talk to the assistant. With --once, one message; the same --session continues it.

    Replies are correct without a model server (template replies, reported on stderr)."""
    import uuid

    from ui import llm_server
    from ui.compose import build_assistant

    settings = _settings()
    session_id = session or uuid.uuid4().hex[:12]
    proc = None
    with _errors():
        if serve_model and not llm_server.answers(settings.model_url):
            typer.echo("starting the model server (the first start converts the model)...")
            proc = llm_server.start_configured(settings)
        try:
            assistant = build_assistant(settings)  # seeds the demo store when it is empty
            if customer is not None and settings.store:
                from ui.store_cli import _store, require_customer

                require_customer(_store(settings), customer)
            _chat(assistant, settings, session_id, once, customer, as_json)
        finally:
            if proc is not None:
                llm_server.stop(proc)


def _chat(
    assistant: Any,
    settings: Settings,
    session_id: str,
    once: str | None,
    customer: str | None,
    as_json: bool,
) -> None:
    from assistant.reply import Status, TextDelta, TurnDone

    if once is not None:
        result = assistant.respond(session_id, once, customer)
        if as_json:
            _emit(result.as_dict())
        else:
            _print_turn(result)
        return
    typer.echo(
        f"Session {session_id} ({assistant.index.count()} products, model at "
        f"{settings.model_url}). Type a message; an empty line or Ctrl-D quits."
    )
    while True:
        try:
            line = input("you> ").strip()
        except EOFError:
            break
        if not line or line in {"quit", "exit"}:
            break
        for event in assistant.stream(session_id, line, customer):
            if isinstance(event, Status):
                typer.echo(f"  [{event.text}]", err=True)
            elif isinstance(event, TextDelta):
                typer.echo(event.text, nl=False)
            elif isinstance(event, TurnDone):
                typer.echo("")
                if as_json:
                    _emit(event.result.as_dict())


# ---- eval ----------------------------------------------------------------------------------------

# How deep the ranking goes for condensed nDCG: the hybrid side's candidate depth.
CONDENSED_DEPTH = 100


@eval_app.command("retrieval")
def eval_retrieval(
    judgments: Annotated[Path, typer.Option(help="CSV with query,docid,rating.")],
    k: Annotated[int, typer.Option(help="Cut-off of nDCG.")] = 10,
    no_rerank: NoRerank = False,
    as_json: JsonOpt = False,
) -> None:
    """nDCG@10 of search over the whole indexed catalog against graded judgments.

    Beside it: condensed nDCG (the ranking with unjudged products removed, continued by the
    hybrid ranking to depth 100) and the products judged irrelevant in the top k."""
    from retrieval.evaluation import (
        condensed_ndcg_at_k,
        judged_irrelevant_at_k,
        ndcg_at_k,
        read_judgments,
    )

    with _errors():
        labels = read_judgments(judgments)
        engine = _search(rerank=not no_rerank)
        rows: list[tuple[str, float, float, int, int]] = []
        for query, lab in labels.items():
            depth = max(k, CONDENSED_DEPTH)
            deeper = [h.product.id for h in engine.index.search(query, None, depth)]
            # As the search shows it: hybrid (and re-ranked), the kind named first
            ranked = [h.product.id for h in engine.search(query, k=k)]
            shown = set(ranked)
            deep = ranked + [doc for doc in deeper if doc not in shown]
            official, condensed = ndcg_at_k(ranked, lab, k), condensed_ndcg_at_k(deep, lab, k)
            irrelevant = judged_irrelevant_at_k(ranked, lab, k)
            rows.append((query, official, condensed, irrelevant, len(lab)))
    n = len(rows)
    means = [
        sum(r[1] for r in rows) / max(n, 1),
        sum(r[2] for r in rows) / max(n, 1),
        sum(r[3] for r in rows) / max(n, 1),
    ]
    typer.echo(f"{'query':<32} {'nDCG@' + str(k):>8} {'cond.':>6} {'irrel.':>6} {'judged':>7}")
    for query, score, cond, irrel, judged in rows:
        typer.echo(f"{query[:32]:<32} {score:>8.3f} {cond:>6.3f} {irrel:>6} {judged:>7}")
    typer.echo(f"{'mean':<32} {means[0]:>8.3f} {means[1]:>6.3f} {means[2]:>6.2f} {n:>7}")
    if as_json:
        stage = "hybrid" if no_rerank else "rerank"
        _emit(
            {
                f"ndcg@{k}": round(means[0], 4),
                "queries": n,
                "stage": stage,
                f"condensed_ndcg@{k}": round(means[1], 4),
                f"judged_irrelevant@{k}": round(means[2], 3),
            }
        )


if __name__ == "__main__":
    app()
