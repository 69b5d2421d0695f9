# --- Terraform module: format, validate, plan-level tests, generated docs, security scans ---
# The module is the repo root; each folder in examples/ calls it as "../../". Terraform gets the
# offline provider mirror and plugin cache from the variables the main Makefile exports.

TF_EXAMPLES := $(patsubst %/versions.tf,%,$(sort $(wildcard examples/*/versions.tf)))
TF_INIT := terraform init -backend=false -input=false -no-color >/dev/null
TRIVY := $(SCAN_VENV)/bin/trivy
CHECKOV := $(SCAN_VENV)/bin/checkov
# Inside .terraform-cache, so git ignores it and `make clean` removes it.
TRIVY_CACHE_DIR ?= $(CURDIR)/.terraform-cache/trivy
# Folders that hold no module code: environments, tools, state, build output, the smoke test's config.
SCAN_SKIP_DIRS := .venv .venv-scan .tools .localstack .terraform-cache build tests

# Each check is a stage of its own in `make test` (timed, run side by side).
CHECK_TARGETS += tf-fmt-check tf-validate tf-test tf-docs-check scan-trivy scan-checkov
# terraform test runs its files one after another: tf-test runs TF_TEST_JOBS of them at a time, the
# ones with the most runs first, all attached to one AWS provider process (shardsafe_harness.terraform).
TF_TEST_JOBS ?= 2

.PHONY: tf-check tf-fmt-check tf-validate tf-test tf-docs tf-docs-check scan scan-trivy scan-checkov

tf-check: tf-fmt-check tf-validate tf-test tf-docs-check ## Terraform: fmt -check, validate (module, examples), terraform test, docs check

tf-fmt-check: ## terraform fmt -check on the module, its tests and examples
	terraform fmt -check -recursive -diff

tf-validate: ## terraform validate the module and each example
	@for dir in . $(TF_EXAMPLES); do \
		echo "terraform validate $$dir"; \
		(cd $$dir && $(TF_INIT) && terraform validate -no-color) || exit 1; \
	done

tf-test: ## terraform test: plan-level runs on a mocked AWS provider (tests/*.tftest.hcl), TF_TEST_JOBS files at a time
	$(TF_INIT)
	PYTHONPATH=devtools/shardsafe-harness/src $(PYTHON) -m shardsafe_harness.terraform test $(TF_TEST_JOBS) \
		$$(grep -c '^run "' tests/*.tftest.hcl | sort -t: -k2 -rn | cut -d: -f1)

tf-docs: $(BIN)/.synced ## regenerate the module reference in docs/module.md from the .tf files
	$(BIN)/python scripts/tfdocs.py

tf-docs-check: $(BIN)/.synced ## fail when the module reference in docs/module.md is stale
	$(BIN)/python scripts/tfdocs.py --check

scan: scan-trivy scan-checkov ## security scans of the module and examples (trivy, checkov), offline

scan-trivy: $(SCAN_VENV)/.synced ## trivy config scan; fails on any finding not ignored with a reason
	$(TRIVY) config --skip-check-update --cache-dir $(TRIVY_CACHE_DIR) --misconfig-scanners terraform \
		--skip-dirs '**/.terraform' $(foreach dir,$(SCAN_SKIP_DIRS),--skip-dirs $(dir)) \
		--exit-code 1 --quiet .

scan-checkov: $(SCAN_VENV)/.synced ## checkov scan; fails on any check not skipped with a reason
	PYTHONWARNINGS=ignore::FutureWarning $(CHECKOV) --directory . --framework terraform --skip-download --quiet --compact \
		--skip-path '/\.terraform/' $(foreach dir,$(SCAN_SKIP_DIRS),--skip-path '(^|/)$(subst .,\.,$(dir))/')
