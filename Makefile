# Lode: every target installs what it needs (tools/bootstrap) and says what it does.

CARGO ?= cargo
LODE_DEBUG := target/debug/lode
LODE_RELEASE := target/release/lode
DEMO_DATA := data/tpch-sf0.1
COMMENTS := data/demo
FUNCTION_CORPUS := ../shared/substrait/function-tests

.PHONY: help bootstrap build guests demo demo-tpch test bench scale fuzz fuzz-targets plans fmt lint clean conformance-producers

PRODUCERS_ENV := out/producers-env
PRODUCERS_OUT := out/producers
TPCDS_ENV := out/tpcds-env
# The storage tests' Python: an S3-compatible server on loopback (PyPI moto[server]) and
# the writers of the Delta and Iceberg tables they read (PyPI deltalake, pyiceberg, pyarrow).
S3_ENV := out/s3-env
MOTO_VERSION := 5.2.6
DELTALAKE_VERSION := 1.6.6
PYARROW_VERSION := 26.0.1
PYICEBERG_VERSION := 0.12.0
S3_ENV_READY := $(S3_ENV)/ready-moto-$(MOTO_VERSION)-deltalake-$(DELTALAKE_VERSION)-pyiceberg-$(PYICEBERG_VERSION)
TPCDS_SF001 := data/tpcds-sf0.01/store_sales.parquet
TPCDS_SF01 := data/tpcds-sf0.1/store_sales.parquet

help:
	@echo "make demo   - build Lode and the guests, score 1 M comments with the Wasm sentiment module in a plan"
	@echo "make demo-tpch - generate TPC-H SF 0.1 and run TPC-H plans from plans/tpch"
	@echo "make test   - run the whole test suite (what CI runs), the conformance cases and the function corpus"
	@echo "make bench  - TPC-H SF 1: Substrait vs DataFusion SQL, Lode beside DuckDB in one process, Wasm vs native, cluster vs local, driver overhead, an S3-compatible store vs local disk; docs/benchmarks.md"
	@echo "make scale  - TPC-H SF 10 (3.5 GB of Parquet) under --memory-limit 4G and 2G vs the default bound, then on a 3-executor cluster at 2G each with an executor killed mid-query: time, peak RSS, spill, results checked; docs/benchmarks.md"
	@echo "make fuzz   - cargo-fuzz on plan decoding + validation, guest batches, the cluster codec (FUZZ_SECONDS each, default 600)"
	@echo "make conformance-producers - the producer matrix: DuckDB, ibis and DataFusion write TPC-H and TPC-DS plans, Lode runs them, DuckDB checks"
	@echo "make guests - build the example Wasm guests (Rust, C, Python, JavaScript) into guests/out"
	@echo "make plans  - regenerate plans/tpch/*.json from plans/tpch/*.sql"
	@echo "make fmt    - format the code;  make lint - clippy with warnings as errors"

bootstrap:
	@echo "==> Checking build prerequisites (protoc, cargo)"
	@tools/bootstrap

guests: bootstrap
	@echo "==> Building the example guests into guests/out: Rust (wasm32-wasip2), drivers, C (clang + wasi-libc), Python (componentize-py), JavaScript (componentize-js)"
	@tools/build-guests

build: bootstrap
	@echo "==> Building lode (debug profile)"
	$(CARGO) build -p lode-cli

