"""Conversation scripts: the format, every expectation key, the runner and pass^k, on fakes."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from assistant.converse import (
    EXPECT_KEYS,
    Failure,
    Report,
    Run,
    Script,
    ScriptError,
    Turn,
    check_turn,
    find_scripts,
    load_script,
    parse_script,
    run_script,
    run_scripts,
)
from assistant.errors import AssistantError
from assistant.intent import Intent, IntentName
from assistant.reply import ProductCard, TurnResult
from tests.assistant.test_turn import fake_model, make
from ui.converse_cli import converse, register

pytest_plugins = ["pytester"]

SCRIPT = """\
name: cheap speaker then stock question
customer: C001
turns:
  - user: "bluetooth speaker under $50"
    expect:
      intent: search
      tools_called: [search_products]
      products_min: 1
      products_max_price: 50
      grounded: true
  - user: "is the second one in stock?"
    expect:
      intent: product_question
      refers_to_shown: 2
      grounded: true
"""


def card(pid: str, price: str = "10", brand: str = "Sony", stock: int = 5) -> ProductCard:
    return ProductCard(
        id=pid,
        title=f"{brand} thing {pid}",
        brand=brand,
        price=Decimal(price),
        currency="USD",
        stock=stock,
        availability="in_stock" if stock else "out_of_stock",
        image_url=None,
        why="",
    )


def result(
    products: list[ProductCard] | None = None, reply: str = "Here you are.", **kw: Any
) -> TurnResult:
    fields: dict[str, Any] = {
        "session_id": "s",
        "message": "m",
        "reply": reply,
        "products": products or [],
        "intent": Intent(intent=IntentName.SEARCH),
        "source": "merged",
        "grounded": True,
        "fallback": False,
        "tools_called": ["search_products"],
    }
    fields.update(kw)
    return TurnResult(**fields)


# -- the format -------------------------------------------------------------------------------


def test_a_script_is_read_with_its_customer_turns_and_lines(tmp_path: Path) -> None:
    path = tmp_path / "speaker.yaml"
    path.write_text(SCRIPT)
    script = load_script(path)
    assert (script.name, script.customer, len(script.turns)) == (
        "cheap speaker then stock question",
        "C001",
        2,
    )
    assert script.turns[0].user == "bluetooth speaker under $50"
    assert script.turns[0].expect["products_max_price"] == 50
    assert [t.line for t in script.turns] == [4, 11]


def test_every_key_of_the_issue_is_known() -> None:
    assert set(EXPECT_KEYS) == {
        "intent",
        "tools_called",
        "tools_not_called",
        "products_min",
        "products_max",
        "products_max_price",
        "products_min_price",
        "products_brand",
        "products_in_stock",
        "products_include",
        "products_exclude",
        "refers_to_shown",
        "reply_contains_any",
        "reply_contains_all",
        "reply_not_contains",
        "grounded",
        "fallback",
        "handoff",
        "state_changed",
    }


def test_an_unknown_expectation_key_names_the_key_and_the_file(tmp_path: Path) -> None:
    path = tmp_path / "typo.yaml"
    path.write_text(SCRIPT.replace("products_min: 1", "products_minimum: 1"))
    with pytest.raises(ScriptError, match=r"typo\.yaml:\d+: unknown expectation key "):
        load_script(path)
    with pytest.raises(ScriptError, match="'products_minimum'"):
        load_script(path)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("name: x\nturns:\n  - user: hi\n    reply: hello\n", "'reply'"),
        ("name: x\nagent: bot\nturns:\n  - user: hi\n", "'agent'"),
    ],
)
def test_unknown_turn_and_script_keys_are_errors(text: str, key: str) -> None:
    with pytest.raises(ScriptError, match=f"s.yaml:.*unknown .* key {key}"):
        parse_script(text, Path("s.yaml"))


def test_malformed_yaml_is_an_error_with_its_line() -> None:
    text = 'name: x\nturns:\n  - user: "hi\n    expect: {grounded: true}\n  - user: [\n'
    with pytest.raises(ScriptError, match=r"^s\.yaml:\d+: malformed YAML"):
        parse_script(text, Path("s.yaml"))
    bad_indent = "name: x\nturns:\n  - user: hi\n   expect:\n      grounded: true\n"
    with pytest.raises(ScriptError, match=r"^s\.yaml:4: malformed YAML"):
        parse_script(bad_indent, Path("s.yaml"))


def test_duplicate_keys_and_wrong_values_are_errors() -> None:
    dup = (
        "name: x\nturns:\n  - user: hi\n    expect:\n      grounded: true\n      grounded: false\n"
    )
    with pytest.raises(ScriptError, match=r"s\.yaml:6: .*duplicate key 'grounded'"):
        parse_script(dup, Path("s.yaml"))
    wrong = "name: x\nturns:\n  - user: hi\n    expect:\n      products_min: many\n"
    with pytest.raises(ScriptError, match="products_min must be a count"):
        parse_script(wrong, Path("s.yaml"))
    intent = "name: x\nturns:\n  - user: hi\n    expect:\n      intent: shopping\n"
    with pytest.raises(ScriptError, match="intent must be an intent name"):
        parse_script(intent, Path("s.yaml"))
    with pytest.raises(ScriptError, match="non-empty list of turns"):
        parse_script("name: x\nturns: []\n", Path("s.yaml"))


def test_empty_user_text_and_a_missing_name(tmp_path: Path) -> None:
    script = parse_script('turns:\n  - user: ""\n  - user:\n', tmp_path / "blank.yaml")
    assert script.name == "blank" and [t.user for t in script.turns] == ["", ""]


def test_folders_give_every_yaml_below_them(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in ("a/one.yaml", "a/b/two.yaml", "a/notes.txt"):
        (tmp_path / name).write_text(SCRIPT)
    assert [p.name for p in find_scripts([tmp_path / "a"])] == ["two.yaml", "one.yaml"]
    with pytest.raises(ScriptError, match="no such file"):
        find_scripts([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ScriptError, match="no conversation scripts"):
        find_scripts([tmp_path / "empty"])


# -- the checks -------------------------------------------------------------------------------

SHOWN = [card("p1", "10", "Sony"), card("p2", "30", "Sony", stock=0), card("p3", "50", "JBL")]


@pytest.mark.parametrize(
    ("expect", "turn", "failed"),
    [
        ({"intent": "search"}, result(), []),
        ({"intent": ["greeting", "other"]}, result(), ["intent"]),
        ({"tools_called": ["search_products"]}, result(), []),
        ({"tools_called": ["compare_products"]}, result(), ["tools_called"]),
        ({"tools_called": []}, result(tools_called=[]), []),
        ({"tools_called": []}, result(), ["tools_called"]),
        ({"tools_not_called": ["compare_products"]}, result(), []),
        ({"tools_not_called": ["search_products"]}, result(), ["tools_not_called"]),
        ({"products_min": 3, "products_max": 3}, result(SHOWN), []),
        ({"products_min": 4}, result(SHOWN), ["products_min"]),
        ({"products_max": 2}, result(SHOWN), ["products_max"]),
        ({"products_max_price": 50, "products_min_price": 10}, result(SHOWN), []),
        ({"products_max_price": 49.99}, result(SHOWN), ["products_max_price"]),
        ({"products_min_price": 10.01}, result(SHOWN), ["products_min_price"]),
        ({"products_brand": "sony"}, result(SHOWN[:2]), []),
        ({"products_brand": "Sony"}, result(SHOWN), ["products_brand"]),
        ({"products_in_stock": True}, result([SHOWN[0], SHOWN[2]]), []),
        ({"products_in_stock": True}, result(SHOWN), ["products_in_stock"]),
        ({"products_in_stock": False}, result(SHOWN), []),
        ({"products_in_stock": False}, result(SHOWN[:1]), ["products_in_stock"]),
        ({"products_include": ["p1", "p3"], "products_exclude": ["p9"]}, result(SHOWN), []),
        ({"products_include": ["p9"]}, result(SHOWN), ["products_include"]),
        ({"products_exclude": ["p2"]}, result(SHOWN), ["products_exclude"]),
        ({"reply_contains_any": ["NOPE", "here"]}, result(), []),
        ({"reply_contains_any": ["nope"]}, result(), ["reply_contains_any"]),
        ({"reply_contains_all": ["HERE", "you"]}, result(), []),
        ({"reply_contains_all": ["here", "nope"]}, result(), ["reply_contains_all"]),
        ({"reply_not_contains": "free"}, result(), []),
        ({"reply_not_contains": ["FREE"]}, result(reply="It is free!"), ["reply_not_contains"]),
        ({"grounded": True, "fallback": False}, result(), []),
        ({"grounded": True}, result(grounded=False), ["grounded"]),
        ({"fallback": False}, result(fallback=True), ["fallback"]),
        ({"handoff": True, "state_changed": True}, result(handoff=True, state_changed=True), []),
        ({"handoff": True}, result(), ["handoff"]),
        ({"state_changed": True}, result(), ["state_changed"]),
    ],
)
def test_each_expectation_passes_and_fails(
    expect: dict[str, Any], turn: TurnResult, failed: list[str]
) -> None:
    assert [key for key, _ in check_turn(expect, turn, [])] == failed


def test_refers_to_shown_reads_refs_or_the_subject_shown() -> None:
    def failed(position: int, turn: TurnResult) -> bool:
        return bool(check_turn({"refers_to_shown": position}, turn, SHOWN))

    assert not failed(2, result([SHOWN[1]], refs=[2]))
    assert not failed(2, result([SHOWN[1]]))  # no refs reported: the product shown decides
    assert not failed(-1, result([SHOWN[2]], refs=[3]))
    assert not failed(-1, result([], refs=[-1]))
    assert failed(1, result([SHOWN[1]], refs=[2]))
    assert failed(4, result([]))
    got = check_turn({"refers_to_shown": 1}, result([SHOWN[2]], refs=[3]), SHOWN)
    assert got == [("refers_to_shown", {"refs": [3], "first_product": "p3"})]


def test_failures_carry_what_was_got_as_json_data() -> None:
    got = dict(check_turn({"products_max_price": 20, "products_brand": "JBL"}, result(SHOWN), []))
    assert got == {"products_max_price": [30, 50], "products_brand": ["Sony", "Sony"]}
    json.dumps(got)


# -- the runner on the fake assistant ---------------------------------------------------------


def test_a_script_runs_against_the_fake_assistant(tmp_path: Path) -> None:
    bot = make(tmp_path, fake_model())
    script = parse_script(SCRIPT, tmp_path / "s.yaml")
    run = run_script(bot, script)
    assert run.passed, run.failures
    assert run.session_id.startswith("converse-")
    wrong = parse_script(SCRIPT.replace("refers_to_shown: 2", "refers_to_shown: 1"), Path("w"))
    failures = run_script(bot, wrong).failures
    assert [(f.turn, f.key, f.expected) for f in failures] == [(2, "refers_to_shown", 1)]
    assert failures[0].as_dict()["got"]["refs"] == [2]


def test_each_run_is_a_new_session_signed_in_as_the_customer(tmp_path: Path) -> None:
    seen: list[tuple[str, str | None]] = []

    class Recorder:
        def respond(self, session_id: str, text: str, customer_id: str | None = None) -> Any:
            seen.append((session_id, customer_id))
            return result()

    script = parse_script(SCRIPT, Path("s.yaml"))
    anonymous = parse_script(SCRIPT.replace("customer: C001\n", ""), Path("a.yaml"))
    run_scripts(Recorder(), [script, anonymous], repeat=2, customer="C777")
    sessions = [s for s, _ in seen]
    assert len(set(sessions)) == 4 and sessions[0] == sessions[1]
    assert [c for _, c in seen] == ["C001"] * 4 + ["C777"] * 4


def test_an_assistant_error_ends_the_run_as_a_failure(tmp_path: Path) -> None:
    class Refuses:
        def respond(self, session_id: str, text: str, customer_id: str | None = None) -> Any:
            raise AssistantError("session belongs to another customer")

    run = run_script(Refuses(), parse_script(SCRIPT, Path("s.yaml")))
    assert [(f.turn, f.key, f.got) for f in run.failures] == [
        (1, "error", "session belongs to another customer")
    ]


# -- pass^k -----------------------------------------------------------------------------------


def report_of(outcomes: list[list[bool]]) -> Report:
    """A report whose script i passed its run j when outcomes[i][j]."""
    scripts = [
        Script(f"s{i}", Path(f"s{i}.yaml"), [Turn("hi", {}, 1)]) for i in range(len(outcomes))
    ]
    runs = [
        [
            Run(s, n, "x", [] if ok else [Failure(s.name, 1, "grounded", True, False)])
            for n, ok in enumerate(row, 1)
        ]
        for s, row in zip(scripts, outcomes, strict=True)
    ]
    return Report(scripts, len(outcomes[0]), runs)


def test_pass_hat_k_is_the_share_passing_all_of_the_first_k_runs() -> None:
    report = report_of(
        [
            [True, True, True, True],  # passes every run
            [True, True, False, True],  # fails the third
            [False, True, True, True],  # fails the first
            [True, True, True, False],  # fails the fourth
        ]
    )
    assert [report.pass_hat(k) for k in (1, 2, 3, 4)] == [0.75, 0.75, 0.5, 0.25]
    assert report.passed == 1
    summary = report.summary()
    assert summary["pass^1"] == 0.75 and summary["pass^k"] == {
        "1": 0.75,
        "2": 0.75,
        "3": 0.5,
        "4": 0.25,
    }
    assert (summary["scripts"], summary["passed"], len(summary["failures"])) == (4, 1, 3)
    with pytest.raises(ValueError):
        report.pass_hat(5)


def test_pass_hat_never_rises_with_k() -> None:
    report = report_of([[True, False, True], [True, True, True], [False, False, True]])
    figures = [report.pass_hat(k) for k in (1, 2, 3)]
    assert figures == sorted(figures, reverse=True)


# -- the command ------------------------------------------------------------------------------


def test_json_last_line_has_the_issue_shape(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bot = make(tmp_path, fake_model())
    ok = parse_script(SCRIPT, Path("ok.yaml"))
    bad = parse_script(
        SCRIPT.replace("products_max_price: 50", "products_max_price: 30"), Path("b")
    )
    converse(bot, [ok, bad], repeat=2, customer=None, as_json=True)
    out = capsys.readouterr()
    lines = out.out.strip().splitlines()
    summary = json.loads(lines[-1])
    assert list(summary) == ["scripts", "passed", "pass^1", "pass^k", "failures"]
    assert (summary["scripts"], summary["passed"], summary["pass^1"]) == (2, 1, 0.5)
    assert summary["pass^k"] == {"1": 0.5, "2": 0.5}
    assert summary["failures"][0] == {
        "script": "cheap speaker then stock question",
        "turn": 1,
        "key": "products_max_price",
        "expected": 30,
        "got": [49.99],
    }
    assert lines[0].startswith("script") and "[4/4]" in out.err


def test_the_command_rejects_a_malformed_script_before_any_turn(tmp_path: Path) -> None:
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """A group, so that `converse` is a sub-command as in `shopassist`."""

    register(app)
    bad = tmp_path / "bad.yaml"
    bad.write_text(SCRIPT.replace("grounded: true", "grounded_ok: true", 1))
    res = CliRunner().invoke(app, ["converse", str(tmp_path), "--json"])
    assert res.exit_code == 1
    assert "bad.yaml" in res.output and "'grounded_ok'" in res.output


# -- the pytest plugin ------------------------------------------------------------------------

PLUGIN_CONFTEST = '''
from decimal import Decimal

import pytest

from assistant.intent import Intent, IntentName
from assistant.reply import ProductCard, TurnResult


class Echo:
    """Shows one $20 product for any message."""

    def respond(self, session_id, text, customer_id=None):
        card = ProductCard("p1", "Thing", "Acme", Decimal("20"), "USD", 3, "in_stock", None, "")
        intent = Intent(intent=IntentName.SEARCH)
        return TurnResult(
            session_id, text, "Thing - $20.00", [card], intent, "parser", True, False,
            ["search_products"],
        )


@pytest.hookimpl
def pytest_converse_assistant(config):
    return Echo()
'''


def test_the_plugin_collects_scripts_and_lists_the_failed_expectations(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(PLUGIN_CONFTEST)
    folder = pytester.mkdir("conversations")
    (folder / "good.yaml").write_text(
        "name: good\nturns:\n  - user: mouse\n    expect: {products_max_price: 25}\n"
    )
    (folder / "bad.yaml").write_text(
        "name: bad\nturns:\n  - user: mouse\n    expect: {products_brand: Sony}\n"
    )
    (pytester.path / "other.yaml").write_text("not: a script\n")  # outside `conversations`
    res = pytester.runpytest_inprocess("-p", "ui.pytest_plugin", "--converse-repeat", "2")
    res.assert_outcomes(passed=1, failed=1)
    res.stdout.fnmatch_lines(
        [
            "*conversation 'bad' (bad.yaml):*",
            "*run 1/2, turn 1 (line 3, user 'mouse'): "
            "products_brand: expected 'Sony', got ?'Acme'?*",
            "*conversations: 1/2 passed; pass^1 0.500  pass^2 0.500*",
        ]
    )
    assert pytester.runpytest_inprocess("-p", "ui.pytest_plugin", "-m", "not llm").ret == 5


def test_the_plugin_reports_a_malformed_script_as_a_collection_error(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeconftest(PLUGIN_CONFTEST)
    folder = pytester.mkdir("conversations")
    (folder / "typo.yaml").write_text(
        "name: t\nturns:\n  - user: hi\n    expect: {groundd: true}\n"
    )
    res = pytester.runpytest_inprocess("-p", "ui.pytest_plugin")
    res.stdout.fnmatch_lines(["*typo.yaml:4: unknown expectation key 'groundd'*"])
    assert res.ret == 2
