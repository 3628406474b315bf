"""`shopassist train reranker-student`: distil the cross-encoder into a shallower, faster one."""

from __future__ import annotations

import json
import random
import shutil
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from ranking.cross_encoder import PACKED_WEIGHTS
from ranking.data import Pair, read_homedepot, split_by_query
from ranking.errors import RankingError
from retrieval.errors import CatalogError
from ui.settings import Settings


def catalog_pairs(
    icecat: Path, queries: int, exclude: set[str], seed: int
) -> tuple[list[Pair], list[Pair], dict[tuple[str, str], float]]:
    """(train, validation) unlabelled pairs of catalog queries and their candidates, and the
    weak grades of those whose query names a product type, by (query, text)."""
    from retrieval.icecat import load_icecat
    from retrieval.synthetic import catalog_queries
    from retrieval.text import rerank_text

    pairs: list[Pair] = []
    grades: dict[tuple[str, str], float] = {}
    for drawn in catalog_queries(load_icecat(icecat), queries, seed=seed, exclude=exclude):
        for product in drawn.candidates:
            text = rerank_text(product)
            pairs.append(Pair(drawn.text, text, -1.0))
            grade = drawn.grade(product)
            if grade is not None:
                grades[(drawn.text, text)] = grade
    train, val = split_by_query(pairs, 0.05, seed)
    return train, val, grades


TEACHER_FILES = {
    "training_report.json": "teacher_report.json",
    "training_curves.png": "teacher_curves.png",
    "MODEL_CARD.md": "TEACHER_CARD.md",
}


def keep_teacher_card(teacher: Path, target: Path) -> None:
    """Copy the teacher's report, curves and card beside the student (the student's provenance).

    A distilled teacher passes on its own teacher's files instead.
    """
    target.mkdir(parents=True, exist_ok=True)
    report = teacher / "training_report.json"
    distilled = report.exists() and json.loads(report.read_text()).get("kind") == "distilled"
    for name, kept in TEACHER_FILES.items():
        source = teacher / (kept if distilled else name)
        if not source.exists() or source.resolve() == (target / kept).resolve():
            continue
        if kept == "TEACHER_CARD.md" and not distilled:
            note = (
                "> The card of the teacher: the model in this folder is a student distilled from "
                "it (`MODEL_CARD.md`). The teacher's own weights are not kept here.\n\n"
            )
            (target / kept).write_text(note + source.read_text())
        else:
            shutil.copyfile(source, target / kept)


def _rounds(report: dict[str, Any]) -> list[dict[str, Any]]:
    """The report's earlier rounds (oldest first), then the report itself."""
    earlier = report["extra"].get("previous_round")
    return [*(_rounds(earlier) if earlier else []), report]


