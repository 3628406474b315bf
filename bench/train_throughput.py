"""Re-ranker training throughput (pairs/s): the same recipe on the CPU and on a GPU.

Runs `ranking.train.train`, the loop of `shopassist train reranker` (batches of whole queries,
AdamW with warm-up and decay, the frozen word table, tokenising each batch as it goes), for a
number of epochs over real pairs, and prints one JSON line: pairs/s of each epoch, the device,
and the validation nDCG@10 after each epoch. Training continues from the bundled re-ranker
(`ranking/model`, the same architecture as the MiniLM base), so the script needs no base model
beside the checkout.

The pairs are the split that `shopassist train reranker` makes (Home Depot + the Icecat dev
judgments, by query, `--icecat-repeat 3`). Build them once where the data is, then run anywhere:

    python bench/train_throughput.py --write-pairs DIR [--homedepot ZIP] [--judgments CSV]
    python bench/train_throughput.py --pairs-dir DIR --device cuda --precision bf16 \\
        --batch-pairs 256 [--epochs 2] [--max-pairs N] [--max-length 48] [--loss listwise]

`--write-pairs` keeps each text's first 80 words: at least 80 word pieces, more than the max
length keeps, so the truncated inputs are the same as from the full texts.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import random
import sys
import time
from pathlib import Path

from common import DEFAULT_ICECAT, DEFAULT_JUDGMENTS, ROOT, emit

from ranking.cross_encoder import _torch, bundled_model_dir
from ranking.data import Pair, by_query, read_pairs_csv
from ranking.train import LOSSES, PRECISIONS, TrainConfig, check_device, train

KEEP_WORDS = 80
DEFAULT_HOMEDEPOT = ROOT.parent / "shared" / "data" / "homedepot" / "train.csv.zip"


def write_pairs(out: Path, homedepot: Path, judgments: Path, icecat: Path) -> dict[str, int]:
    """The training command's split, as gzipped `query,text,label` CSVs in `out`."""
    from ranking.data import read_homedepot, split_by_query
    from ui.train_cli import icecat_pairs

    train_set, val_set = split_by_query(read_homedepot(homedepot), 0.05)
    domain_train, domain_val = split_by_query(icecat_pairs(judgments, icecat), 0.05)
    sets = {"train": train_set + domain_train * 3, "val": val_set + domain_val}
    out.mkdir(parents=True, exist_ok=True)
    for name, pairs in sets.items():
        with gzip.open(out / f"{name}.csv.gz", "wt", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["query", "text", "label"])
            for p in pairs:
                writer.writerow([p.query, " ".join(p.text.split()[:KEEP_WORDS]), p.label])
    return {name: len(pairs) for name, pairs in sets.items()}


def read_split(folder: Path, name: str) -> list[Pair]:
    """One split written by `write_pairs` (gzipped or not)."""
    plain = folder / f"{name}.csv"
    if not plain.exists():
        with gzip.open(folder / f"{name}.csv.gz", "rt", encoding="utf-8") as src:
            plain.write_text(src.read(), encoding="utf-8")
    return read_pairs_csv(plain)


def sample_queries(pairs: list[Pair], n: int, seed: int = 0) -> list[Pair]:
    """Whole queries, drawn at random, until at least `n` pairs."""
    groups = list(by_query(pairs).values())
    random.Random(seed).shuffle(groups)
    out: list[Pair] = []
    for group in groups:
        if len(out) >= n:
            break
        out += group
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--write-pairs", type=Path, help="write the split here and stop")
    ap.add_argument("--homedepot", type=Path, default=DEFAULT_HOMEDEPOT)
    ap.add_argument("--judgments", type=Path, default=DEFAULT_JUDGMENTS)
    ap.add_argument("--icecat", type=Path, default=DEFAULT_ICECAT)
    ap.add_argument("--pairs-dir", type=Path, help="a folder written by --write-pairs")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--precision", default="fp32", choices=PRECISIONS)
    ap.add_argument("--loss", default="listwise", choices=LOSSES)
    ap.add_argument("--batch-pairs", type=int, default=32)
    ap.add_argument("--max-length", type=int, default=48)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--max-pairs", type=int, help="train on a sample of whole queries")
    ap.add_argument("--max-val-pairs", type=int, help="validate on a sample of whole queries")
    ap.add_argument("--threads", type=int, help="CPU threads for torch (default: all)")
    args = ap.parse_args()
    if args.write_pairs:
        counts = write_pairs(args.write_pairs, args.homedepot, args.judgments, args.icecat)
        emit({"wrote": str(args.write_pairs), **counts})
        return
    if not args.pairs_dir:
        sys.exit("error: give --pairs-dir (a folder written by --write-pairs)")
    try:
        check_device(args.device, args.precision)
    except ValueError as exc:
        sys.exit(f"error: {exc}")
    if args.max_length > KEEP_WORDS:
        sys.exit(f"error: --max-length above {KEEP_WORDS} needs texts longer than the split keeps")
    train_pairs = read_split(args.pairs_dir, "train")
    val_pairs = read_split(args.pairs_dir, "val")
    if args.max_pairs:
        train_pairs = sample_queries(train_pairs, args.max_pairs)
    if args.max_val_pairs:
        val_pairs = sample_queries(val_pairs, args.max_val_pairs)
    config = TrainConfig(
        loss=args.loss,
        epochs=args.epochs,
        lr=args.lr,
        batch_pairs=args.batch_pairs,
        max_length=args.max_length,
        threads=args.threads,
        device=args.device,
        precision=args.precision,
    )
    torch = _torch()
    started = time.perf_counter()
    report, _, _ = train(train_pairs, val_pairs, config, bundled_model_dir())
    gpu = torch.cuda.get_device_name(0) if config.device.startswith("cuda") else None
    emit(
        {
            "bench": "train_throughput",
            "device": config.device,
            "gpu": gpu,
            "torch_threads": torch.get_num_threads(),
            "precision": config.precision,
            "loss": config.loss,
            "batch_pairs": config.batch_pairs,
            "max_length": config.max_length,
            "train_pairs": report.train_pairs,
            "val_pairs": report.val_pairs,
            "epochs": len(report.epochs),
            "pairs_per_s": [e.pairs_per_s for e in report.epochs],
            "epoch_seconds": [e.seconds for e in report.epochs],
            "val_ndcg@10": [round(e.val_ndcg10, 4) for e in report.epochs],
            "val_pair_accuracy": [round(e.val_pair_accuracy, 4) for e in report.epochs],
            "wall_s": round(time.perf_counter() - started, 1),
            "torch": torch.__version__,
        }
    )


if __name__ == "__main__":
    main()
