# Lode: every target installs what it needs (tools/bootstrap) and says what it does.

CARGO ?= cargo
LODE_DEBUG := target/debug/lode
LODE_RELEASE := target/release/lode
DEMO_DATA := data/tpch-sf0.1

.PHONY: help bootstrap build guests demo test bench plans fmt lint clean

help:
	@echo "make demo   - build Lode, generate TPC-H SF 0.1, run TPC-H plans from plans/tpch"
	@echo "make test   - run the whole test suite (what CI runs)"
	@echo "make bench  - TPC-H SF 1: Substrait path vs DataFusion SQL, written to docs/benchmarks.md"
	@echo "make guests - build the example Wasm guests into guests/out"
	@echo "make plans  - regenerate plans/tpch/*.json from plans/tpch/*.sql"
	@echo "make fmt    - format the code;  make lint - clippy with warnings as errors"

bootstrap:
	@echo "==> Checking build prerequisites (protoc, cargo)"
	@tools/bootstrap

guests: bootstrap
	@echo "==> Building the example guests (wasm32-wasip2 components) into guests/out"
	@tools/build-guests

build: bootstrap
	@echo "==> Building lode (debug profile)"
	$(CARGO) build -p lode-cli

demo: build
	@echo "==> Generating TPC-H at scale factor 0.1 into $(DEMO_DATA) (skipped if present)"
	@test -f $(DEMO_DATA)/lineitem.parquet || $(LODE_DEBUG) gen tpch --sf 0.1 --out $(DEMO_DATA)
	@echo "==> Validating plans/tpch/q01.json"
	$(LODE_DEBUG) validate plans/tpch/q01.json
	@echo "==> TPC-H Q1 (pricing summary) from its Substrait plan"
	$(LODE_DEBUG) run plans/tpch/q01.json --data $(DEMO_DATA)
	@echo "==> TPC-H Q5 (local supplier volume): six-way join"
	$(LODE_DEBUG) run plans/tpch/q05.json --data $(DEMO_DATA)
	@echo "==> TPC-H Q18 (large volume customers) as CSV"
	$(LODE_DEBUG) run plans/tpch/q18.json --data $(DEMO_DATA) --format csv

test: guests
	@echo "==> Unit tests of the example guests (native target)"
	cd guests && $(CARGO) test --quiet
	@echo "==> Running the test suite (unit, TPC-H equality, foreign-producer plans, Wasm guests, CLI, fuzz)"
	$(CARGO) test --workspace

bench: bootstrap
	@echo "==> Building lode-bench (release profile)"
	$(CARGO) build --release -p lode-bench -p lode-cli
	@echo "==> TPC-H SF 1: Substrait vs DataFusion SQL (results in docs/benchmarks.md)"
	target/release/lode-bench tpch --sf 1 --data data/tpch-sf1 --report docs/benchmarks.md

plans: build
	@test -f $(DEMO_DATA)/lineitem.parquet || $(LODE_DEBUG) gen tpch --sf 0.1 --out $(DEMO_DATA)
	@for sql in plans/tpch/q*.sql; do \
		echo "==> $${sql%.sql}.json"; \
		$(LODE_DEBUG) sql "$$(cat $$sql)" --data $(DEMO_DATA) -o "$${sql%.sql}.json" || exit 1; \
	done

fmt:
	$(CARGO) fmt --all

lint: bootstrap
	$(CARGO) clippy --workspace --all-targets -- -D warnings

clean:
	$(CARGO) clean
	rm -rf data out
