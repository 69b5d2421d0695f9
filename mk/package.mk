# --- Python package: the Lambda zip (src/shardsafe/packaging.py) ---
# `make package` always rebuilds (and must give the same bytes); targets that only need a zip
# depend on $(LAMBDA_ZIP), which is rebuilt when its sources change.

PACKAGE_SOURCES := $(shell find src/shardsafe templates -type f -not -path '*/__pycache__/*' 2>/dev/null) \
                   uv.lock pyproject.toml
PACKAGE := $(BIN)/python -m shardsafe.packaging --runtime $(LAMBDA_RUNTIME) --arch $(LAMBDA_ARCH) --uv $(UV)

.PHONY: package

package: $(BIN)/.synced ## build the Lambda zip build/lambda-$(LAMBDA_RUNTIME)-$(LAMBDA_ARCH).zip (reproducible)
	$(PACKAGE) --output $(LAMBDA_ZIP)
	@sha256sum $(LAMBDA_ZIP)

$(LAMBDA_ZIP): $(BIN)/.synced $(PACKAGE_SOURCES)
	$(PACKAGE) --output $@
