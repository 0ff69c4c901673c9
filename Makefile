# Two commands for a fresh machine with Python 3.11: `make demo` and `make test`.
# Each creates the virtual environment $(VENV) from the pinned requirements when it is missing.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.requirements-$(shell cat requirements.txt requirements-dev.txt | sha256sum | cut -c1-16)
export WANDB_MODE ?= offline
export PYTHONHASHSEED = 0

.PHONY: install demo test lint bench clean

$(STAMP): requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@

install: $(STAMP)
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .

demo: install
	$(PY) track.py stage=all

test: install
	$(PY) -m pytest -q

lint: install
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

bench: install
	for b in benchmarks/bench_*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf outputs multirun runs wandb lightning_logs
