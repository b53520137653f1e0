#!/bin/bash
# Runs every test: unit, golden (corpus), integration (libpcap, tshark, DuckDB), short fuzzing.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin TZ=UTC LC_ALL=C
go vet ./...
go test -count=1 -timeout 20m ./...
