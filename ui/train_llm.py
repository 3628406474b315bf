"""`shopassist train llm`: a LoRA adapter for the instruction model, trained on CPU.

The data comes from `assistant.llm_data` (labelled by construction, the evaluation set left
out); the loss is on the answer tokens only; validation holds out whole template groups. The
adapter, a JSON report, a PNG loss curve and the model card's recipe go to `--out`.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer

from assistant.errors import AssistantOperatorError
from assistant.llm_data import Example, read_target

BASE_MODEL_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
TARGET_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass
class LoraRecipe:
    """How the adapter is trained (all of it goes into the report and the model card).

    Attributes:
        rank: LoRA rank (vLLM is started with `--max-lora-rank` at least this).
        alpha: LoRA scaling numerator (scale = alpha / rank).
        dropout: LoRA dropout.
        target_modules: The linear layers adapted.
        epochs: Passes over the training examples at most: the adapter kept is the one with
            the lowest validation loss, checked every `eval_every` steps.
        lr: Peak AdamW learning rate (linear warm-up, then linear decay to 0).
        batch_size: Examples per step.
        max_length: Tokens per example (prompt + answer); longer prompts are cut on the left.
        eval_every: Steps between validation losses.
        val_loss_examples: Validation examples scored for the loss.
        val_decode_examples: Validation intent examples decoded greedily for accuracy.
        seed: Seed of the shuffle, dropout and initialisation.
        threads: torch CPU threads.
    """

    rank: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: tuple[str, ...] = TARGET_MODULES
    epochs: float = 1.0
    lr: float = 1e-3
    batch_size: int = 16
    max_length: int = 128
    eval_every: int = 40
    val_loss_examples: int = 128
    val_decode_examples: int = 60
    seed: int = 0
    threads: int = 2
    extra: dict[str, Any] = field(default_factory=dict)


def _encode(tokenizer: Any, example: Example, max_length: int) -> tuple[list[int], list[int]]:
    """Input ids and labels (-100 on the prompt) of one example."""
    chat = [{"role": m.role, "content": m.content} for m in example.messages]
    prompt = tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(example.target + "<|im_end|>", add_special_tokens=False)["input_ids"]
    answer_ids = answer_ids[: max_length // 2]
    prompt_ids = prompt_ids[-(max_length - len(answer_ids)) :]
    return prompt_ids + answer_ids, [-100] * len(prompt_ids) + answer_ids


def _batch(rows: Sequence[tuple[list[int], list[int]]], pad_id: int) -> dict[str, Any]:
    import torch

    width = max(len(ids) for ids, _ in rows)
    ids = [x + [pad_id] * (width - len(x)) for x, _ in rows]
    labels = [y + [-100] * (width - len(y)) for _, y in rows]
    mask = [[1] * len(x) + [0] * (width - len(x)) for x, _ in rows]
    return {
        "input_ids": torch.tensor(ids),
        "labels": torch.tensor(labels),
        "attention_mask": torch.tensor(mask),
    }


def _val_loss(
    model: Any, rows: Sequence[tuple[list[int], list[int]]], size: int, pad: int
) -> float:
    import torch

    model.eval()
    total, tokens = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(rows), size):
            batch = _batch(rows[i : i + size], pad)
            n = int((batch["labels"][:, 1:] != -100).sum())
            total += float(model(**batch).loss) * n
            tokens += n
    model.train()
    return total / max(tokens, 1)


def decode_accuracy(model: Any, tokenizer: Any, examples: Sequence[Example]) -> dict[str, Any]:
    """Greedy decoding of intent examples: the share with the right intent, with the right
    whole target, and that validate as `Intent`."""
    import torch

    model.eval()
    right = exact = valid = 0
    samples: list[dict[str, str]] = []
    tokenizer.padding_side = "left"
    for ex in examples:
        chat = [{"role": m.role, "content": m.content} for m in ex.messages]
        prompt = tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
        ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        with torch.no_grad():
            out = model.generate(
                **ids,
                max_new_tokens=64,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
            )
        text = tokenizer.decode(out[0, ids["input_ids"].shape[1] :], skip_special_tokens=True)
        gold = read_target(ex.target)
        try:
            got = read_target(text.strip())
            valid += 1
            right += got.intent == gold.intent
            exact += got == gold
        except ValueError:
            pass
        if len(samples) < 8:
            samples.append({"message": ex.text, "gold": ex.target, "got": text.strip()})
    model.train()
    n = max(len(examples), 1)
    return {
        "n": len(examples),
        "intent_accuracy": round(right / n, 3),
        "exact_match": round(exact / n, 3),
        "valid_json": round(valid / n, 3),
        "samples": samples,
    }


def length_buckets(lengths: Sequence[int], size: int, rng: random.Random) -> list[list[int]]:
    """One epoch of batches: shuffled, then sorted by length within windows of 8 batches so
    that a batch pads little, then the batches shuffled. Every index appears exactly once."""
    order = list(range(len(lengths)))
    rng.shuffle(order)
    window = size * 8
    batches: list[list[int]] = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window], key=lambda i: lengths[i])
        batches += [chunk[i : i + size] for i in range(0, len(chunk), size)]
    rng.shuffle(batches)
    return batches


def train_lora(
    base: Path,
    train: Sequence[Example],
    val: Sequence[Example],
    out: Path,
    recipe: LoraRecipe,
    progress: bool = True,
    resume: Path | None = None,
) -> dict[str, Any]:
    """Train a LoRA adapter on `base` (a causal LM folder with its tokenizer) and save it, the
    report (`training_report.json`) and the loss curve (`training_curves.png`) under `out`.

    With `resume` (an adapter folder), that adapter is trained further instead of a new one.

    Returns:
        The report.
    """
    try:
        import torch
        from peft import LoraConfig, get_peft_model
        from tqdm import tqdm
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise AssistantOperatorError(
            f"{exc.name} is missing - install peft into the environment (see the model card)"
        ) from exc

    torch.manual_seed(recipe.seed)
    torch.set_num_threads(recipe.threads)
    rng = random.Random(recipe.seed)
    tokenizer = AutoTokenizer.from_pretrained(base)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    model: Any = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    config = LoraConfig(
        r=recipe.rank,
        lora_alpha=recipe.alpha,
        lora_dropout=recipe.dropout,
        target_modules=list(recipe.target_modules),
        task_type="CAUSAL_LM",
    )
    if resume is not None:  # go on training an adapter (its rank and modules are kept)
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, resume, is_trainable=True)
    else:
        model = get_peft_model(model, config)
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    rows = [_encode(tokenizer, ex, recipe.max_length) for ex in train]
    val_rows = [_encode(tokenizer, ex, recipe.max_length) for ex in val]
    val_rows = rng.sample(val_rows, min(len(val_rows), recipe.val_loss_examples))
    steps_per_epoch = math.ceil(len(rows) / recipe.batch_size)
    total = max(1, round(steps_per_epoch * recipe.epochs))
    warmup = max(1, total // 20)
    optim = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=recipe.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        optim, lambda s: min((s + 1) / warmup, max(0.0, (total - s) / max(1, total - warmup)))
    )
    history: dict[str, list[Any]] = {"train": [], "val": []}
    model.train()
    started = time.perf_counter()
    history["val"].append([0, round(_val_loss(model, val_rows, recipe.batch_size, pad), 4)])
    bar = tqdm(range(total), desc="lora", disable=not progress)
    batches: list[list[int]] = []
    best = (history["val"][0][1], 0, _lora_state(model))
    for step in bar:
        if not batches:
            batches = length_buckets([len(ids) for ids, _ in rows], recipe.batch_size, rng)
        picked = batches.pop()
        loss = model(**_batch([rows[i] for i in picked], pad)).loss
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        sched.step()
        optim.zero_grad()
        value = float(loss.detach())
        history["train"].append([step + 1, round(value, 4)])
        bar.set_postfix(loss=f"{value:.3f}")
        if (step + 1) % recipe.eval_every == 0 or step + 1 == total:
            v = _val_loss(model, val_rows, recipe.batch_size, pad)
            history["val"].append([step + 1, round(v, 4)])
            bar.set_postfix(loss=f"{value:.3f}", val=f"{v:.3f}")
            if v < best[0]:
                best = (v, step + 1, _lora_state(model))
    train_s = time.perf_counter() - started
    if best[1] != total:  # the number of steps is chosen by validation
        model.load_state_dict(best[2], strict=False)
    intent_val = [ex for ex in val if ex.kind == "intent"]
    decode = decode_accuracy(
        model, tokenizer, rng.sample(intent_val, min(len(intent_val), recipe.val_decode_examples))
    )
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    _portable_config(out / "adapter_config.json")
    report = {
        "base_model": BASE_MODEL_ID,
        "recipe": asdict(recipe),
        "examples": {"train": len(train), "val": len(val)},
        "trainable_parameters": trainable,
        "steps": total,
        "train_seconds": round(train_s, 1),
        "seconds_per_step": round(train_s / total, 3),
        "final_train_loss": history["train"][-1][1],
        "final_val_loss": history["val"][-1][1],
        "best_step": best[1],
        "best_val_loss": round(best[0], 4),
        "val_decoding": decode,
        "adapter_bytes": sum(f.stat().st_size for f in out.glob("adapter_model.*")),
        "history": history,
    }
    (out / "training_report.json").write_text(json.dumps(report, indent=1) + "\n", "utf-8")
    plot_curves(history, out / "training_curves.png")
    return report


def _lora_state(model: Any) -> dict[str, Any]:
    """A copy of the trainable (LoRA) weights."""
    return {
        name: param.detach().clone()
        for name, param in model.named_parameters()
        if param.requires_grad
    }


def _portable_config(path: Path) -> None:
    """Name the base model by its hub id, not by the folder it was loaded from."""
    config = json.loads(path.read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = BASE_MODEL_ID
    path.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def plot_curves(history: dict[str, list[Any]], path: Path) -> None:
    """The training loss (per step, and its running mean) and the validation loss."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    steps, losses = zip(*history["train"], strict=True) if history["train"] else ((), ())
    ax.plot(steps, losses, alpha=0.3, label="train (per step)")
    window = 10
    smooth = [
        sum(losses[max(0, i - window + 1) : i + 1]) / min(i + 1, window) for i in range(len(losses))
    ]
    ax.plot(steps, smooth, label=f"train (mean of {window})")
    if history["val"]:
        vs, vl = zip(*history["val"], strict=True)
        ax.plot(vs, vl, "o-", label="validation")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (answer tokens)")
    ax.set_yscale("log")
    ax.legend()
    ax.set_title("LoRA on SmolLM2-135M-Instruct")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def evaluation_sets() -> list[Path]:
    """The labelled messages that training leaves out by default: the hand-labelled set and
    the blind sets (`tests/data/intent_set*.jsonl`)."""
    from ui.llm_server import PROJECT_ROOT

    found = sorted((PROJECT_ROOT / "tests" / "data").glob("intent_set*.jsonl"))
    if not found:
        raise typer.BadParameter("no tests/data/intent_set*.jsonl: pass --intent-set")
    return found


