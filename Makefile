# The two commands of the README: `make demo` runs breachwatch end to end on
# SQLite and the loopback mail stack; `make test` starts what the tests need and
# runs them all (.ci/run calls it).
.PHONY: demo test stop stack bench bench-daemon fuzz-ingest

demo:
	deploy/local/demo.sh

test:
	deploy/test.sh

stack:
	deploy/local/up.sh

stop:
	-@[ -f var/breachwatch.pid ] && kill -TERM $$(cat var/breachwatch.pid) 2>/dev/null; rm -f var/breachwatch.pid
	deploy/local/down.sh

bench:
	BREACHWATCH_PUBLIC_CORPUS=$${BREACHWATCH_PUBLIC_CORPUS:-../shared/corpus/public} cargo bench --bench inspect

# The daemon against the bare IMAP fetch: a 10,000-message backlog (BENCH_N),
# notice -> ack latency, RSS; SQLite and PostgreSQL (BENCH_PG=0: SQLite only).
bench-daemon:
	BREACHWATCH_PUBLIC_CORPUS=$${BREACHWATCH_PUBLIC_CORPUS:-../shared/corpus/public} deploy/local/bench-daemon.sh

# The corpus mutation run of `make test`, longer: 50 mutated copies of every
# public-corpus file (override with BREACHWATCH_MUTATION_ITERS), release build.
fuzz-ingest:
	BREACHWATCH_PUBLIC_CORPUS=$${BREACHWATCH_PUBLIC_CORPUS:-../shared/corpus/public} \
	BREACHWATCH_MUTATION_ITERS=$${BREACHWATCH_MUTATION_ITERS:-50} \
	cargo test --release --test it mutation:: -- --nocapture
