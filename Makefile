# Two commands do all the set-up on a fresh machine: `make demo` and `make test`.
# Both are idempotent: a second run reuses the virtualenv, the Maven cache and a
# running Elasticsearch node.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install lint es test demo bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

es: install
	$(BIN)/yuqing es-local start

test: lint es
	$(BIN)/pytest

demo: install
	$(BIN)/yuqing run

bench: es
	$(BIN)/python bench/ingest.py

clean:
	-$(BIN)/yuqing es-local stop
	rm -rf $(VENV) var
