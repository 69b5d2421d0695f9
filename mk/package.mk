# --- Python package: the Lambda zip ---
# `make package` always rebuilds (and must give the same bytes); targets that only need a zip
# depend on $(LAMBDA_ZIP), which is rebuilt when its sources change.

PACKAGE_SOURCES := $(shell find src/shardsafe templates -name '*.py' -not -path '*/cli/*' 2>/dev/null) \
                   src/shardsafe/py.typed uv.lock pyproject.toml scripts/package_lambda.py

.PHONY: package

package: $(BIN)/.synced ## build the Lambda zip build/lambda-$(LAMBDA_RUNTIME)-$(LAMBDA_ARCH).zip (reproducible)
	$(BIN)/python scripts/package_lambda.py --runtime $(LAMBDA_RUNTIME) --arch $(LAMBDA_ARCH) --uv $(UV) --output $(LAMBDA_ZIP)
	@sha256sum $(LAMBDA_ZIP)

$(LAMBDA_ZIP): $(BIN)/.synced $(PACKAGE_SOURCES)
	$(BIN)/python scripts/package_lambda.py --runtime $(LAMBDA_RUNTIME) --arch $(LAMBDA_ARCH) --uv $(UV) --output $@
