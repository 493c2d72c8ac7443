# The two commands of the README's quick start: `make run` (the main job) and `make test`;
# `make test-fast` is the inner loop of development.
# Both create the virtual environment and install what they need on first use: `run` only the
# runtime dependencies (the `local` extra), `test` adds the development tools (the `dev` extra).
VENV ?= .venv
PY := $(VENV)/bin/python
RUNTIME := $(VENV)/.installed-local
DEV := $(VENV)/.installed-dev

# Fashion-MNIST, the dataset `make run` searches on: Debian's package `dataset-fashion-mnist`.
# Elsewhere, put the four IDX files there yourself (or let `enas-trial --download` fetch them
# into a --data-dir of your choice).
FASHION_DIR ?= /usr/share/datasets/fashion-mnist
# Expanded once (`:=`), so the three steps of `make run` name the same directory.
ifndef RUN_DIR
RUN_DIR := runs/enas-fashion-shared-$(shell date +%Y%m%d-%H%M%S)
endif

# Where torch comes from. Empty: pip's own index, as configured (where that index has a CPU
# build of torch 2.13.0, as our build machines do). On a laptop whose pip reads the public PyPI,
# whose Linux torch is the multi-GB CUDA build, take PyTorch's CPU wheels (as the images do):
#   make run TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=

# The container images, named as the chart and the Experiments expect them; another registry:
#   make push REGISTRY=registry.example.com/team TAG=dev1   (README: "Install on Kubernetes")
REGISTRY ?= ghcr.io/katib-enas
TAG ?= $(shell sed -n 's/^version = "\(.*\)"$$/\1/p' pyproject.toml)
DOCKER ?= docker

.PHONY: run run-digits data test test-fast lint tools bench images push clean

$(PY):
	python3 -m venv $(VENV)

$(RUNTIME): pyproject.toml | $(PY)
	# The CPU build of torch first, so the project's `torch>=` range never pulls a CUDA build.
	$(PY) -m pip install -q $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) torch==2.13.0
	$(PY) -m pip install -q -e '.[local]'
	touch $@

$(DEV): $(RUNTIME)
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# ENAS as the paper runs it: a weight-sharing search, `derive` (fine-tune and rank candidates
# with the shared weights), then the winner retrained from scratch.
run: $(RUNTIME) data
	$(VENV)/bin/katib-enas run manifests/local/fashion-shared.yaml --run-dir $(RUN_DIR)
	$(VENV)/bin/katib-enas derive $(RUN_DIR)
	$(VENV)/bin/katib-enas retrain $(RUN_DIR) --derived 1 --epochs 2

# The bundled stand-alone search on scikit-learn's digits (no dataset to install).
run-digits: $(RUNTIME)
	$(VENV)/bin/katib-enas run $(ARGS)

# Fashion-MNIST from Debian's package (needs root and apt, as CI has), shown as it happens.
data:
	@if [ ! -f $(FASHION_DIR)/train-images-idx3-ubyte.gz ]; then \
		echo "installing Fashion-MNIST: Debian's dataset-fashion-mnist into $(FASHION_DIR)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends dataset-fashion-mnist; \
	fi

tools: $(DEV)
	bash scripts/install-tools.sh

test: $(DEV) tools data
	PATH="$(CURDIR)/.tools/bin:$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest $(ARGS)

# The inner loop: everything but the tests marked slow or e2e (under a minute).
test-fast: $(DEV) tools
	PATH="$(CURDIR)/.tools/bin:$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest -m "not slow and not e2e" $(ARGS)

lint: $(DEV)
	$(VENV)/bin/ruff check operator trial_image tests scripts
	$(VENV)/bin/ruff format --check operator trial_image tests scripts
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy --strict scripts/build_dashboard.py scripts/refresh_katib_fixtures.py
	$(VENV)/bin/lint-imports

bench: $(DEV) data
	$(PY) -m pytest tests/benchmarks -s -p no:cacheprovider $(ARGS)

# Needs a Docker engine (or DOCKER=podman); builds from the repository root.
images:
	$(DOCKER) build -f operator/Dockerfile -t $(REGISTRY)/suggestion:$(TAG) .
	$(DOCKER) build -f trial_image/Dockerfile -t $(REGISTRY)/trial:$(TAG) .
	$(DOCKER) build -f trial_image/Dockerfile.cpu -t $(REGISTRY)/trial-cpu:$(TAG) .

push: images
	$(DOCKER) push $(REGISTRY)/suggestion:$(TAG)
	$(DOCKER) push $(REGISTRY)/trial:$(TAG)
	$(DOCKER) push $(REGISTRY)/trial-cpu:$(TAG)

clean:
	rm -rf $(VENV) .tools
