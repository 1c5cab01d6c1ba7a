# Strata. `make run` serves on an embedded SQLite file; `make test` runs every
# test on SQLite and on an ephemeral PostgreSQL cluster started by the tests.

SHELL         := /bin/bash
GO            ?= go
TOOLS         := cd tools && $(GO) tool
STRATA_DB     ?= sqlite:strata.db
# The suite fails, rather than skips, when PostgreSQL cannot be started.
# Set STRATA_TEST_REQUIRE_POSTGRES=0 to run the SQLite half alone.
export STRATA_TEST_REQUIRE_POSTGRES ?= 1
# The repo conformance suite runs through the read router too
# (scaling/pgscale TestConformance; a plain go test skips it).
export STRATA_TEST_ROUTER_CONFORMANCE ?= 1
# Test clusters live on tmpfs when there is one: about 6x faster clone and start.
ifneq ($(wildcard /dev/shm/.),)
export STRATA_TEST_POSTGRES_TMPDIR ?= /dev/shm
endif

.PHONY: all run build test generate check vet sqlc-vet lint-api generated-check bench bench-smoke soak ha fuzz tools postgres pg_auto_failover

all: check

## run: build and serve on $(STRATA_DB) (default: sqlite:strata.db, created and migrated on first start)
run: build
	./bin/strata serve --db '$(STRATA_DB)'

## build: build ./bin/strata
build:
	$(GO) build -o bin/strata ./cmd/strata

## test: every test, both dialects (PostgreSQL 15 binaries must be installed; see .ci/run)
SUMMARY := $(CURDIR)/.conformance-summary
test: postgres
	@rm -f $(SUMMARY)
	STRATA_CONFORMANCE_SUMMARY=$(SUMMARY) $(GO) test -count=1 ./...
	@cat $(SUMMARY); rm -f $(SUMMARY)

## generate: sqlc (db/pg, db/sqlite) then go generate (mocks; the OpenAPI document
## from the routes' declarations, then the client)
generate:
	$(TOOLS) sqlc -f ../sqlc.yaml generate
	$(GO) generate ./...

## check: vet, sqlc vet, the API document's lint, generated code up to date, tests
check: vet sqlc-vet lint-api generated-check test

vet:
	$(GO) vet ./...

sqlc-vet:
	$(TOOLS) sqlc -f ../sqlc.yaml vet

## lint-api: Redocly CLI's recommended rules, each an error (redocly.yaml), on the
## OpenAPI document; installs Node.js with apt when npx is missing and we are root
REDOCLY := @redocly/cli@2.77.0
lint-api:
	@command -v npx >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; \
	  else echo 'lint-api needs Node.js (npx): apt-get install nodejs npm' >&2; exit 1; fi; }
	npx --yes $(REDOCLY) lint --config redocly.yaml internal/httpapi/openapi.json

## generated-check: fail when `make generate` changes any committed file
generated-check: generate
	@git diff --exit-code --stat -- db mocks client internal/httpapi/openapi.json || { echo 'generated code is stale: run make generate and commit'; exit 1; }

## bench: every benchmark, each comparing our path with its reference in the same run,
## then the summary tables (layer vs raw driver, pgbench, ...)
BENCHLOG := $(CURDIR)/bench.out
bench: postgres
	set -o pipefail; STRATA_BENCH_PGBENCH=1 $(GO) test -run '^$$' -bench . -skip 'BenchmarkTracingOverhead' -benchmem -timeout 30m ./... | tee $(BENCHLOG)
	# tracing's targets (1%, 5%) are near this machine's noise: 3 s a case
	set -o pipefail; $(GO) test -run '^$$' -bench 'BenchmarkTracingOverhead' -benchtime 3s -benchmem -timeout 30m ./internal/loadtest | tee -a $(BENCHLOG)
	set -o pipefail; STRATA_LOADTEST=1 STRATA_LOADTEST_OUT=$(CURDIR)/loadtest.out $(GO) test -count=1 -timeout 30m -v -run 'TestImportThroughput|TestHTTPLoad|TestHotOrgHTTP|TestAuditMemory' ./internal/loadtest | tee -a $(BENCHLOG)
	@echo; echo '=== summary ==='; grep -h -A7 '^layer vs' $(BENCHLOG) || true; grep -h -A4 '^tracing ' $(BENCHLOG) || true; grep -h 'throughput ratio' $(BENCHLOG) || true; grep -h 'audited/unaudited' $(BENCHLOG) || true; grep -h 'long/short' $(BENCHLOG) || true; cat $(CURDIR)/loadtest.out 2>/dev/null || true

## bench-smoke: every benchmark once (-benchtime 1x), so that none rots
## unnoticed between make bench runs; CI runs it (about 2.5 min)
bench-smoke: postgres
	$(GO) test -run '^$$' -bench . -benchtime 1x -timeout 20m ./...

## soak: the fault tests (kill -9 under load, connection loss, replica loss,
## switchover and failover on pg_auto_failover), each repeating its fault for
## $(SOAK); CI runs a short one
SOAK ?= 1m
RAPID_CHECKS ?= 500
soak: postgres pg_auto_failover
	STRATA_SOAK=$(SOAK) $(GO) test -count=1 -timeout 60m -v -run 'TestFormation' ./internal/pgtest/
	STRATA_SOAK=$(SOAK) $(GO) test -count=1 -timeout 60m -v -run 'TestCrashLosesNoAcknowledgedWrite|TestPostgresConnectionLossFailsFastAndRecovers|TestReplicaLossAndLagFailNoRead|TestHighAvailability' ./cmd/strata/
	STRATA_SOAK=$(SOAK) RAPID_CHECKS=$(RAPID_CHECKS) $(GO) test -count=1 -timeout 60m -v -run 'TestLoad|TestHostileTenants' ./internal/httpapi/

## ha: the soak's pg_auto_failover test alone: strata serve under load through
## a switchover, a kill -9 of the primary, a keyed retry across the failover
## (about 4 min)
ha: postgres pg_auto_failover
	STRATA_SOAK=$(SOAK) $(GO) test -count=1 -timeout 30m -v -run 'TestHighAvailability' ./cmd/strata/

## fuzz: every fuzz target for $(FUZZTIME) each (CI: a few seconds each). A count of
## runs, not a duration: in Go 1.26 a duration can end in a spurious "context deadline
## exceeded" failure (golang/go#75804, fixed in 1.27).
FUZZTIME ?= 50000x
fuzz:
	@for dir in $$(grep -rl --include='*_test.go' --exclude-dir=tools '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
	  for f in $$(grep -h '^func Fuzz' "$$dir"/*_test.go | sed 's/^func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
	    echo "fuzz $$dir $$f"; $(GO) test "$$dir" -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZTIME) || exit 1; \
	  done; \
	done

## postgres: make sure the PostgreSQL 15 server binaries the tests start are installed
postgres:
	@test -x /usr/lib/postgresql/15/bin/initdb || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null; \
	  else echo 'install PostgreSQL 15 (apt-get install postgresql-15) or set STRATA_TEST_POSTGRES_URL'; exit 1; fi; }

## pg_auto_failover: make sure the HA manager the failover tests run (pg_autoctl and its
## monitor extension for PostgreSQL 15) is installed
pg_auto_failover: postgres
	@{ command -v pg_autoctl >/dev/null && test -f /usr/lib/postgresql/15/lib/pgautofailover.so; } || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15-auto-failover pg-auto-failover-cli >/dev/null; \
	  else echo 'install pg_auto_failover (apt-get install postgresql-15-auto-failover pg-auto-failover-cli) or set STRATA_TEST_PG_AUTOCTL'; exit 1; fi; }
