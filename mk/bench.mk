# --- Benchmarks (issues 7, 15, 16): bench/, results in build/bench/ ---
# `make bench BENCH_ARGS="--only handler --quick"` runs a part, small; `--update-docs` refreshes the tables in docs/benchmarks.md
# (and the headline table in README.md). Parts: handler, deagg (KPL de-aggregation), model, cold, memory, idempotency, e2e, latency, headline, idempotency-dynamodb.

BENCH_ARGS ?=

.PHONY: bench

# The embedded LocalStack is started for the parts on it alone (e2e, latency, headline): idling beside the others it is noise.
bench: $(BIN)/.synced $(LAMBDA_ZIP) ## benchmarks: per-record cost, cold start, memory, idempotency; on LocalStack: end to end, its speed, the poison headline, idempotency on DynamoDB against Powertools (build/bench/)
	$(BIN)/python -m bench --lambda-zip $(LAMBDA_ZIP) --output build/bench $(BENCH_ARGS)