def write_student_card(target: Path, report: dict[str, Any]) -> None:
    """MODEL_CARD.md of a distilled student, from its training report (and earlier rounds')."""
    cfg, extra = report["config"], report["extra"]
    rounds = _rounds(report)
    rows = "\n".join(
        f"| {n} | {e['epoch']} | {r['config'].get('weak_weight', 0)} | {r['config']['lr']} "
        f"| {e['train_mse']:.4f} | {e['val_mse']:.4f} | {e['val_spearman']:.4f} "
        f"| {e['val_ndcg10'] or 0:.4f} | {e.get('val_weak_ndcg10') or 0:.4f} "
        f"| {e['pairs_per_s']:.0f} |"
        for n, r in enumerate(rounds, start=1)
        for e in r["epochs"]
    )
    commands = "\n".join(
        f"  {n}. `{r['extra'].get('command')}`" for n, r in enumerate(rounds, start=1)
    )
    header = (
        "| round | epoch | weak weight | lr | train loss | val MSE | val Spearman vs teacher "
        "| val nDCG@10 | weak nDCG@10 | pairs/s |\n|---|---|---|---|---|---|---|---|---|---|"
    )
    depth = len(cfg["layers"])
    text = f"""# shopassist re-ranker: a {depth}-layer cross-encoder distilled from the 6-layer one

A BERT cross-encoder (MiniLM-H384, {depth} transformer layers) that scores (query, product text)
pairs for re-ranking search results. It is the fine-tuned 6-layer cross-encoder (the teacher:
`TEACHER_CARD.md`, `teacher_report.json`) made about 3x cheaper, so that re-ranking 50
candidates fits the latency budget on 2 CPU cores.

- **Student**: the teacher with only its layers {cfg["layers"]} (embeddings, pooler and head
  kept), then trained to reproduce the teacher's scores ({len(rounds)} round(s), below).
- **Data**: {extra.get("catalog_train_pairs")} pairs of shopper-like queries drawn from the
  Icecat catalog ("mouse", "logitech mouse", "wireless mouse"; the judgment queries excluded)
  with their BM25 candidates and random products (`retrieval/synthetic.py`);
  {extra.get("homedepot_train_pairs")} Home Depot pairs and the {extra.get("icecat_train_pairs")}
  Icecat judgment pairs of the teacher's training split. Validation: held-out queries
  ({report["val_queries"]} queries, {report["val_pairs"]} pairs), split as the teacher's was.
- **Targets**: the teacher's logits (bf16, max length {cfg["teacher_max_length"]}),
  standardised (mean {extra.get("target_mean", 0):.3f}, std {extra.get("target_std", 0):.3f};
  folded back into the head after training). No human label is trained on.
- **Weak grades**: a catalog query that names a product type grades its candidates from the
  catalog's structure (3: that type and brand, 2: that type, 1: the brand or the query's words
  in the title, as for an accessory, 0: otherwise; `CatalogQuery.grade`).
- **Loss**: MSE + MSE of the scores centred per query (the order within a query), plus the
  weak weight times ListNet on the weak grades. AdamW, weight decay {cfg["weight_decay"]},
  warm-up {cfg["warmup"]:.0%} then linear decay, batches of whole queries of at least
  {cfg["batch_pairs"]} pairs, max length {cfg["max_length"]}, seed {cfg["seed"]},
  word-embedding table frozen. The teacher scored the pairs in {report["teacher_seconds"]:.0f} s
  (0 when its scores came from the cache of an earlier round).
- **Training** (Spearman: per query, against the teacher; nDCG@10 on the
  {extra.get("labelled_val_queries")} human-labelled validation queries, where the teacher
  scores {report["teacher_val_ndcg10"]:.4f} and the un-tuned MiniLM cosine
  {extra.get("baseline_val_ndcg10", 0):.4f}; weak nDCG@10 on the weak grades of the held-out
  catalog queries, where the teacher scores {extra.get("teacher_val_weak_ndcg10") or 0:.4f}):

{header}
{rows}

  Curves (last round): `training_curves.png`; all figures: `training_report.json`.
- **Stored**: `{PACKED_WEIGHTS}` holds every 2-D weight as int8 with one fp32 scale per row and
  the rest in fp16 ({extra.get("packed_bytes", 0) / 1e6:.1f} MB); loading dequantises it to
  fp32. It is made for the fused per-channel int8 ONNX path
  (`SHOPASSIST_RERANKER_PRECISION=onnx-int8`, built once under `$SHOPASSIST_HOME/models`;
  `bf16`, `int8`, `fp32` run it in torch); see the README for the latency measurements.
- **Reproduce** (2 CPU cores; the Home Depot file and the Icecat catalog beside the checkout;
  nothing is trained during set-up): run the round(s) in order. Without `--teacher` they distil
  the bundled `ranking/model`; to start from scratch, train the teacher as `TEACHER_CARD.md`
  says into TEACHER_DIR and add `--teacher TEACHER_DIR` to each:
{commands}
"""
    (target / "MODEL_CARD.md").write_text(text)


