#!/bin/bash
# Runs every test: unit, golden (corpus), integration (libpcap, tcpdump, tshark,
# DuckDB, live capture as root), then each fuzz target for a few seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin TZ=UTC LC_ALL=C
# A count, not a duration: Go 1.26's fuzz coordinator can report a spurious
# "context deadline exceeded" failure when a duration runs out mid-execution
# (golang/go#75804, fixed in Go 1.27); a count has no deadline to race.
fuzztime=${FUZZTIME:-20000x}

go vet ./...
go test -count=1 -timeout 20m -skip '^TestCaptureLive$' ./...

# Live capture against a simultaneous tcpdump on real interfaces depends on the
# kernel's timing; a failure is retried once, and the first failure is shown so
# a real fault is not hidden (it fails twice).
if ! go test -count=1 -timeout 5m -run '^TestCaptureLive$' ./cmd/pcaptk >/tmp/pcaptk-capture.log 2>&1; then
  echo "TestCaptureLive failed once; its output:"; cat /tmp/pcaptk-capture.log
  echo "retrying TestCaptureLive"
  go test -count=1 -timeout 5m -run '^TestCaptureLive$' ./cmd/pcaptk
else
  tail -1 /tmp/pcaptk-capture.log
fi

# Short fuzzing of every parser; a crash fails the run and leaves the input in
# the package's testdata/fuzz for `go test` to replay.
# The command layer's target runs every command on each input, so it gets fewer.
for pkg in $(go list ./pkg/... ./cmd/...); do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    n=$fuzztime
    [ "$target" = FuzzCommands ] && n=${FUZZTIME_COMMANDS:-1500x}
    echo "fuzz $pkg $target ($n)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$n" "$pkg" >/tmp/pcaptk-fuzz.log 2>&1 || { cat /tmp/pcaptk-fuzz.log; exit 1; }
  done
done
echo "fuzzing: no failures"