demo: build guests
	@echo "==> Generating 1 M synthetic comments (id, score, text) into $(COMMENTS) (skipped if present)"
	@test -d $(COMMENTS)/comments || $(LODE_DEBUG) gen comments --rows 1000000 --out $(COMMENTS)
	@echo "==> SQL -> Substrait: plans/demo/polarization.sql calls the Wasm sentiment function;"
	@echo "    the plan declares it by URN and embeds the module (out/polarization.json)"
	$(LODE_DEBUG) sql --file plans/demo/polarization.sql --data $(COMMENTS) --module guests/out/sentiment.wasm -o out/polarization.json
	$(LODE_DEBUG) validate out/polarization.json
	@echo "==> Run 1: polarization per vote-score bucket, with its trend line (chart: out/polarization.svg)"
	$(LODE_DEBUG) run out/polarization.json --data $(COMMENTS) --chart out/polarization.svg --chart-x bucket --chart-y polarization -o out/polarization-run1.txt
	@cat out/polarization-run1.txt
	@echo "==> Run 2: the same plan file again (the module comes from the plan and the compile cache)"
	$(LODE_DEBUG) run out/polarization.json --data $(COMMENTS) -o out/polarization-run2.txt
	@cat out/polarization-run2.txt
	@cmp -s out/polarization-run1.txt out/polarization-run2.txt && echo "==> Both runs printed the same numbers"

demo-tpch: build
	@echo "==> Generating TPC-H at scale factor 0.1 into $(DEMO_DATA) (skipped if present)"
	@test -f $(DEMO_DATA)/lineitem.parquet || $(LODE_DEBUG) gen tpch --sf 0.1 --out $(DEMO_DATA)
	@echo "==> TPC-H Q1 (pricing summary) from its Substrait plan"
	$(LODE_DEBUG) run plans/tpch/q01.json --data $(DEMO_DATA)
	@echo "==> TPC-H Q5 (local supplier volume): six-way join"
	$(LODE_DEBUG) run plans/tpch/q05.json --data $(DEMO_DATA)
	@echo "==> TPC-H Q18 (large volume customers) as CSV"
	$(LODE_DEBUG) run plans/tpch/q18.json --data $(DEMO_DATA) --format csv

test: guests $(S3_ENV_READY)
	@echo "==> Unit tests of the example guests (native target)"
	cd guests && $(CARGO) test --quiet
	@echo "==> Running the test suite (unit, TPC-H equality, foreign-producer plans, Wasm guests, CLI, object storage against moto, fuzz)"
	$(CARGO) test --workspace
	$(CARGO) build --quiet -p lode-cli
	@echo "==> Plan-level conformance cases (conformance/cases): every case must pass"
	$(LODE_DEBUG) conformance plans conformance/cases
	@echo "==> Plans other producers wrote (conformance/producers: DuckDB 1.1.3, ibis-substrait 4.0.1, DataFusion 55 optimised and not), against DuckDB's answers on TPC-H SF 0.01"
	@test -f data/tpch-sf0.01/lineitem.parquet || $(LODE_DEBUG) gen tpch --sf 0.01 --out data/tpch-sf0.01
	$(LODE_DEBUG) conformance producers conformance/producers/tpch --data data/tpch-sf0.01
	@echo "==> The same for TPC-DS SF 0.01 (tables from DuckDB's dsdgen: PyPI duckdb and duckdb-extension-tpcds 1.4.4 in $(TPCDS_ENV))"
	@if command -v python3 >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory $(TPCDS_SF001) && \
		$(LODE_DEBUG) conformance producers conformance/producers/tpcds --data data/tpcds-sf0.01; \
	else \
		echo "    skipped: python3 is not installed (it generates the TPC-DS tables)"; \
	fi
	@echo "==> Flight SQL from Python: the ADBC driver sends a Substrait plan to a coordinator (tests/flight_sql_adbc.py)"
	@if command -v python3 >/dev/null 2>&1; then \
		python3 -m pip install --quiet --disable-pip-version-check adbc-driver-flightsql pyarrow 2>&1 | grep -v "as the 'root' user" || true; \
		python3 tests/flight_sql_adbc.py $(LODE_DEBUG) . ; \
	else \
		echo "    skipped: python3 is not installed"; \
	fi
	@echo "==> Fuzzing plan decoding and validation for $(FUZZ_TEST_SECONDS) s (cargo-fuzz, fuzz/corpus/plan_decode_validate; make fuzz runs every target longer)"
	@$(MAKE) --no-print-directory fuzz-targets FUZZ_TARGETS=plan_decode_validate FUZZ_SECONDS=$(FUZZ_TEST_SECONDS)
	@echo "==> Substrait function corpus ($(FUNCTION_CORPUS)): must not fall below conformance/functions-baseline.json"
	@if [ -d $(FUNCTION_CORPUS) ]; then \
		$(LODE_DEBUG) conformance functions --corpus $(FUNCTION_CORPUS) --summary --baseline conformance/functions-baseline.json; \
	else \
		echo "    skipped: $(FUNCTION_CORPUS) is not here (it comes with the project's shared reference data)"; \
	fi

