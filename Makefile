# Strata. `make run` serves on an embedded SQLite file; `make test` runs every
# test on SQLite and on an ephemeral PostgreSQL cluster started by the tests.

GO            ?= go
TOOLS         := cd tools && $(GO) tool
STRATA_DB     ?= sqlite:strata.db
# The suite fails, rather than skips, when PostgreSQL cannot be started.
# Set STRATA_TEST_REQUIRE_POSTGRES=0 to run the SQLite half alone.
export STRATA_TEST_REQUIRE_POSTGRES ?= 1
# Test clusters live on tmpfs when there is one: about 6x faster clone and start.
ifneq ($(wildcard /dev/shm/.),)
export STRATA_TEST_POSTGRES_TMPDIR ?= /dev/shm
endif

.PHONY: all run build test generate check vet sqlc-vet generated-check bench tools postgres

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

## generate: sqlc (db/pg, db/sqlite) then go generate (mocks)
generate:
	$(TOOLS) sqlc -f ../sqlc.yaml generate
	$(GO) generate ./...

## check: vet, sqlc vet, generated code up to date, tests
check: vet sqlc-vet generated-check test

vet:
	$(GO) vet ./...

sqlc-vet:
	$(TOOLS) sqlc -f ../sqlc.yaml vet

## generated-check: fail when `make generate` changes any committed file
generated-check: generate
	@git diff --exit-code --stat -- db mocks || { echo 'generated code is stale: run make generate and commit'; exit 1; }

## bench: benchmarks, side by side
bench: postgres
	$(GO) test -run '^$$' -bench . -benchmem ./...

## postgres: make sure the PostgreSQL 15 server binaries the tests start are installed
postgres:
	@test -x /usr/lib/postgresql/15/bin/initdb || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql-15 >/dev/null; \
	  else echo 'install PostgreSQL 15 (apt-get install postgresql-15) or set STRATA_TEST_POSTGRES_URL'; exit 1; fi; }
