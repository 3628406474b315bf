"""`shopassist converse`: run conversation scripts against the configured assistant, pass^k."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:  # the runner imports the assistant's tools: only when a command runs
    from assistant.converse import Report, Responder, Run, Script


def report_table(report: Report) -> list[str]:
    """The report as text lines: one row per script, then the pass^k figures."""
    width = max([len(s.name) for s in report.scripts] + [6])
    width = min(width, 48)
    lines = [f"{'script':<{width}}  {'turns':>5}  {'passed':>6}  first failure"]
    for script, runs in zip(report.scripts, report.runs, strict=True):
        ok = sum(r.passed for r in runs)
        first = next((str(f) for r in runs for f in r.failures), "")
        lines.append(
            f"{script.name[:width]:<{width}}  {len(script.turns):>5}  "
            f"{f'{ok}/{len(runs)}':>6}  {first[:120]}"
        )
    figures = "  ".join(f"pass^{k} {report.pass_hat(k):.3f}" for k in range(1, report.repeat + 1))
    lines.append(f"{report.passed}/{len(report.scripts)} scripts passed every run; {figures}")
    return lines


def converse(
    assistant: Responder,
    scripts: list[Script],
    repeat: int,
    customer: str | None,
    as_json: bool,
) -> Report:
    """Run the scripts, print progress on stderr, the table, and with `as_json` the summary
    as the last line."""
    from assistant.converse import run_scripts

    total = len(scripts) * repeat
    done: list[Run] = []

    def progress(run: Run) -> None:
        done.append(run)
        mark = "ok" if run.passed else f"FAILED ({len(run.failures)})"
        typer.echo(f"  [{len(done)}/{total}] {run.script.name} #{run.number}: {mark}", err=True)

    report = run_scripts(assistant, scripts, repeat, customer, on_run=progress)
    for line in report_table(report):
        typer.echo(line)
    if as_json:
        typer.echo(json.dumps(report.summary(), ensure_ascii=False, default=str))
    return report


def register(app: typer.Typer) -> None:
    """Add `shopassist converse` to the CLI."""

    @app.command("converse")
    def converse_command(
        paths: Annotated[
            list[Path],
            typer.Argument(help="Script files, or folders: every *.yaml below them."),
        ],
        repeat: Annotated[
            int, typer.Option("--repeat", "-k", min=1, help="Runs per script (K of pass^k).")
        ] = 1,
        customer: Annotated[
            str | None,
            typer.Option(help="Sign in as this customer in scripts that name none."),
        ] = None,
        serve_model: Annotated[
            bool,
            typer.Option(
                "--serve-model",
                help="Start the local model server for this run unless one already answers.",
            ),
        ] = False,
        as_json: Annotated[
            bool, typer.Option("--json", help="Print the summary as JSON on the last line.")
        ] = False,
    ) -> None:
        """Run conversation scripts K times each against the configured assistant; pass^k.

        Each run is a new session. Exit status 1 when a script failed a run or a script is
        malformed, 2 when the set-up is wrong. Without a model server the turns run on the
        parser and the templates (said on stderr); --serve-model starts the local one."""
        from assistant.converse import ScriptError, find_scripts, load_script
        from assistant.errors import AssistantError
        from ranking.errors import RankingError
        from retrieval.errors import CatalogError
        from ui import llm_server
        from ui.compose import build_assistant
        from ui.settings import Settings

        settings = Settings()
        proc = None
        try:
            # Every script is read first, so a bad file stops the run before any turn.
            scripts = [load_script(p) for p in find_scripts(paths)]
            if not llm_server.answers(settings.model_url):
                if serve_model:
                    typer.echo(
                        f"the model server at {settings.model_url} does not answer; starting "
                        "it (the first start converts the model)...",
                        err=True,
                    )
                    proc = llm_server.start_configured(settings)
                else:
                    typer.echo(
                        f"warning: the model server at {settings.model_url} does not answer; "
                        "the scripts run on the parser and the template replies (start one "
                        "with `shopassist llm serve`, or pass --serve-model)",
                        err=True,
                    )
            report = converse(build_assistant(settings), scripts, repeat, customer, as_json)
        except ScriptError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        except (AssistantError, CatalogError, RankingError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        finally:
            if proc is not None:
                llm_server.stop(proc)
        if report.passed < len(report.scripts):
            raise typer.Exit(1)