def register(train_app: typer.Typer) -> None:
    """Add `llm` to the `train` sub-app."""

    @train_app.command("llm")
    def train_llm(
        out: Annotated[Path, typer.Option(help="Where the adapter and its report go.")] = Path(
            "assistant/lora"
        ),
        base: Annotated[
            Path | None,
            typer.Option(help="Base model folder (default: the converted SmolLM2 under home)"),
        ] = None,
        rank: Annotated[int, typer.Option(min=1, max=64)] = 16,
        epochs: Annotated[float, typer.Option(min=0.01)] = 1.0,
        lr: Annotated[float, typer.Option(help="Peak AdamW learning rate.")] = 1e-3,
        limit: Annotated[int | None, typer.Option(help="Train on the first N examples.")] = None,
        intents: Annotated[int, typer.Option(help="Intent examples to build.")] = 2400,
        replies: Annotated[int, typer.Option(help="Reply examples to build.")] = 400,
        batch_size: Annotated[int, typer.Option(min=1)] = 16,
        seed: int = 0,
        variety: Annotated[
            bool,
            typer.Option(
                "--variety",
                help="More price wordings over a wide price range, fewer brands, more service "
                "wordings (the third stage's data).",
            ),
        ] = False,
        resume: Annotated[
            Path | None, typer.Option(help="Train this adapter further (a second stage).")
        ] = None,
        homedepot: Annotated[Path, typer.Option(help="Home Depot train.csv.zip")] = Path(
            "../shared/data/homedepot/train.csv.zip"
        ),
        judgments: Annotated[Path, typer.Option(help="Icecat judgments CSV")] = Path(
            "../shared/data/relevance/icecat_judgments_dev.csv"
        ),
        intent_set: Annotated[
            list[Path] | None,
            typer.Option(
                help="An evaluation set whose messages are left out; repeat for several "
                "(default: tests/data/intent_set*.jsonl, the labelled set and the blind sets)."
            ),
        ] = None,
    ) -> None:
        """Fine-tune a LoRA adapter of SmolLM2-135M-Instruct for intents and reply sentences."""
        from assistant.llm_data import build_dataset, read_judgment_queries, read_search_terms
        from retrieval.icecat import load_demo
        from ui.settings import Settings

        if base is None:
            from ui import llm_server

            home = Settings().home
            base = llm_server.ensure_default_model(
                home, llm_server.llm_python(llm_server.PROJECT_ROOT)
            )
        data = build_dataset(
            read_search_terms(homedepot),
            read_judgment_queries(judgments),
            load_demo(),
            intent_set or evaluation_sets(),
            n_intent=intents,
            n_reply=replies,
            seed=seed,
            variety=variety,
        )
        train = data.train[:limit] if limit else data.train
        recipe = LoraRecipe(rank=rank, alpha=2 * rank, epochs=epochs, lr=lr, seed=seed)
        recipe.batch_size = batch_size
        recipe.extra = {
            "phrases": data.phrases,
            "evaluation_messages_excluded": data.excluded_texts,
            "intents_built": intents,
            "replies_built": replies,
            "variety": variety,
        }
        if resume is not None:
            recipe.extra["resumed_from"] = (
                json.loads((resume / "training_report.json").read_text(encoding="utf-8"))["recipe"]
                if (resume / "training_report.json").exists()
                else str(resume)
            )
        report = train_lora(base, train, data.val, out, recipe, resume=resume)
        typer.echo(
            json.dumps({k: report[k] for k in ("steps", "train_seconds", "final_val_loss")})
            + "\n"
            + json.dumps({k: v for k, v in report["val_decoding"].items() if k != "samples"})
        )