# Fuzzing where untrusted bytes enter (docs/security.md): a plan from its author, a batch from a
# guest, bytes from the network. cargo-fuzz with --sanitizer none builds on the stable
# toolchain; inputs that grow coverage are kept in fuzz/corpus/<target>, crashes in
# fuzz/artifacts/<target> (each becomes a regression test where the code lives). New inputs go
# to out/fuzz-corpus first; `make fuzz` merges those that grow coverage into fuzz/corpus.
FUZZ_TARGETS ?= plan_decode_validate guest_batch cluster_codec
FUZZ_SECONDS ?= 600
FUZZ_TEST_SECONDS := 30

fuzz:
	@echo "==> Fuzzing $(FUZZ_TARGETS), $(FUZZ_SECONDS) s each (FUZZ_SECONDS=N to change); inputs that grow coverage are merged into fuzz/corpus"
	@$(MAKE) --no-print-directory fuzz-targets FUZZ_MERGE=1

fuzz-targets:
	@command -v cargo-fuzz >/dev/null 2>&1 || { echo "    installing cargo-fuzz 0.13.1 (cargo install, about 2 minutes)"; $(CARGO) install --quiet --locked cargo-fuzz --version 0.13.1; }
	@mkdir -p out
	@for target in $(FUZZ_TARGETS); do \
		case $$target in guest_batch) features=guest;; cluster_codec) features=cluster;; *) features=;; esac; \
		echo "    $$target: $(FUZZ_SECONDS) s (log: out/fuzz-$$target.log)"; \
		mkdir -p out/fuzz-corpus/$$target; \
		(cd fuzz && $(CARGO) fuzz run --sanitizer none $${features:+--features $$features} $$target ../out/fuzz-corpus/$$target corpus/$$target -- \
			-max_total_time=$(FUZZ_SECONDS) -print_final_stats=1) > out/fuzz-$$target.log 2>&1; status=$$?; \
		grep -E "^stat::(number_of_executed_units|new_units_added)|^Done" out/fuzz-$$target.log | sed 's/^/    /'; \
		if [ $$status -ne 0 ]; then \
			tail -40 out/fuzz-$$target.log; \
			if [ -n "$$(ls fuzz/artifacts/$$target 2>/dev/null)" ]; then echo "    the crashing input is in fuzz/artifacts/$$target"; fi; \
			exit 1; \
		fi; \
		if [ -n "$(FUZZ_MERGE)" ]; then \
			(cd fuzz && $(CARGO) fuzz run --sanitizer none $${features:+--features $$features} $$target corpus/$$target ../out/fuzz-corpus/$$target -- -merge=1) >> out/fuzz-$$target.log 2>&1 || exit 1; \
			echo "    fuzz/corpus/$$target: $$(ls fuzz/corpus/$$target | wc -l) inputs after merging what grew coverage"; \
		fi; \
	done

