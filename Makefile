# shardsafe — `make help` lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

# A Python 3.13 or 3.12 (shardsafe_localstack.pythons looks for one; it runs on any python3).
FIND_PYTHON := devtools/shardsafe-localstack/src/shardsafe_localstack/pythons.py
ifeq ($(origin PYTHON),undefined)
PYTHON := $(shell for p in python3 python3.13 python3.12; do command -v $$p >/dev/null && exec $$p $(FIND_PYTHON); done; \
                  echo "error: no python3 on PATH to look for Python 3.12/3.13 with" >&2)
endif
export PYTHON  # found once: sub-makes (make test runs three) do not look again
UV_VERSION ?= 0.13.9
LOCALSTACK_PORT ?= 4566
LOCALSTACK_ENDPOINT ?=
LAMBDA_RUNTIME ?= python3.13
LAMBDA_ARCH ?= x86_64
PYTEST_ARGS ?=
# pytest-xdist workers: the unit tests are CPU-bound (one per core); the end-to-end tests mostly wait
# on LocalStack and Terraform, so more of them than cores overlap those waits.
UNIT_WORKERS ?= 2
E2E_WORKERS ?= 6

VENV := .venv
SCAN_VENV := .venv-scan
TOOLS := .tools
UV := $(TOOLS)/bin/uv
BIN := $(VENV)/bin
LAMBDA_ZIP := build/lambda-$(LAMBDA_RUNTIME)-$(LAMBDA_ARCH).zip

export LOCALSTACK_ENDPOINT LOCALSTACK_PORT
export UV_PROJECT_ENVIRONMENT := $(VENV)
export AWS_ACCESS_KEY_ID ?= test
export AWS_SECRET_ACCESS_KEY ?= test
export AWS_DEFAULT_REGION ?= us-east-1
# Terraform's environment (offline provider mirror where there is one, plugin cache, automation mode)
# is defined once, in shardsafe_harness.terraform, which the tests and the demo use too.
TERRAFORM_ENV := $(shell [ -n "$(PYTHON)" ] && PYTHONPATH=devtools/shardsafe-harness/src $(PYTHON) -m shardsafe_harness.terraform env)
unexport TF_CLI_CONFIG_FILE
$(foreach setting,$(TERRAFORM_ENV),$(eval export $(setting)))

