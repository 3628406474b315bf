"""`shopassist serve`: the web app on the configured stack, one command and one URL."""

from __future__ import annotations

import signal
import subprocess
from typing import Annotated

import typer

from assistant.errors import AssistantError
from retrieval.errors import CatalogError


def register(app: typer.Typer) -> None:
    """Add the `serve` command to the `shopassist` CLI."""
    app.command("serve")(serve)


def serve(
    port: Annotated[int, typer.Option(help="Port of the web app.")] = 7860,
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    serve_model: Annotated[
        bool,
        typer.Option(
            "--serve-model/--no-serve-model",
            help="Start the local model server unless one already answers.",
        ),
    ] = True,
) -> None:
    """Start the web app (customer chat, agent console, catalog admin) and print its URL.

    Ingests the demo catalog when the catalog is empty; replies are correct without a model
    server (template replies)."""
    from ui import llm_server
    from ui.app import build_app, launch
    from ui.compose import build_assistant, build_search
    from ui.settings import Settings

    settings = Settings()
    proc: subprocess.Popen[bytes] | None = None
    try:
        search = build_search(settings)
        if search.index.count() == 0:
            from retrieval.icecat import load_demo

            typer.echo("the catalog is empty: ingesting the demo catalog (a few minutes)...")
            search.index.ingest(load_demo())
        if serve_model and not llm_server.answers(settings.model_url):
            typer.echo("starting the model server (the first start converts the model)...")
            proc = llm_server.start_configured(settings)
        web = build_app(build_assistant(settings, search=search))
        url = launch(web, port, host)
    except (AssistantError, CatalogError) as exc:
        if proc is not None:
            llm_server.stop(proc)
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    except OSError as exc:  # the port is taken
        if proc is not None:
            llm_server.stop(proc)
        typer.echo(f"error: cannot serve on {host}:{port}: {exc}", err=True)
        raise typer.Exit(2) from None

    def _interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)
    typer.echo(url)
    try:
        web.block_thread()
    except KeyboardInterrupt:
        pass
    finally:
        web.close()
        if proc is not None:
            llm_server.stop(proc)
