# --- Benchmarks (issue 7): bench/, results in build/bench/ ---
# `make bench BENCH_ARGS="--only handler --quick"` runs a part, small; `--update-docs` refreshes the tables in docs/benchmarks.md.

BENCH_ARGS ?=

.PHONY: bench

# The embedded LocalStack is started by the end-to-end part alone: idling beside the others it is noise.
bench: $(BIN)/.synced $(LAMBDA_ZIP) ## benchmarks: per-record cost, cold start, memory, end to end on LocalStack (build/bench/)
	$(BIN)/python -m bench --lambda-zip $(LAMBDA_ZIP) --output build/bench $(BENCH_ARGS)