# Targets owned by each part of the project (Terraform module, Python package, ...) live in mk/*.mk
# and add their static checks to CHECK_TARGETS.
CHECK_TARGETS :=
include $(sort $(wildcard mk/*.mk))

.PHONY: help venv fmt lint ruff mypy imports check test test-unit test-e2e demo package bench \
        localstack-up localstack-down clean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(UV):
	@test -n "$(PYTHON)" || { echo "error: no Python 3.12/3.13 (see above); set PYTHON=..." >&2; exit 1; }
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

# The environment is a real file target: it is rebuilt when the lock or the project changes.
$(BIN)/.synced: $(UV) uv.lock pyproject.toml $(wildcard devtools/*/pyproject.toml)
	$(UV) sync --locked --python $(PYTHON)
	@touch $@

$(SCAN_VENV)/.synced: $(UV) uv.lock
	UV_PROJECT_ENVIRONMENT=$(SCAN_VENV) $(UV) sync --locked --only-group scan --no-install-project --python $(PYTHON)
	@touch $@

venv: $(BIN)/.synced ## create .venv from uv.lock (runs by itself when needed)

fmt: $(BIN)/.synced ## format Python and Terraform
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	terraform fmt -recursive

lint: ruff mypy imports ## ruff, mypy, the import contract and terraform fmt -check
	terraform fmt -check -recursive

ruff: $(BIN)/.synced ## ruff format --check and ruff check
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .

mypy: $(BIN)/.synced ## mypy, strict
	$(BIN)/mypy

imports: $(BIN)/.synced ## the import contract: the Lambda side imports nothing of the operator side (lint-imports), nothing heavy at import time (scripts/cold_imports.py)
	$(BIN)/lint-imports
	$(BIN)/python scripts/cold_imports.py

check: lint $(CHECK_TARGETS) ## static checks: lint plus Terraform validate/test and security scans

# --- make test: every stage side by side, each timed against its budget (build/test-report/) ---
# The end-to-end stage comes first and runs at normal priority: it is the longest, and mostly waits on
# LocalStack and Terraform. The other stages run beside it under $(NICE), so they take the cores it
# leaves idle without slowing it, TEST_JOBS stages at a time, the unit tests first (they wait on uv
# for a minute). Each stage's output is printed whole when it ends; the last lines are the budget
# report (shardsafe_harness.timing, budgets in pyproject.toml).
TEST_STAGES := test-e2e test-unit ruff mypy imports $(CHECK_TARGETS)
TEST_REPORT := build/test-report
TEST_JOBS ?= 6
NICE ?= nice -n 10
# Run as a script (-P: without its own folder on sys.path), so that no PYTHONPATH reaches the stages.
TIMING := $(PYTHON) -P devtools/shardsafe-harness/src/shardsafe_harness/timing.py

test: ## everything, side by side: static checks, unit tests, end-to-end tests on LocalStack; timed (build/test-report/)
	@rm -rf $(TEST_REPORT) && $(TIMING) start $(TEST_REPORT)
	@$(TIMING) run $(TEST_REPORT) setup -- $(MAKE) --no-print-directory -j2 $(BIN)/.synced $(SCAN_VENV)/.synced
	@status=0; $(MAKE) --no-print-directory -k -j$(TEST_JOBS) --output-sync=target $(addprefix stage/,$(TEST_STAGES)) \
		|| status=$$?; $(TIMING) report $(TEST_REPORT) || status=$$?; exit $$status

stage/%: $(BIN)/.synced
	@$(TIMING) run $(TEST_REPORT) $* -- $(if $(filter test-e2e,$*),,$(NICE)) $(MAKE) --no-print-directory $*

test-unit: $(BIN)/.synced ## unit and functional tests (no LocalStack), on UNIT_WORKERS processes
	$(BIN)/pytest -m "not e2e" -n $(UNIT_WORKERS) --durations=10 --junitxml=$(TEST_REPORT)/junit-unit.xml $(PYTEST_ARGS)

# The tests start the embedded LocalStack themselves (tests/e2e/shared_run.py), and stop it after unless
# SHARDSAFE_KEEP_STACK=1 keeps it and the deployed stack for the next run. --dist loadgroup keeps the
# tests of one deployed stack on one worker (tests/e2e/conftest.py groups them and puts Terraform first).
test-e2e: $(BIN)/.synced ## end-to-end tests (tests/e2e) on the embedded LocalStack, E2E_WORKERS at a time; SHARDSAFE_KEEP_STACK=1 keeps the stack
	$(BIN)/pytest tests/e2e -n $(E2E_WORKERS) --dist loadgroup --no-loadscope-reorder --durations=10 \
		--junitxml=$(TEST_REPORT)/junit-e2e.xml $(PYTEST_ARGS)

DEMO_ARGS ?=
demo: $(BIN)/.synced $(LAMBDA_ZIP) ## deploy the module on LocalStack, send good and poison records, report (python -m demo)
	$(BIN)/python -m demo --lambda-zip $(LAMBDA_ZIP) $(DEMO_ARGS)

localstack-up: $(BIN)/.synced ## start the embedded LocalStack on 127.0.0.1 (port LOCALSTACK_PORT, 4566)
	$(BIN)/shardsafe-localstack up --port $(LOCALSTACK_PORT)

localstack-down: $(BIN)/.synced ## stop the embedded LocalStack this repo started
	$(BIN)/shardsafe-localstack down --port $(LOCALSTACK_PORT)

clean: ## stop LocalStack and remove every generated file
	-@[ -x $(BIN)/shardsafe-localstack ] && $(BIN)/shardsafe-localstack down || true
	rm -rf $(VENV) $(SCAN_VENV) $(TOOLS) .localstack build dist .terraform-cache .pytest_cache .mypy_cache .ruff_cache .hypothesis
	find . -name .terraform -type d -prune -exec rm -rf {} +
	find . \( -name '*.tfstate' -o -name '*.tfstate.*' -o -name '.terraform.lock.hcl' \) -delete
