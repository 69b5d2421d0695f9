# --- Python package: the Lambda zip and layer (`shardsafe package`, src/shardsafe/ops/packaging/) ---
# `make package` and `make layer` run the command users run, on this repository's templates (each one at
# the zip's root: handler.py, dynamodb_handler.py) and lock;
# they always rebuild (and must give the same bytes). Targets that only need a zip depend on
# $(LAMBDA_ZIP), which is rebuilt when its sources change.

PACKAGE_SOURCES := $(shell find src/shardsafe templates -type f -not -path '*/__pycache__/*' 2>/dev/null) \
                   uv.lock pyproject.toml
LAYER_ZIP := build/layer-$(LAMBDA_RUNTIME)-$(LAMBDA_ARCH).zip
# shardsafe's dependencies (the tracing extra) at the versions uv.lock pins.
PACKAGE := $(BIN)/shardsafe package --runtime $(LAMBDA_RUNTIME) --arch $(LAMBDA_ARCH) --uv $(UV) \
           --requirements uv.lock --extra tracing

.PHONY: package layer dist

package: $(BIN)/.synced ## build the Lambda zip build/lambda-$(LAMBDA_RUNTIME)-$(LAMBDA_ARCH).zip (reproducible)
	$(PACKAGE) templates --zip $(LAMBDA_ZIP)

$(LAMBDA_ZIP): $(BIN)/.synced $(PACKAGE_SOURCES)
	$(PACKAGE) templates --zip $@

layer: $(BIN)/.synced ## build the Lambda layer of shardsafe and its dependencies, build/layer-$(LAMBDA_RUNTIME)-$(LAMBDA_ARCH).zip
	$(PACKAGE) --layer --zip $(LAYER_ZIP)

dist: $(BIN)/.synced ## build shardsafe's wheel and sdist into dist/ (uv build)
	$(UV) build --package shardsafe --out-dir dist
