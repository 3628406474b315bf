"""Scripted conversations: a YAML format, the checks of each turn, and a pass^k runner.

A script is a conversation a shop owner or our CI writes down once and runs against the
assistant many times::

    name: cheap speaker then stock question
    customer: C001                  # optional: the session signs in as this customer
    turns:
      - user: "I need a bluetooth speaker under $50"
        expect:
          intent: search
          tools_called: [search_products]
          products_max_price: 50
      - user: "is the second one in stock?"
        expect:
          refers_to_shown: 2

Every run of a script is a new session. pass^k (tau-bench) is the share of scripts that passed
in all of their first k runs: with a sampling temperature above zero it falls as k grows, and
how fast it falls measures how reliable the assistant is, not just how capable.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol

import yaml

from assistant.errors import AssistantError
from assistant.intent import IntentName
from assistant.reply import ProductCard, TurnResult

SCRIPT_KEYS = ("name", "customer", "turns")
TURN_KEYS = ("user", "expect")


class ScriptError(AssistantError):
    """A conversation script is malformed; the message names the file, the line and the fix."""


class Responder(Protocol):
    """What a script runs against: `assistant.turn.Assistant` or a test double."""

    def respond(
        self, session_id: str, text: str, customer_id: str | None = None
    ) -> TurnResult:  # pragma: no cover - protocol
        """Answer one message of a session."""
        ...


# -- the format -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    """One customer message and what must hold of the answer.

    Attributes:
        user: The message.
        expect: Expectation key -> expected value, validated.
        line: The line of the turn in its file (1-based).
    """

    user: str
    expect: dict[str, Any]
    line: int


@dataclass(frozen=True)
class Script:
    """One conversation script.

    Attributes:
        name: The script's name, as reports show it.
        path: The file it was read from.
        turns: The turns, in order.
        customer: The customer the session signs in as, if any.
    """

    name: str
    path: Path
    turns: list[Turn]
    customer: str | None = None


class _Map(dict[Any, Any]):
    """A YAML mapping that remembers its line."""

    line = 0


class _Loader(yaml.SafeLoader):
    """YAML's safe loader, keeping mapping lines and refusing duplicate keys."""


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> Iterator[_Map]:
    data = _Map()
    data.line = node.start_mark.line + 1
    yield data
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r}", key_node.start_mark
            )
        seen.add(key)
    data.update(loader.construct_mapping(node))


_Loader.add_constructor("tag:yaml.org,2002:map", _construct_map)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _texts(value: Any) -> bool:
    return isinstance(value, str) or (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    )