bench: guests
	@echo "==> Building lode-bench (release profile)"
	$(CARGO) build --release -p lode-bench -p lode-cli
	@echo "==> TPC-H SF 1: Substrait vs DataFusion SQL (results in docs/benchmarks.md)"
	target/release/lode-bench tpch --sf 1 --data data/tpch-sf1 --report docs/benchmarks.md
	@echo "==> Wasm vs native UDFs over 10 M rows, call/instance/compile costs (docs/benchmarks.md)"
	target/release/lode-bench wasm --rows 10000000 --guests guests/out --report docs/benchmarks.md
	@echo "==> TPC-H SF 1 through lode run --executors 2 vs lode run; scheduling latency, result throughput (docs/benchmarks.md)"
	target/release/lode-bench cluster --data data/tpch-sf1 --report docs/benchmarks.md
	@echo "==> Drivers: k-means over 1 M points, driver and host interface vs queries; gcd in Rust, C, Python, JS (docs/benchmarks.md)"
	target/release/lode-bench drivers --points 1000000 --iterations 10 --guests guests/out --report docs/benchmarks.md
	@echo "==> Validation of the 22 TPC-H plans: lode validate vs the reference validator (PyPI substrait-validator, installed with pip when python3 is here)"
	@if command -v python3 >/dev/null 2>&1; then \
		python3 -m pip install --quiet --disable-pip-version-check substrait-validator==0.1.4 2>&1 | grep -v "as the 'root' user" || true; \
	fi
	target/release/lode-bench validator --plans plans/tpch --report docs/benchmarks.md
	@$(MAKE) --no-print-directory $(S3_ENV_READY) $(PEERS_READY)
	@echo "==> TPC-H SF 1 with every engine in one process: Lode (Substrait) beside DuckDB and DataFusion SQL, row counts checked, and where Lode's time goes (docs/benchmarks.md)"
	target/release/lode-bench inprocess --data data/tpch-sf1 --peer-python $(SCALE_ENV)/bin/python --report docs/benchmarks.md
	@echo "==> TPC-H SF 1 from an S3-compatible server (moto on loopback) vs local disk, beside DataFusion over the same objects: time, requests, bytes fetched (docs/benchmarks.md)"
	python3 tools/s3/bench.py --lode $(LODE_RELEASE) --data data/tpch-sf1 --s3-env $(S3_ENV) --peer-python $(SCALE_ENV)/bin/python --report docs/benchmarks.md

SCALE_SF ?= 10
SCALE_DATA := data/tpch-sf$(SCALE_SF)
SCALE_PARTS := data/tpch-sf$(SCALE_SF)-parts
SCALE_ENV := out/scale-env
PEERS_READY := $(SCALE_ENV)/ready-duckdb-1.4.4-datafusion-55.0.0

$(PEERS_READY):
	@echo "==> Installing the peers measured beside Lode into $(SCALE_ENV): PyPI duckdb 1.4.4 and datafusion 55.0.0 (wheels only)"
	@test -x $(SCALE_ENV)/bin/python || python3 -m venv $(SCALE_ENV)
	@$(SCALE_ENV)/bin/python -m pip install --quiet --disable-pip-version-check --only-binary :all: duckdb==1.4.4 datafusion==55.0.0
	@touch $@

