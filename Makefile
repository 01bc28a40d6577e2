# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
RUNTIME := $(VENV)/.runtime-stamp
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test lint bench wheel clean

# The demo needs only the bot itself; the test extra (Synapse, Twisted, ruff, …) would
# more than double the first run. Modules are compiled when first imported, not all at
# install time (a quarter of the venv is bytecode nothing imports).
$(RUNTIME): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-compile -e .
	touch $(RUNTIME)

$(STAMP): $(RUNTIME)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

demo: $(RUNTIME)
	$(BIN)/deployday demo

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Benchmarks, not tests (README, "Benchmarks"); BENCH_ARGS=--quick for a short run.
bench: $(STAMP)
	$(BIN)/python -m bench $(BENCH_ARGS)

# The wheel `pip install` and `pipx install` take (README, "Running it for your team").
wheel:
	$(PYTHON) -m pip wheel --quiet --disable-pip-version-check --no-deps -w dist .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis build dist *.egg-info \
		digests exports deployday*.sqlite3*
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
