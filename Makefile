# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
# Dataset files are looked up under $TRANSFERLAB_DATA_DIR/<dataset>/; offline checkouts use ../shared/data.
SHARED_DATA := $(abspath ../shared/data)
export TRANSFERLAB_DATA_DIR ?= $(if $(wildcard $(SHARED_DATA)),$(SHARED_DATA),$(CURDIR)/data)

.PHONY: install run test test-slow test-all lint study-pima report-pima study-higgs report-higgs study-ham report-ham ui bench clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

install: $(VENV)/.installed

run: install              ## the main job: breast_cancer (bundled, no download), MLP from scratch
	$(PY) run.py $(ARGS)

test: install             ## the fast lane: every test not marked slow (data from tests/data)
	$(PY) -m pytest -n 2 -q $(ARGS)

test-slow: install        ## the slow lane only: studies, JAX subprocesses, multirun, Optuna, CLI end to end
	$(PY) -m pytest -n 2 -q -m slow $(ARGS)

test-all: install         ## both lanes in one go
	$(PY) -m pytest -n 2 -q -m "slow or not slow" $(ARGS)

lint: install             ## ruff check and ruff format --check over the repository (rules in pyproject.toml)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

study-pima: install       ## seed 000 reproduction (15 jobs), then its results table
	$(PY) run.py experiment=pima_transfer trainer.backend=jax $(ARGS)
	$(PY) -m transferlab.report pima_transfer

report-pima: install
	$(PY) -m transferlab.report pima_transfer

study-higgs: install      ## seed 001 on the shared HIGGS sample (20 jobs), then its results table
	$(PY) run.py experiment=higgs_lora trainer.backend=jax $(ARGS)
	$(PY) -m transferlab.report higgs_lora

report-higgs: install
	$(PY) -m transferlab.report higgs_lora

study-ham: install        ## seed 002: HAM10000 metadata + image fusion (25 jobs), then its results table
	$(PY) run.py experiment=ham10000_fusion $(ARGS)
	$(PY) -m transferlab.report ham10000_fusion

report-ham: install
	$(PY) -m transferlab.report ham10000_fusion

ui: install               ## MLflow UI on http://127.0.0.1:5000
	$(VENV)/bin/mlflow ui --backend-store-uri sqlite:///$(CURDIR)/mlflow.db --default-artifact-root $(CURDIR)/mlruns

bench: install            ## performance claims (see benchmarks/README.md)
	$(PY) benchmarks/integrated_gradients.py
	$(PY) benchmarks/framework_overhead.py
	$(PY) benchmarks/higgs_ingest.py
	$(PY) benchmarks/higgs_train.py
	$(PY) benchmarks/fusion_overhead.py
	$(PY) benchmarks/report_runs.py
	$(PY) benchmarks/text_linear.py
	$(PY) benchmarks/sweep_throughput.py
	$(PY) benchmarks/sweep_memory.py

clean:
	rm -rf outputs multirun