def register(train_app: typer.Typer) -> None:
    """Add `train reranker-student` to the `train` group."""

    @train_app.command("reranker-student")
    def train_reranker_student(
        teacher: Annotated[
            Path | None, typer.Option(help="The teacher's folder (default: the bundled model)")
        ] = None,
        init: Annotated[
            Path | None,
            typer.Option(help="Continue from this student instead of the teacher's layers"),
        ] = None,
        layers: Annotated[
            str, typer.Option(help="Teacher layers the student keeps, comma-separated")
        ] = "0,5",
        homedepot: Annotated[Path, typer.Option(help="Home Depot train.csv.zip")] = Path(
            "../shared/data/homedepot/train.csv.zip"
        ),
        homedepot_pairs: Annotated[
            int, typer.Option(min=0, help="Home Depot training pairs (whole queries, seeded)")
        ] = 15000,
        judgments: Annotated[
            Path | None, typer.Option(help="Icecat judgments CSV (pairs + excluded queries)")
        ] = Path("../shared/data/relevance/icecat_judgments_dev.csv"),
        icecat: Annotated[Path | None, typer.Option(help="Icecat folder")] = None,
        catalog_queries: Annotated[
            int, typer.Option(min=0, help="Catalog queries drawn (35 candidates each)")
        ] = 1500,
        epochs: Annotated[int, typer.Option(min=1)] = 3,
        weak_weight: Annotated[
            float,
            typer.Option(min=0.0, help="Weight of the ListNet term on the catalog's weak grades"),
        ] = 1.0,
        lr: Annotated[float, typer.Option()] = 2e-4,
        max_length: Annotated[int, typer.Option(min=16, max=512)] = 40,
        seed: Annotated[int, typer.Option()] = 13,
        out: Annotated[
            Path | None, typer.Option(help="Output folder (default $HOME/models/reranker-student)")
        ] = None,
    ) -> None:
        """Distil the re-ranker into a student with fewer layers (the teacher's scores as targets).

        Pairs: catalog queries drawn from the Icecat products with their BM25 candidates
        (the judgment queries excluded), a sample of Home Depot pairs and the Icecat judgment
        pairs, split by query as the teacher was. Labels only measure validation nDCG@10.
        """
        from tqdm import tqdm

        from ranking.cross_encoder import bundled_model_dir
        from ranking.distill import DistillConfig, distill
        from ranking.metrics import mean_ndcg
        from retrieval.evaluation import read_judgments
        from ui.train_cli import _sample_queries, cosine_scores, icecat_pairs

        settings = Settings()
        try:
            kept = tuple(int(x) for x in layers.split(","))
        except ValueError:
            raise typer.BadParameter(
                f"--layers must be comma-separated integers, got {layers!r}"
            ) from None
        folder = icecat or settings.icecat_dir
        try:
            hd_train, hd_val = split_by_query(read_homedepot(homedepot), 0.05)
            judged = read_judgments(judgments) if judgments else {}
            domain = icecat_pairs(judgments, folder) if judgments else []
            cat_train, cat_val, grades = catalog_pairs(folder, catalog_queries, set(judged), seed)
        except (RankingError, CatalogError) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        dom_train, dom_val = split_by_query(domain, 0.05) if domain else ([], [])
        hd_train = _sample_queries(hd_train, homedepot_pairs) if homedepot_pairs else []
        train = [*cat_train, *hd_train, *dom_train]
        random.Random(seed).shuffle(train)
        val = [*cat_val, *hd_val, *dom_val]
        typer.echo(
            f"{len(train)} training pairs ({len(cat_train)} catalog, {len(hd_train)} Home Depot, "
            f"{len(dom_train)} Icecat judged); {len(val)} validation pairs",
            err=True,
        )
        teacher_dir = teacher or bundled_model_dir()
        target = out or settings.models_dir / "reranker-student"
        keep_teacher_card(teacher_dir, target)
        config = DistillConfig(
            layers=kept,
            epochs=epochs,
            lr=lr,
            max_length=max_length,
            seed=seed,
            weak_weight=weak_weight,
        )
        bar = tqdm(file=sys.stderr, unit="batch")

        def progress(stage: str, n: int, total: int, running: float) -> None:
            bar.set_description(stage)
            bar.total, bar.n = total, n
            if running:
                bar.set_postfix(mse=f"{running:.4f}")
            bar.refresh()

        report, _, _ = distill(
            train,
            val,
            config,
            teacher_dir,
            target,
            labelled_val=lambda p: p.label >= 0,
            progress=progress,
            weak=[grades.get((p.query, p.text)) for p in train],
            weak_val=[grades.get((p.query, p.text)) for p in val],
            cache_dir=settings.models_dir / "distill-cache",
            init=init,
        )
        bar.close()
        for e in report.epochs:
            typer.echo(
                f"epoch {e.epoch}: train MSE {e.train_mse:.4f}, val MSE {e.val_mse:.4f}, "
                f"val Spearman vs teacher {e.val_spearman:.4f}, val nDCG@10 "
                f"{e.val_ndcg10 or 0:.4f}, weak-graded val nDCG@10 {e.val_weak_ndcg10 or 0:.4f} "
                f"({e.pairs_per_s:.0f} pairs/s)",
                err=True,
            )
        if init is not None and (init / "training_report.json").exists():
            report.extra["previous_round"] = json.loads((init / "training_report.json").read_text())
        labelled = [p for p in val if p.label >= 0]
        report.config["teacher"] = str(teacher) if teacher else "the bundled ranking/model"
        report.extra.update(
            command=" ".join(["shopassist", *sys.argv[1:]]),
            baseline_val_ndcg10=mean_ndcg(labelled, cosine_scores(labelled)),
            labelled_val_pairs=len(labelled),
            labelled_val_queries=len({p.query for p in labelled}),
            catalog_train_pairs=len(cat_train),
            homedepot_train_pairs=len(hd_train),
            icecat_train_pairs=len(dom_train),
        )
        data: dict[str, Any] = report.as_dict()
        (target / "training_report.json").write_text(json.dumps(data, indent=2))
        write_student_card(target, data)
        last = report.epochs[-1]
        typer.echo(
            json.dumps(
                {
                    "layers": list(kept),
                    "val_spearman_vs_teacher": round(last.val_spearman, 4),
                    "val_ndcg@10": round(last.val_ndcg10 or 0, 4),
                    "teacher_val_ndcg@10": round(report.teacher_val_ndcg10 or 0, 4),
                    "model": str(target),
                }
            )
        )
