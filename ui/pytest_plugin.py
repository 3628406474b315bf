"""pytest plugin: every conversation script (`*.yaml` below a `conversations` folder) is a test.

Installed with the package (a `pytest11` entry point), so a shop's own test suite runs its
scripts with plain `pytest`; this repository also loads it from `tests/conftest.py`. Each script
is one test item, marked `llm` and `model` (`-m "not llm"` skips them). It passes when every
expectation of every turn held in each of `--converse-repeat` runs (default 1), each run in a
new session; the failure lists the expectations that did not hold.

The scripts run against one assistant per test session: the first `pytest_converse_assistant`
hook implementation that returns one (a `conftest.py` builds a test catalog and model server
there), else the assistant configured by the `SHOPASSIST_*` settings, whose model server must
answer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from assistant.converse import Report, Responder, Run, Script, ScriptError, load_script, run_script

_ASSISTANT = pytest.StashKey[Responder | str]()
_RUNS = pytest.StashKey[list[tuple[Script, list[Run]]]]()


class ConverseHooks:
    """The hook this plugin adds."""

    @pytest.hookspec(firstresult=True)
    def pytest_converse_assistant(self, config: pytest.Config) -> Responder | None:
        """The assistant the conversation scripts run against, built once per test session.

        Return None to leave the choice to the next implementation; the plugin's own default is
        the assistant configured by the `SHOPASSIST_*` settings. Stop what you start with
        `config.add_cleanup`.
        """


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    """Register `pytest_converse_assistant`."""
    pluginmanager.add_hookspecs(ConverseHooks)


def pytest_addoption(parser: pytest.Parser) -> None:
    """`--converse-repeat K`: run each script K times; it passes only if all K runs pass."""
    group = parser.getgroup("converse", "conversation scripts")
    group.addoption(
        "--converse-repeat",
        type=int,
        default=1,
        metavar="K",
        help="Run each conversation script K times (new session each); all must pass.",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Declare the markers the items carry, so `--strict-markers` suites accept them."""
    config.addinivalue_line("markers", "llm: needs the model server")
    config.addinivalue_line("markers", "model: loads the real MiniLM embedder")
    config.stash[_RUNS] = []


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    """A `*.yaml` file below a folder named `conversations` is a script."""
    if file_path.suffix != ".yaml":
        return None
    try:
        folders = file_path.relative_to(parent.config.rootpath).parts[:-1]
    except ValueError:
        folders = file_path.parts[:-1]
    if "conversations" not in folders:
        return None
    return ScriptFile.from_parent(parent, path=file_path)


class ScriptFile(pytest.File):
    """One script file: one test item."""

    def collect(self) -> list[pytest.Item]:
        """The script's item; a malformed script is a collection error naming file and line."""
        try:
            script = load_script(self.path)
        except ScriptError as exc:
            raise self.CollectError(str(exc)) from None
        item = ScriptItem.from_parent(self, name=self.path.stem, script=script)
        item.add_marker(pytest.mark.llm)
        item.add_marker(pytest.mark.model)
        return [item]


class ConversationFailed(Exception):
    """Expectations of a script did not hold."""

    def __init__(self, script: Script, runs: list[Run]) -> None:
        super().__init__(script.name)
        self.script, self.runs = script, runs


class ScriptItem(pytest.Item):
    """One conversation script run `--converse-repeat` times against the session's assistant."""

    def __init__(self, *, script: Script, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.script = script

    def runtest(self) -> None:
        """Run the script; raise `ConversationFailed` when a run failed."""
        assistant = _assistant(self)
        repeat = max(1, int(self.config.getoption("converse_repeat")))
        runs = [run_script(assistant, self.script, n) for n in range(1, repeat + 1)]
        self.config.stash[_RUNS].append((self.script, runs))
        if not all(r.passed for r in runs):
            raise ConversationFailed(self.script, runs)

    def repr_failure(
        self,
        excinfo: pytest.ExceptionInfo[BaseException],
        style: Any = None,
    ) -> str:
        """The failing expectations, turn by turn, with each turn's line and message."""
        if not isinstance(excinfo.value, ConversationFailed):
            return str(super().repr_failure(excinfo, style=style))
        lines = [f"conversation {self.script.name!r} ({self.script.path.name}):"]
        runs = excinfo.value.runs
        for run in runs:
            if run.passed:
                continue
            head = f"run {run.number}/{len(runs)}, " if len(runs) > 1 else ""
            for f in run.failures:
                turn = self.script.turns[f.turn - 1]
                lines.append(
                    f"  {head}turn {f.turn} (line {turn.line}, user {turn.user!r}): {f.key}: "
                    f"expected {f.expected!r}, got {f.got!r}"
                )
        return "\n".join(lines)

    def reportinfo(self) -> tuple[Path, int, str]:
        """Where the script is, for pytest's report."""
        return self.path, 0, f"conversation: {self.script.name}"


def _assistant(item: ScriptItem) -> Responder:
    """The session's assistant, built on first use; a failed build fails every item at once."""
    stash = item.config.stash
    if _ASSISTANT not in stash:
        try:
            made = item.ihook.pytest_converse_assistant(config=item.config)
            stash[_ASSISTANT] = made if made is not None else _configured_assistant()
        except Exception as exc:  # noqa: BLE001 - reported on every item, built only once
            stash[_ASSISTANT] = f"building the assistant for the conversations failed: {exc}"
    got = stash[_ASSISTANT]
    if isinstance(got, str):
        pytest.fail(got, pytrace=False)
    return got


def _configured_assistant() -> Responder:
    """The assistant of the `SHOPASSIST_*` settings; its model server must answer."""
    from ui import llm_server
    from ui.compose import build_assistant
    from ui.settings import Settings

    settings = Settings()
    if not llm_server.answers(settings.model_url):
        raise RuntimeError(
            f"the model server at {settings.model_url} does not answer - start it with "
            "`shopassist llm serve`, set SHOPASSIST_LLM_URL, or implement "
            "pytest_converse_assistant in a conftest.py"
        )
    return build_assistant(settings)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """pass^k of the conversation scripts that ran (k up to `--converse-repeat`)."""
    done = config.stash.get(_RUNS, [])
    if not done:
        return
    repeat = min(len(runs) for _, runs in done)
    report = Report([s for s, _ in done], repeat, [runs[:repeat] for _, runs in done])
    figures = "  ".join(f"pass^{k} {report.pass_hat(k):.3f}" for k in range(1, repeat + 1))
    terminalreporter.write_line(f"conversations: {report.passed}/{len(done)} passed; {figures}")