def _tool_names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _intents(value: Any) -> bool:
    names = {i.value for i in IntentName}
    values = value if isinstance(value, list) else [value]
    return bool(values) and all(isinstance(v, str) and v in names for v in values)


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _position(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value != 0


def _flag(value: Any) -> bool:
    return isinstance(value, bool)


def _brand(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


# Each expectation key and the values it takes (what a script author reads in an error).
_VALUES: dict[str, tuple[Callable[[Any], bool], str]] = {
    "intent": (_intents, "an intent name or a list of them: " + ", ".join(IntentName)),
    "tools_called": (_tool_names, "a list of tool names"),
    "tools_not_called": (_tool_names, "a list of tool names"),
    "products_min": (_count, "a count (0 or more)"),
    "products_max": (_count, "a count (0 or more)"),
    "products_max_price": (_is_number, "a number"),
    "products_min_price": (_is_number, "a number"),
    "products_brand": (_brand, "a brand"),
    "products_in_stock": (_flag, "true or false"),
    "products_include": (_tool_names, "a list of product ids"),
    "products_exclude": (_tool_names, "a list of product ids"),
    "refers_to_shown": (_position, "a position in the previous list (1 = first, -1 = last)"),
    "reply_contains_any": (_texts, "a text or a list of texts"),
    "reply_contains_all": (_texts, "a text or a list of texts"),
    "reply_not_contains": (_texts, "a text or a list of texts"),
    "grounded": (_flag, "true or false"),
    "fallback": (_flag, "true or false"),
    "handoff": (_flag, "true or false"),
    "state_changed": (_flag, "true or false"),
}
EXPECT_KEYS = tuple(_VALUES)


def _unknown(kind: str, keys: Iterable[Any], known: Iterable[str], where: str) -> None:
    extra = [k for k in keys if k not in known]
    if extra:
        raise ScriptError(f"{where}: unknown {kind} key {extra[0]!r} (known: {', '.join(known)})")


def _turn(raw: Any, number: int, path: Path, line: int) -> Turn:
    where = f"{path}:{getattr(raw, 'line', line)}"
    if not isinstance(raw, dict):
        raise ScriptError(f"{where}: turn {number} must be a mapping with `user` and `expect`")
    _unknown("turn", raw, TURN_KEYS, where)
    user = raw.get("user")
    if user is None:
        user = ""  # `user:` with nothing after it: the empty message
    if not isinstance(user, str | int | float) or isinstance(user, bool):
        raise ScriptError(f"{where}: turn {number}: `user` must be the customer's message text")
    expect = raw.get("expect") or {}
    if not isinstance(expect, dict):
        raise ScriptError(f"{where}: turn {number}: `expect` must be a mapping of expectations")
    at = f"{path}:{getattr(expect, 'line', 0) or getattr(raw, 'line', line)}"
    _unknown("expectation", expect, EXPECT_KEYS, at)
    for key, value in expect.items():
        valid, wanted = _VALUES[key]
        if not valid(value):
            raise ScriptError(f"{at}: turn {number}: {key} must be {wanted}, not {value!r}")
    return Turn(user=str(user), expect=dict(expect), line=getattr(raw, "line", line))


def parse_script(text: str, path: Path) -> Script:
    """A script from its YAML text.

    Args:
        text: The file's contents.
        path: The file, for messages.

    Raises:
        ScriptError: The YAML is malformed (with its line), a key is unknown (named with the
            file), or a value has the wrong type.
    """
    try:
        raw = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = f":{mark.line + 1}" if mark is not None else ""
        raise ScriptError(f"{path}{line}: malformed YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise ScriptError(f"{path}: malformed YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ScriptError(f"{path}: a script is a mapping with `name` and `turns`")
    _unknown("script", raw, SCRIPT_KEYS, f"{path}:{raw.line if isinstance(raw, _Map) else 1}")
    turns = raw.get("turns")
    if not isinstance(turns, list) or not turns:
        raise ScriptError(f"{path}: `turns` must be a non-empty list of turns")
    customer = raw.get("customer")
    if isinstance(customer, bool) or not isinstance(customer, str | int | type(None)):
        raise ScriptError(f"{path}: `customer` must be a customer id such as C001")
    name = raw.get("name")
    return Script(
        name=str(name) if name not in (None, "") else path.stem,
        path=path,
        turns=[_turn(t, n, path, 1) for n, t in enumerate(turns, 1)],
        customer=None if customer is None else str(customer),
    )


def load_script(path: Path) -> Script:
    """Read one script file.

    Raises:
        ScriptError: The file cannot be read or is not a valid script.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScriptError(f"{path}: cannot read the script: {exc}") from None
    return parse_script(text, path)


def find_scripts(paths: Iterable[Path]) -> list[Path]:
    """The script files named: files as given, folders as every `*.yaml` below them, sorted.

    Raises:
        ScriptError: A path does not exist, or no script was found.
    """
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.yaml") if p.is_file())
        elif path.is_file():
            found.append(path)
        else:
            raise ScriptError(f"{path}: no such file or folder")
    if not found:
        raise ScriptError("no conversation scripts (*.yaml) found in " + ", ".join(map(str, paths)))
    return list(dict.fromkeys(found))


# -- the checks -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Failure:
    """One expectation that did not hold.

    Attributes:
        script: The script's name.
        turn: The turn's number (1-based).
        key: The expectation key (or "error" when the turn raised).
        expected: The value the script expects.
        got: What the turn gave instead, as JSON data.
    """

    script: str
    turn: int
    key: str
    expected: Any
    got: Any

    def as_dict(self) -> dict[str, Any]:
        """The failure as JSON data."""
        return {
            "script": self.script,
            "turn": self.turn,
            "key": self.key,
            "expected": self.expected,
            "got": self.got,
        }

    def __str__(self) -> str:
        return f"turn {self.turn}: {self.key}: expected {self.expected!r}, got {self.got!r}"


def _money(value: Decimal) -> float | int:
    return int(value) if value == value.to_integral_value() else float(value)


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _subject_position(position: int, previous: list[ProductCard]) -> int:
    return len(previous) + position + 1 if position < 0 else position


def check_turn(
    expect: dict[str, Any], result: TurnResult, previous: list[ProductCard]
) -> list[tuple[str, Any]]:
    """The expectations of one turn that its result does not meet.

    Args:
        expect: Validated expectations (see `EXPECT_KEYS`).
        result: The turn's result.
        previous: The products the previous turn showed (for `refers_to_shown`).

    Returns:
        (key, got) for every expectation that failed, in the script's order.
    """
    cards = result.products
    reply = result.reply.lower()
    ids = [c.id for c in cards]
    failed: list[tuple[str, Any]] = []
    for key, want in expect.items():
        got: Any = None
        ok = True
        if key == "intent":
            got = result.intent.intent.value
            ok = got in _as_list(want)
        elif key == "tools_called":
            got = result.tools_called
            ok = set(want) <= set(got) if want else not got
        elif key == "tools_not_called":
            got = result.tools_called
            ok = not set(want) & set(got)
        elif key == "products_min":
            got, ok = len(cards), len(cards) >= want
        elif key == "products_max":
            got, ok = len(cards), len(cards) <= want
        elif key == "products_max_price":
            over = [_money(c.price) for c in cards if c.price > Decimal(str(want))]
            got, ok = over, not over
        elif key == "products_min_price":
            under = [_money(c.price) for c in cards if c.price < Decimal(str(want))]
            got, ok = under, not under
        elif key == "products_brand":
            others = [c.brand for c in cards if c.brand.lower() != want.strip().lower()]
            got, ok = others, not others
        elif key == "products_in_stock":
            out = [c.id for c in cards if c.stock <= 0]
            got, ok = out, (not out) if want else bool(out)
        elif key == "products_include":
            missing = [i for i in want if i not in ids]
            got, ok = ids, not missing
        elif key == "products_exclude":
            present = [i for i in want if i in ids]
            got, ok = present, not present
        elif key == "refers_to_shown":
            position = _subject_position(want, previous)
            subject = previous[position - 1].id if 0 < position <= len(previous) else None
            got = {"refs": result.refs, "first_product": ids[0] if ids else None}
            ok = result.refs in ([want], [position]) or (
                subject is not None and bool(ids) and ids[0] == subject
            )
        elif key == "reply_contains_any":
            got = result.reply
            ok = any(t.lower() in reply for t in _as_list(want))
        elif key == "reply_contains_all":
            got = result.reply
            ok = all(t.lower() in reply for t in _as_list(want))
        elif key == "reply_not_contains":
            got = result.reply
            ok = not any(t.lower() in reply for t in _as_list(want))
        elif key in ("grounded", "fallback", "handoff", "state_changed"):
            got = getattr(result, key)
            ok = got is want
        else:  # pragma: no cover - keys are validated when the script is read
            raise ScriptError(f"unknown expectation key {key!r}")
        if not ok:
            failed.append((key, got))
    return failed


# -- the runner -------------------------------------------------------------------------------


@dataclass
class Run:
    """One run of one script in a fresh session.

    Attributes:
        script: The script.
        number: The run's number (1-based).
        session_id: The session it ran in.
        failures: The expectations that did not hold.
        seconds: Wall time of the run.
    """

    script: Script
    number: int
    session_id: str
    failures: list[Failure] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        """Every expectation of every turn held."""
        return not self.failures


def run_script(
    assistant: Responder, script: Script, number: int = 1, customer: str | None = None
) -> Run:
    """Run a script once, in a new session, checking every turn.

    A turn that raises an `AssistantError` is a failure (key "error") and ends the run; the
    turns after a failed expectation still run, so one run reports all that went wrong.

    Args:
        assistant: What answers the messages.
        script: The script.
        number: The run's number, for reports.
        customer: The customer to sign in as when the script names none.
    """
    started = time.perf_counter()
    run = Run(script, number, f"converse-{uuid.uuid4().hex[:12]}")
    signed_in = script.customer or customer
    previous: list[ProductCard] = []
    # Returns, cancellations and carts a script makes are undone after the run when the
    # assistant's service desk offers a sandbox: every repeat starts from the same store, and a
    # script run against a live store changes nothing real.
    sandbox = getattr(getattr(assistant, "service", None), "sandbox", None) or nullcontext
    with sandbox():
        for n, turn in enumerate(script.turns, 1):
            try:
                result = assistant.respond(run.session_id, turn.user, signed_in)
            except AssistantError as exc:
                run.failures.append(Failure(script.name, n, "error", None, str(exc)))
                break
            for key, got in check_turn(turn.expect, result, previous):
                run.failures.append(Failure(script.name, n, key, turn.expect[key], got))
            previous = result.products
    run.seconds = time.perf_counter() - started
    return run


@dataclass
class Report:
    """Every run of every script, and the pass^k figures.

    Attributes:
        scripts: The scripts, in order.
        repeat: Runs per script (K).
        runs: The runs of each script, in order, by the script's position.
    """

    scripts: list[Script]
    repeat: int
    runs: list[list[Run]]

    def pass_hat(self, k: int) -> float:
        """pass^k: the share of scripts that passed in all of their first k runs."""
        if not 1 <= k <= self.repeat:
            raise ValueError(f"k must be between 1 and {self.repeat}, not {k}")
        if not self.scripts:
            return 0.0
        return sum(all(r.passed for r in runs[:k]) for runs in self.runs) / len(self.scripts)

    @property
    def passed(self) -> int:
        """Scripts that passed in every run."""
        return sum(all(r.passed for r in runs) for runs in self.runs)

    @property
    def failures(self) -> list[Failure]:
        """Every failure of every run, script by script."""
        return [f for runs in self.runs for r in runs for f in r.failures]

    def summary(self) -> dict[str, Any]:
        """The figures as JSON data: scripts, passed, pass^1, pass^k for k = 1..K, failures."""
        return {
            "scripts": len(self.scripts),
            "passed": self.passed,
            "pass^1": round(self.pass_hat(1), 4),
            "pass^k": {str(k): round(self.pass_hat(k), 4) for k in range(1, self.repeat + 1)},
            "failures": [f.as_dict() for f in self.failures],
        }


def run_scripts(
    assistant: Responder,
    scripts: list[Script],
    repeat: int = 1,
    customer: str | None = None,
    on_run: Callable[[Run], None] | None = None,
) -> Report:
    """Run each script `repeat` times, each run in a new session.

    Args:
        assistant: What answers the messages.
        scripts: The scripts.
        repeat: Runs per script (K of pass^k).
        customer: The customer to sign in as in scripts that name none.
        on_run: Called after each run (progress).

    Raises:
        ValueError: `repeat` is below 1.
    """
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, not {repeat}")
    runs: list[list[Run]] = []
    for script in scripts:
        mine = []
        for number in range(1, repeat + 1):
            run = run_script(assistant, script, number, customer)
            mine.append(run)
            if on_run is not None:
                on_run(run)
        runs.append(mine)
    return Report(scripts, repeat, runs)
