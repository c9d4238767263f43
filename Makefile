# Everything a fresh machine needs, from python3 and the package registries only.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOME_DIR ?= data

.PHONY: demo test test-fast dev bench docs clean

$(BIN)/csc-returns: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip==25.3"
	$(BIN)/pip install --quiet -c requirements.lock -e ".[test]"
	touch $@

demo: $(BIN)/csc-returns
	$(BIN)/csc-returns --home $(HOME_DIR) demo

test: $(BIN)/csc-returns
	$(BIN)/python -m pytest -n 2 --dist loadgroup

test-fast: $(BIN)/csc-returns
	$(BIN)/python -m pytest -n 2 --dist loadgroup -m "not slow"

dev: $(BIN)/csc-returns
	DAGSTER_HOME=$(CURDIR) $(BIN)/dagster dev -m pipelines.orchestration.definitions

# Benchmarks (not part of `make test`); figures and method in docs/performance.md.
# bench/national.py writes its table into docs/performance.md itself (about 10-15 minutes).
bench: $(BIN)/csc-returns
	$(BIN)/python bench/national.py

docs: $(BIN)/csc-returns
	$(BIN)/python -m pipelines.validate.rules_page > docs/rules.md

clean:
	rm -rf $(VENV) data .dagster
