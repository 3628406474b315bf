"""`train_lora` end to end on a tiny randomly initialised Llama (CPU, seconds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.intent import Intent, IntentName
from assistant.llm_data import Example, intent_messages, intent_target, reply_messages

torch = pytest.importorskip("torch")
pytest.importorskip("peft")

CHAT_TEMPLATE = (
    "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def tiny_model(folder: Path) -> Path:
    """A byte-level BPE tokenizer and a two-layer Llama, saved under `folder`."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    specials = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(['{"intent":"search","query":"usb cable"}', "Here are some"], trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        chat_template=CHAT_TEMPLATE,
    )
    config = LlamaConfig(
        vocab_size=len(fast),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        eos_token_id=fast.eos_token_id,
        pad_token_id=fast.pad_token_id,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    fast.save_pretrained(folder)
    return folder


def examples() -> list[Example]:
    intent = Intent(intent=IntentName.SEARCH, query="usb cable")
    out = [
        Example("intent", "g", tuple(intent_messages(t)), intent_target(intent), t)
        for t in ("usb cable", "i need usb cable", "usb cable please")
    ]
    sentence = "Here are some usb cable options for you."
    out.append(
        Example("reply", "r", tuple(reply_messages("usb cable", ["A usb cable"])), sentence, "x")
    )
    return out


def test_train_lora_writes_an_adapter_and_a_report(tmp_path: Path) -> None:
    from ui.train_llm import LoraRecipe, train_lora

    base = tiny_model(tmp_path / "base")
    recipe = LoraRecipe(
        rank=4, alpha=8, epochs=2, batch_size=2, eval_every=2, val_decode_examples=2, threads=1
    )
    data = examples()
    report = train_lora(base, data, data[:2], tmp_path / "lora", recipe, progress=False)

    out = tmp_path / "lora"
    assert (out / "adapter_model.safetensors").stat().st_size > 0
    config = json.loads((out / "adapter_config.json").read_text())
    assert config["r"] == 4 and config["base_model_name_or_path"].startswith("HuggingFaceTB/")
    saved = json.loads((out / "training_report.json").read_text())
    assert saved["steps"] == report["steps"] == 4
    assert len(saved["history"]["train"]) == 4 and len(saved["history"]["val"]) >= 2
    assert saved["val_decoding"]["n"] == 2
    assert (out / "training_curves.png").read_bytes()[:4] == b"\x89PNG"
    # the adapter kept is the one with the lowest validation loss
    best = min(saved["history"]["val"], key=lambda sv: sv[1])
    assert [saved["best_step"], saved["best_val_loss"]] == best
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ui.train_llm import _encode, _val_loss

    tok = AutoTokenizer.from_pretrained(base)
    kept = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), out)
    rows = [_encode(tok, ex, recipe.max_length) for ex in data[:2]]
    assert _val_loss(kept, rows, 2, tok.pad_token_id) == pytest.approx(best[1], abs=1e-3)


def test_the_command_is_registered() -> None:
    import typer
    from typer.testing import CliRunner

    from ui.train_llm import register

    app = typer.Typer()
    register(app)

    @app.command("other")
    def _other() -> None:  # a second command keeps `llm` a sub-command
        """Nothing."""

    result = CliRunner().invoke(app, ["llm", "--help"])
    assert result.exit_code == 0
    assert "--rank" in result.output and "--epochs" in result.output


def test_length_buckets_cover_an_epoch_and_pad_little() -> None:
    import random

    from ui.train_llm import length_buckets

    lengths = [random.Random(i).randint(20, 128) for i in range(500)]
    batches = length_buckets(lengths, 16, random.Random(0))
    assert sorted(i for b in batches for i in b) == list(range(500))
    assert all(1 <= len(b) <= 16 for b in batches)
    padded = sum(max(lengths[i] for i in b) * len(b) for b in batches)
    assert padded < 1.25 * sum(lengths)  # random batches pad ~1.6x here


def test_the_merged_model_is_the_base_model_with_the_adapter(tmp_path: Path) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from ui.llm_server import adapter_digest, ensure_merged
    from ui.train_llm import LoraRecipe, train_lora

    base = tiny_model(tmp_path / "base")
    recipe = LoraRecipe(rank=4, alpha=8, epochs=2, batch_size=2, eval_every=100,
                        val_decode_examples=1, threads=1, lr=5e-2)  # fmt: skip
    data = examples()
    train_lora(base, data, data[:2], tmp_path / "lora", recipe, progress=False)

    merged = ensure_merged(base, tmp_path / "lora", tmp_path / "home")
    assert merged.name == f"base+lora-{adapter_digest(tmp_path / 'lora')}"
    ids = torch.tensor([[5, 17, 33, 2, 9]])
    plain = AutoModelForCausalLM.from_pretrained(base)
    with torch.no_grad():
        want = PeftModel.from_pretrained(plain, tmp_path / "lora")(input_ids=ids).logits
        before = AutoModelForCausalLM.from_pretrained(base)(input_ids=ids).logits
        got = AutoModelForCausalLM.from_pretrained(merged)(input_ids=ids).logits
    assert not torch.allclose(want, before, atol=1e-4)  # the adapter changes the model ...
    assert torch.allclose(got, want, atol=1e-4)  # ... and the merged model is that change
    stamp = (merged / "config.json").stat().st_mtime_ns
    assert ensure_merged(base, tmp_path / "lora", tmp_path / "home") == merged
    assert (merged / "config.json").stat().st_mtime_ns == stamp  # merged once
