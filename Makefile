# Two commands do all the set-up on a fresh machine:
#   make run   - installs what the app needs (into .venv, on first use) and starts it on the bundled sample data
#   make test  - installs what the tests need (same .venv) and runs the tests
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
SAMPLE ?= sample_responses/grade5_fractions.csv
PORT ?= 8501
# Served on this computer only. To serve a school network on purpose: make run ADDRESS=0.0.0.0 (see README).
ADDRESS ?= 127.0.0.1

.PHONY: run test lint install install-test bench clean

run: $(VENV)/.installed
	FEEDBACK_ASSISTANT_SAMPLE=$(SAMPLE) $(BIN)/streamlit run app.py --server.address $(ADDRESS) --server.port $(PORT) --browser.gatherUsageStats false

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks app.py pages
	$(BIN)/ruff format --check src tests benchmarks app.py pages
	$(BIN)/python -m mypy src

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# torch comes first and pinned: 2.13.0 is the local CPU wheel; anything else pulls gigabytes of CUDA packages.
$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet "torch==2.13.0"
	$(BIN)/pip install --quiet -e . "torch==2.13.0"
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[test]" "torch==2.13.0"
	touch $@

bench: $(VENV)/.installed-test
	$(BIN)/pip install --quiet -e ".[bench]" "torch==2.13.0"
	$(BIN)/python benchmarks/cluster_quality.py
	$(BIN)/python benchmarks/text_ceiling.py
	$(BIN)/python benchmarks/speed.py

clean:
	rm -rf $(VENV) build *.egg-info