scale: bootstrap
	@echo "==> Building lode (release profile)"
	$(CARGO) build --release -p lode-cli
	@echo "==> Generating TPC-H at scale factor $(SCALE_SF) into $(SCALE_DATA) (skipped if present; SF 10 is about 3.5 GB)"
	@test -f $(SCALE_DATA)/lineitem.parquet || $(LODE_RELEASE) gen tpch --sf $(SCALE_SF) --out $(SCALE_DATA)
	@echo "==> The 22 TPC-H queries at SF $(SCALE_SF) with Lode's default bound, --memory-limit 4G and 2G, one process each; results checked against the default run (docs/benchmarks.md)"
	python3 tools/scale/scale.py --lode $(LODE_RELEASE) --data $(SCALE_DATA) --sf $(SCALE_SF) --limits default,4G,2G --out out/scale --report docs/benchmarks.md
	@$(MAKE) --no-print-directory $(PEERS_READY)
	@echo "==> TPC-H at scale factors 1 and 3 into data/tpch-sf1, data/tpch-sf3 (skipped if present)"
	@test -f data/tpch-sf1/lineitem.parquet || $(LODE_RELEASE) gen tpch --sf 1 --out data/tpch-sf1
	@test -f data/tpch-sf3/lineitem.parquet || $(LODE_RELEASE) gen tpch --sf 3 --out data/tpch-sf3
	@echo "==> Cost growth: the 22 queries at SF 1, 3 and $(SCALE_SF), one lode run each, beside DuckDB and DataFusion SQL on the same files (docs/benchmarks.md)"
	python3 tools/scale/growth.py --lode $(LODE_RELEASE) --sfs 1,3,$(SCALE_SF) --peer-python $(SCALE_ENV)/bin/python --report docs/benchmarks.md
	@echo "==> TPC-H SF $(SCALE_SF) split into 3 files per table into $(SCALE_PARTS) (skipped if present)"
	@test -f $(SCALE_PARTS)/nation.parquet || $(LODE_RELEASE) gen tpch --sf $(SCALE_SF) --parts 3 --out $(SCALE_PARTS)
	@echo "==> The 22 queries on a cluster: a coordinator and 3 executor processes (lode serve, loopback), --memory-limit 2G each, each holding two of every table's 3 files; results checked against the local run; then an executor killed (SIGKILL) in the middle of q09 and of q18"
	python3 tools/scale/cluster.py --lode $(LODE_RELEASE) --parts $(SCALE_PARTS) --sf $(SCALE_SF) --reference out/scale/sf$(SCALE_SF)/default --executors 3 --limit 2G --kill q09,q18 --out out/scale/cluster --report docs/benchmarks.md

