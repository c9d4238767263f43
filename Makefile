# Everything a fresh machine needs, from python3 and the package registries only.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOME_DIR ?= data

.PHONY: demo test test-fast lint format dev bench docs clean

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

# Lint, formatting and types (configured in pyproject.toml); .ci/run runs this before the tests.
lint: $(BIN)/csc-returns
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(BIN)/csc-returns
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The UI on the home's own Dagster instance (<home>/.dagster/).
dev: $(BIN)/csc-returns
	$(BIN)/csc-returns --home $(HOME_DIR) dev

# Benchmarks (not part of `make test`); figures and method in docs/performance.md.
# bench/national.py writes its table into docs/performance.md itself (about 10-15 minutes); the
# Annex A benchmarks print their figures beside their goals (about 3 minutes more).
bench: $(BIN)/csc-returns
	$(BIN)/python bench/national.py
	$(BIN)/python bench/annex_a_reader.py
	$(BIN)/python bench/annex_a_national.py

docs: $(BIN)/csc-returns
	$(BIN)/python -m pipelines.validate.rules_page > docs/rules.md

clean:
	rm -rf $(VENV) data .dagster

# The demo's scorecard page as docs/images/scorecard.png, rendered by headless Chromium (Debian's
# package chromium, as .ci/run installs it); runs `make demo` first when the demo home has no page.
CHROMIUM ?= /usr/bin/chromium
.PHONY: screenshot
screenshot: $(BIN)/csc-returns
	test -f $(HOME_DIR)/reports/scorecard/scorecard.html || $(MAKE) demo
	mkdir -p docs/images
	$(CHROMIUM) --headless --no-sandbox --disable-gpu --hide-scrollbars --force-device-scale-factor=1 \
		--window-size=900,3100 --screenshot=$(CURDIR)/docs/images/scorecard.png \
		file://$(abspath $(HOME_DIR))/reports/scorecard/scorecard.html 2>/dev/null
