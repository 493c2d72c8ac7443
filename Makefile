# The two commands of the README's quick start: `make run` (the main job) and `make test`;
# `make test-fast` is the inner loop of development.
# Both create the virtual environment and install everything they need on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run run-digits data test test-fast lint tools bench clean

# Fashion-MNIST, the dataset `make run` searches on: Debian's package `dataset-fashion-mnist`.
# Elsewhere, put the four IDX files there yourself (or let `enas-trial --download` fetch them
# into a --data-dir of your choice).
FASHION_DIR ?= /usr/share/datasets/fashion-mnist
# Expanded once (`:=`), so the three steps of `make run` name the same directory.
ifndef RUN_DIR
RUN_DIR := runs/enas-fashion-shared-$(shell date +%Y%m%d-%H%M%S)
endif

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	# The CPU build of torch first, so the project's `torch>=` range never pulls a CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

# ENAS as the paper runs it: a weight-sharing search, `derive` (fine-tune and rank candidates
# with the shared weights), then the winner retrained from scratch.
run: $(STAMP) data
	$(VENV)/bin/katib-enas run manifests/local/fashion-shared.yaml --run-dir $(RUN_DIR)
	$(VENV)/bin/katib-enas derive $(RUN_DIR)
	$(VENV)/bin/katib-enas retrain $(RUN_DIR) --derived 1 --epochs 2

# The bundled stand-alone search on scikit-learn's digits (no dataset to install).
run-digits: $(STAMP)
	$(VENV)/bin/katib-enas run $(ARGS)

data:
	@if [ ! -f $(FASHION_DIR)/train-images-idx3-ubyte.gz ]; then \
		echo "installing Fashion-MNIST: Debian's dataset-fashion-mnist into $(FASHION_DIR)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends dataset-fashion-mnist; \
	fi

tools: $(STAMP)
	bash scripts/install-tools.sh

test: $(STAMP) tools data
	PATH="$(CURDIR)/.tools/bin:$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest $(ARGS)

# The inner loop: everything but the tests marked slow or e2e (under a minute).
test-fast: $(STAMP) tools
	PATH="$(CURDIR)/.tools/bin:$(CURDIR)/$(VENV)/bin:$$PATH" $(PY) -m pytest -m "not slow and not e2e" $(ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check operator trial_image tests scripts
	$(VENV)/bin/ruff format --check operator trial_image tests scripts
	$(VENV)/bin/mypy
	$(VENV)/bin/mypy --strict scripts/build_dashboard.py
	$(VENV)/bin/lint-imports

bench: $(STAMP) data
	$(PY) -m pytest tests/benchmarks -s -p no:cacheprovider $(ARGS)

clean:
	rm -rf $(VENV) .tools