conformance-producers: build
	@echo "==> Installing the producers into $(PRODUCERS_ENV) (a Python virtual environment): PyPI duckdb 1.1.3 with duckdb-extension-substrait 1.1.3; ibis-substrait 4.0.1 (ibis-framework 9.5.0, substrait 0.21.0); DataFusion is lode sql (and lode sql --unoptimized)"
	@test -x $(PRODUCERS_ENV)/bin/python || python3 -m venv $(PRODUCERS_ENV)
	@$(PRODUCERS_ENV)/bin/python -m pip install --quiet --disable-pip-version-check duckdb==1.1.3 duckdb-extension-substrait==1.1.3 ibis-substrait==4.0.1 ibis-framework==9.5.0 substrait==0.21.0
	@echo "==> Generating TPC-H at scale factor 0.1 into $(DEMO_DATA) (skipped if present)"
	@test -f $(DEMO_DATA)/lineitem.parquet || $(LODE_DEBUG) gen tpch --sf 0.1 --out $(DEMO_DATA)
	@for producer in duckdb:duckdb-1.1.3 ibis:ibis-substrait-4.0.1 datafusion:datafusion-55 datafusion-unoptimized:datafusion-55-unoptimized; do \
		name=$${producer%%:*}; dir=$(PRODUCERS_OUT)/tpch/$${producer#*:}; \
		echo "==> $$name writes a plan for each of the 22 TPC-H queries, DuckDB answers the SQL ($$dir)"; \
		rm -rf $$dir; \
		$(PRODUCERS_ENV)/bin/python tools/producers/produce.py $$name --lode $(LODE_DEBUG) --data $(DEMO_DATA) --out $$dir --answers $(PRODUCERS_OUT)/tpch/answers --sql plans/tpch/q*.sql 2>/dev/null || exit 1; \
		cp conformance/producers/tpch/$${producer#*:}/*.note $$dir/ 2>/dev/null || true; \
	done
	@echo "==> TPC-DS at scale factor 0.1 (data/tpcds-sf0.1) and its 99 queries ($(PRODUCERS_OUT)/tpcds-sql), from DuckDB's dsdgen"
	@$(MAKE) --no-print-directory $(TPCDS_ENV)/bin/python
	@test -f $(TPCDS_SF01) || $(TPCDS_ENV)/bin/python tools/producers/tpcds.py --sf 0.1 --data data/tpcds-sf0.1
	@test -f $(PRODUCERS_OUT)/tpcds-sql/q99.sql || $(TPCDS_ENV)/bin/python tools/producers/tpcds.py --sf 0.1 --sql $(PRODUCERS_OUT)/tpcds-sql
	@for producer in duckdb:duckdb-1.1.3 ibis:ibis-substrait-4.0.1 datafusion:datafusion-55 datafusion-unoptimized:datafusion-55-unoptimized; do \
		name=$${producer%%:*}; dir=$(PRODUCERS_OUT)/tpcds/$${producer#*:}; \
		echo "==> $$name writes a plan for each of the 99 TPC-DS queries, DuckDB answers the SQL ($$dir)"; \
		rm -rf $$dir; \
		$(PRODUCERS_ENV)/bin/python tools/producers/produce.py $$name --lode $(LODE_DEBUG) --data data/tpcds-sf0.1 --out $$dir --answers $(PRODUCERS_OUT)/tpcds/answers --sql $(PRODUCERS_OUT)/tpcds-sql/q*.sql 2>/dev/null || exit 1; \
		cp conformance/producers/tpcds/$${producer#*:}/*.note $$dir/ 2>/dev/null || true; \
	done
	@echo "==> Lode runs every plan; each result is checked against DuckDB's answer to the SQL"
	$(LODE_DEBUG) conformance producers $(PRODUCERS_OUT)/tpch --data $(DEMO_DATA)
	$(LODE_DEBUG) conformance producers $(PRODUCERS_OUT)/tpcds --data data/tpcds-sf0.1

$(S3_ENV_READY):
	@echo "==> Installing the storage tests' tools into $(S3_ENV): an S3-compatible server (PyPI moto[server] $(MOTO_VERSION), started by the tests on loopback) and the Delta Lake and Iceberg writers (deltalake $(DELTALAKE_VERSION), pyiceberg $(PYICEBERG_VERSION), pyarrow $(PYARROW_VERSION))"
	@python3 -m venv $(S3_ENV)
	@$(S3_ENV)/bin/python -m pip install --quiet --disable-pip-version-check --only-binary :all: "moto[server]==$(MOTO_VERSION)" "deltalake==$(DELTALAKE_VERSION)" "pyiceberg[sql-sqlite]==$(PYICEBERG_VERSION)" "pyarrow==$(PYARROW_VERSION)"
	@touch $@

$(TPCDS_ENV)/bin/python:
	@echo "==> Installing DuckDB's TPC-DS generator into $(TPCDS_ENV) (PyPI duckdb and duckdb-extension-tpcds 1.4.4)"
	@python3 -m venv $(TPCDS_ENV)
	@$(TPCDS_ENV)/bin/python -m pip install --quiet --disable-pip-version-check duckdb==1.4.4 duckdb-extension-tpcds==1.4.4

$(TPCDS_SF001): | $(TPCDS_ENV)/bin/python
	@echo "==> Generating TPC-DS at scale factor 0.01 into data/tpcds-sf0.01"
	@$(TPCDS_ENV)/bin/python tools/producers/tpcds.py --sf 0.01 --data data/tpcds-sf0.01

plans: build
	@test -f $(DEMO_DATA)/lineitem.parquet || $(LODE_DEBUG) gen tpch --sf 0.1 --out $(DEMO_DATA)
	@for sql in plans/tpch/q*.sql; do \
		echo "==> $${sql%.sql}.json"; \
		$(LODE_DEBUG) sql "$$(cat $$sql)" --data $(DEMO_DATA) -o "$${sql%.sql}.json" || exit 1; \
	done

fmt:
	$(CARGO) fmt --all
	cd guests && $(CARGO) fmt --all

lint: guests
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	cd guests && $(CARGO) clippy --target wasm32-wasip2 -- -D warnings

clean:
	$(CARGO) clean
	rm -rf data out
