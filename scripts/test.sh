#!/bin/bash
# Runs every test: unit, golden (the corpora in testdata/), integration (libpcap,
# tcpdump, tshark, DuckDB, live capture as root), then each fuzz target for a few
# seconds. Ends with the number of skipped tests and why each skipped: tests skip
# only for what the machine lacks (root, a tool), and a run that skipped most of
# them should not pass unnoticed.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin TZ=UTC LC_ALL=C
# A count, not a duration: Go 1.26's fuzz coordinator can report a spurious
# "context deadline exceeded" failure when a duration runs out mid-execution
# (golang/go#75804, fixed in Go 1.27); a count has no deadline to race.
fuzztime=${FUZZTIME:-20000x}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# testreport turns `go test -json` back into go test's usual output and counts
# the skips (internal/testreport).
go build -o "$work/testreport" ./internal/testreport
skips=$work/skips

go vet ./...
go test -json -count=1 -timeout 20m -skip '^TestCaptureLive$' ./... 2>&1 | "$work/testreport" -skips "$skips"

# Live capture against a simultaneous tcpdump on real interfaces depends on the
# kernel's timing; a failure is retried once, and the first failure is shown so
# a real fault is not hidden (it fails twice).
live() {
  : > "$skips.live"
  go test -json -count=1 -timeout 5m -run '^TestCaptureLive$' ./cmd/pcaptk 2>&1 | "$work/testreport" -skips "$skips.live"
}
if ! live >"$work/capture.log" 2>&1; then
  echo "TestCaptureLive failed once; its output:"; cat "$work/capture.log"
  echo "retrying TestCaptureLive"
  live
else
  tail -2 "$work/capture.log"
fi

# Short fuzzing of every parser; a crash fails the run and leaves the input in
# the package's testdata/fuzz for `go test` to replay.
# The command layer's target runs every command on each input, so it gets fewer.
for pkg in $(go list ./pkg/... ./cmd/...); do
  for target in $(go test -list '^Fuzz' "$pkg" | grep '^Fuzz' || true); do
    n=$fuzztime
    [ "$target" = FuzzCommands ] && n=${FUZZTIME_COMMANDS:-1500x}
    echo "fuzz $pkg $target ($n)"
    go test -run '^$' -fuzz "^${target}\$" -fuzztime "$n" "$pkg" >"$work/fuzz.log" 2>&1 || { cat "$work/fuzz.log"; exit 1; }
  done
done
echo "fuzzing: no failures"

cat "$skips" "$skips.live" 2>/dev/null | sed '/^$/d' > "$skips.all" || true
n=$(wc -l < "$skips.all")
echo "skipped tests: $n"
sed 's/^/  /' "$skips.all"
