"""The `shopassist` command line, end to end on a real embedded Chroma.

Most tests use the hash embedder (fast); the `model` tests use the real MiniLM embedders.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ui.cli import app

pytestmark = pytest.mark.chroma
SHARED_JUDGMENTS = (
    Path(__file__).parents[2] / ".." / "shared/data/relevance/icecat_judgments_dev.csv"
)


def last_json(output: str) -> dict:
    return json.loads(output.strip().splitlines()[-1])


def test_ingest_search_show_apply(cli: CliRunner, tmp_path: Path) -> None:
    res = cli.invoke(app, ["catalog", "ingest", "--demo", "--limit", "300", "--json"])
    assert res.exit_code == 0, res.output
    assert last_json(res.stdout)["products"] == 300
    assert (tmp_path / "home" / "chroma").is_dir()

    again = cli.invoke(app, ["catalog", "ingest", "--demo", "--limit", "300", "--json"])
    assert last_json(again.stdout)["applied"] == 0  # idempotent

    res = cli.invoke(
        app, ["search", "toner cartridge", "--max-price", "60", "--no-rerank", "--json"]
    )
    assert res.exit_code == 0, res.output
    out = last_json(res.stdout)
    assert out["stage"] == "hybrid" and out["hits"]
    assert all(h["product"]["price"] <= 60 for h in out["hits"])
    first = out["hits"][0]["product"]

    res = cli.invoke(app, ["catalog", "show", first["id"], "--json"])
    shown = last_json(res.stdout)
    assert shown["id"] == first["id"] and isinstance(shown["price"], float)
    assert {"title", "brand", "stock"} <= shown.keys()

    feed = tmp_path / "feed.jsonl"
    feed.write_text(
        json.dumps({"op": "patch", "id": first["id"], "price": 1.25, "stock": 0}) + "\n"
        "{broken\n" + json.dumps({"op": "delete", "id": "no-such-id"}) + "\n"
    )
    res = cli.invoke(app, ["catalog", "apply", str(feed), "--json"])
    assert res.exit_code == 1
    report = last_json(res.stdout)
    assert report["applied"] == 1 and [e["line"] for e in report["errors"]] == [2, 3]
    assert "line 2" in res.stderr and "no-such-id" in res.stderr
    shown = last_json(cli.invoke(app, ["catalog", "show", first["id"], "--json"]).stdout)
    assert shown["price"] == 1.25 and shown["stock"] == 0
    res = cli.invoke(app, ["search", "toner cartridge", "--in-stock", "--no-rerank", "--json"])
    assert first["id"] not in [h["product"]["id"] for h in last_json(res.stdout)["hits"]]


def test_bad_input_gets_clear_errors(cli: CliRunner, tmp_path: Path) -> None:
    res = cli.invoke(app, ["catalog", "ingest", "--icecat", str(tmp_path / "none")])
    assert res.exit_code == 2 and "--demo" in res.stderr
    res = cli.invoke(app, ["catalog", "show", "nope"])
    assert res.exit_code == 1 and "No product with id 'nope'" in res.stderr
    res = cli.invoke(app, ["search", "x", "--max-price", "cheap", "--no-rerank"])
    assert res.exit_code != 0 and "--max-price must be a number" in res.output
    res = cli.invoke(app, ["search", "x", "--max-price", "nan", "--no-rerank"])
    assert res.exit_code == 2 and "--max-price must be a finite number" in res.output
    res = cli.invoke(app, ["search", "x", "--min-price", "100", "--max-price", "10"])
    assert res.exit_code == 2 and "--min-price 100 is above --max-price 10" in res.output
    res = cli.invoke(app, ["catalog", "apply", str(tmp_path / "missing.jsonl")])
    assert res.exit_code == 1 and "cannot read feed" in res.stderr


def test_bad_configuration_is_named_not_a_traceback(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHOPASSIST_RERANK_CANDIDATES", "many")
    monkeypatch.setenv("SHOPASSIST_FUSION_DENSE_WEIGHT", "-1")
    res = cli.invoke(app, ["search", "speaker", "--no-rerank"])
    assert res.exit_code == 2
    assert "SHOPASSIST_RERANK_CANDIDATES='many': Input should be a valid integer" in res.stderr
    assert "SHOPASSIST_FUSION_DENSE_WEIGHT='-1': Input should be greater than or equal to 0" in (
        res.stderr
    )
    assert "Traceback" not in res.output


def test_eval_retrieval_prints_table_and_json(cli: CliRunner, tmp_path: Path) -> None:
    cli.invoke(app, ["catalog", "ingest", "--demo", "--limit", "200"])
    from retrieval.icecat import load_demo

    products = load_demo(limit=200)
    toner = [p for p in products if p.category == "toner cartridge"][:3]
    judgments = tmp_path / "j.csv"
    judgments.write_text(
        "query,docid,rating\n" + "".join(f"toner cartridge,{p.id},3\n" for p in toner)
    )
    res = cli.invoke(
        app, ["eval", "retrieval", "--judgments", str(judgments), "--no-rerank", "--json"]
    )
    assert res.exit_code == 0, res.output
    out = last_json(res.stdout)
    assert out["queries"] == 1 and out["stage"] == "hybrid" and 0 < out["ndcg@10"] <= 1
    # Only relevant products were judged: none counts as a mistake, and the condensed ranking
    # (the three toners in the order found) can only score at least the official figure.
    assert out["judged_irrelevant@10"] == 0
    assert out["ndcg@10"] <= out["condensed_ndcg@10"] <= 1
    assert "toner cartridge" in res.output


def test_interactive_search(cli: CliRunner) -> None:
    cli.invoke(app, ["catalog", "ingest", "--demo", "--limit", "100"])
    res = cli.invoke(app, ["search", "--no-rerank"], input="cable\n\n")
    assert res.exit_code == 0 and "search>" in res.output and "why:" in res.output


@pytest.mark.model
def test_real_embedder_finds_speakers_and_scores_the_dev_judgments(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SHOPASSIST_EMBEDDER")
    monkeypatch.delenv("SHOPASSIST_QUERY_EMBEDDER")
    res = cli.invoke(app, ["catalog", "ingest", "--demo", "--json"])
    assert res.exit_code == 0, res.output
    res = cli.invoke(app, ["search", "bluetooth speaker", "-k", "5", "--no-rerank", "--json"])
    hits = last_json(res.stdout)["hits"]
    assert sum("speaker" in h["product"]["title"].lower() for h in hits) >= 4
    if not SHARED_JUDGMENTS.exists():
        pytest.skip("the dev judgments are not beside this checkout")
    args = ["eval", "retrieval", "--judgments", str(SHARED_JUDGMENTS), "--json"]
    hybrid = last_json(cli.invoke(app, [*args, "--no-rerank"]).stdout)
    # On the 4,000-product demo subset (every judged product plus distractors).
    assert hybrid["queries"] == 68 and hybrid["stage"] == "hybrid" and hybrid["ndcg@10"] >= 0.70
    reranked = last_json(cli.invoke(app, args).stdout)
    assert reranked["stage"] == "rerank" and reranked["ndcg@10"] > hybrid["ndcg@10"]
    # Also in the order of what the raters judged, whatever unjudged products come between.
    assert reranked["condensed_ndcg@10"] > hybrid["condensed_ndcg@10"]


@pytest.mark.model
def test_eval_pairs_and_reranked_search(cli: CliRunner, tmp_path: Path) -> None:
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(
        "query,text,label\n"
        "bluetooth speaker,JBL Flip 5 portable bluetooth speaker,3\n"
        "bluetooth speaker,HP 301 ink cartridge black,0\n"
        "bluetooth speaker,Sony wireless speaker with bluetooth,2\n"
        "usb cable,Belkin USB-C charging cable 2 m,3\n"
        "usb cable,Logitech K120 keyboard,0\n"
    )
    res = cli.invoke(app, ["eval", "pairs", "--file", str(pairs), "--json"])
    assert res.exit_code == 0, res.output
    out = last_json(res.stdout)
    assert out["queries"] == 2 and out["ndcg@10"] >= 0.95 and 0 <= out["baseline_ndcg@10"] <= 1
    bad = tmp_path / "bad.csv"
    bad.write_text("query,text\nx,y\n")
    res = cli.invoke(app, ["eval", "pairs", "--file", str(bad)])
    assert res.exit_code == 1 and "label" in res.stderr

    cli.invoke(app, ["catalog", "ingest", "--demo", "--limit", "300"])
    res = cli.invoke(app, ["search", "toner cartridge", "-k", "5", "--json"])
    out = last_json(res.stdout)
    assert out["stage"] == "rerank" and out["hits"]
    assert all(h["stage"] == "rerank" and "rerank_score" in h["why"] for h in out["hits"])


@pytest.mark.model
def test_chat_once_json_continues_a_session_across_invocations(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    # No model server answers here: every reply must still be correct, from the templates.
    monkeypatch.setenv("SHOPASSIST_LLM_URL", "http://127.0.0.1:9")
    assert cli.invoke(app, ["catalog", "ingest", "--demo", "--limit", "400"]).exit_code == 0
    res = cli.invoke(app, ["chat", "--once", "toner cartridge under $60", "--json"])
    assert res.exit_code == 0, res.output
    first = last_json(res.stdout)
    assert {"reply", "products", "intent", "grounded", "fallback"} <= first.keys()
    assert first["intent"]["intent"] == "search" and first["products"]
    assert first["grounded"] and first["fallback"] and "unavailable" in first["fault"]
    assert all(float(c["price"]) <= 60 for c in first["cards"])
    session = first["session"]

    res = cli.invoke(
        app, ["chat", "--once", "is the second one in stock?", "--session", session, "--json"]
    )
    second = last_json(res.stdout)
    assert second["products"] == [first["products"][1]] and second["refs"] == [2]
    card = second["cards"][0]
    assert card["title"] in second["reply"] and f"${card['price']}" in second["reply"]

    other = cli.invoke(app, ["chat", "--once", "hi", "--session", session, "--customer", "C001"])
    assert other.exit_code == 0  # the first sign-in claims the session
    denied = cli.invoke(app, ["chat", "--once", "hi", "--session", session, "--customer", "C002"])
    assert denied.exit_code == 1 and "another customer" in denied.output
    unknown = cli.invoke(app, ["chat", "--once", "my orders", "--customer", "C999"])
    assert unknown.exit_code == 1 and "no customer 'C999'" in unknown.output


@pytest.mark.model
def test_interactive_chat_streams_replies(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHOPASSIST_LLM_URL", "http://127.0.0.1:9")
    assert cli.invoke(app, ["catalog", "ingest", "--demo", "--limit", "200"]).exit_code == 0
    res = cli.invoke(app, ["chat"], input="hello\ntoner\n\n")
    assert res.exit_code == 0, res.output
    assert "Hello!" in res.stdout and "1. " in res.stdout
    assert "[Searching the catalog for toner]" in res.stderr


def test_train_reranker_student_rejects_bad_input(cli: CliRunner, tmp_path: Path) -> None:
    res = cli.invoke(app, ["train", "reranker-student", "--layers", "0,five"])
    assert res.exit_code == 2 and "comma-separated integers" in res.output
    missing = tmp_path / "nowhere.csv.zip"
    res = cli.invoke(app, ["train", "reranker-student", "--homedepot", str(missing)])
    assert res.exit_code == 1 and "Home Depot" in res.stderr
    assert not (tmp_path / "home" / "models" / "reranker-student").exists()  # nothing written


def test_train_reranker_rejects_a_device_it_cannot_use(cli: CliRunner) -> None:
    torch = pytest.importorskip("torch")
    res = cli.invoke(app, ["train", "reranker", "--precision", "fp8"])
    assert res.exit_code == 2 and "precision" in res.output
    if not torch.cuda.is_available():
        res = cli.invoke(app, ["train", "reranker", "--device", "cuda"])
        assert res.exit_code == 2 and "no CUDA GPU" in res.output


def test_the_model_card_says_which_epoch_is_stored(tmp_path: Path) -> None:
    from ranking.train import EpochStats, TrainConfig, TrainReport
    from ui.train_cli import write_model_card

    def report(keep_best: bool, kept: int) -> dict[str, object]:
        epochs = [EpochStats(e, 1.0, 1.0, v, 0.5, 10.0, 40.0) for e, v in ((1, 0.89), (2, 0.88))]
        config = TrainConfig(loss="listwise", keep_best=keep_best)
        out = TrainReport({**config.__dict__}, 10, 2, 4, 1, 0.87, epochs, kept_epoch=kept)
        data = out.as_dict()
        data["extra"] = {"command": "shopassist train reranker", "loss_comparison": {}}
        return data

    write_model_card(tmp_path, report(True, 1))
    card = (tmp_path / "MODEL_CARD.md").read_text()
    assert "The model stored is epoch 1's, the best validation nDCG@10." in card
    assert "| 2 | 1.0000 | 1.0000 | 0.8800 |" in card  # every epoch stays in the table
    write_model_card(tmp_path, report(False, 2))
    assert "epoch 2's (`--keep-last`: the last one)" in (tmp_path / "MODEL_CARD.md").read_text()


def test_the_model_card_says_when_the_loss_was_given(tmp_path: Path) -> None:
    from ranking.train import EpochStats, TrainConfig, TrainReport
    from ui.train_cli import write_model_card

    epochs = [EpochStats(1, 1.0, 1.0, 0.89, 0.5, 10.0, 40.0)]
    out = TrainReport({**TrainConfig(loss="listwise").__dict__}, 10, 2, 4, 1, 0.87, epochs)
    data = out.as_dict()
    comparison = {"pointwise": 0.8758, "pairwise": 0.8737, "listwise": 0.8756}
    data["extra"] = {"command": "shopassist train reranker", "loss_comparison": comparison}
    data["extra"]["compare_pairs"] = 3000
    write_model_card(tmp_path, data)
    card = (tmp_path / "MODEL_CARD.md").read_text()
    assert "| pointwise | 0.8758 |" in card and "given on the command line" not in card
    data["extra"]["loss_given"] = True
    write_model_card(tmp_path, data)
    card = (tmp_path / "MODEL_CARD.md").read_text()
    assert "given on the command line (`--loss listwise`)" in card
    assert "(its best: pointwise)" in card


def test_auto_loss_needs_the_comparison(cli: CliRunner) -> None:
    res = cli.invoke(app, ["train", "reranker", "--no-compare-losses"])
    assert res.exit_code == 2 and "--no-compare-losses" in res.output
