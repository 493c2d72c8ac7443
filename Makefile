# The two commands of the README's quick start: `make run` (the main job) and `make test`;
# `make test-fast` is the inner loop of development.
# Both create the virtual environment and install everything they need on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test test-fast lint tools bench clean

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	# The CPU build of torch first, so the project's `torch>=` range never pulls a CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/katib-enas run $(ARGS)

tools: $(STAMP)
	bash scripts/install-tools.sh

test: $(STAMP) tools
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

bench: $(STAMP)
	$(PY) -m pytest tests/benchmarks -s -p no:cacheprovider $(ARGS)

clean:
	rm -rf $(VENV) .tools
