# --- Benchmarks (issues 7, 15, 16): bench/, results in build/bench/ ---
# `make bench BENCH_ARGS="--only handler --quick"` runs a part, small; `--update-docs` refreshes the tables in docs/benchmarks.md
# (and the headline table in README.md). Parts: handler, deagg (KPL de-aggregation), cold, memory, e2e, latency, headline.

BENCH_ARGS ?=

.PHONY: bench

# The embedded LocalStack is started for the parts on it alone (e2e, latency, headline): idling beside the others it is noise.
bench: $(BIN)/.synced $(LAMBDA_ZIP) ## benchmarks: per-record cost, cold start, memory; on LocalStack: end to end, its speed, the poison headline (build/bench/)
	$(BIN)/python -m bench --lambda-zip $(LAMBDA_ZIP) --output build/bench $(BENCH_ARGS)
