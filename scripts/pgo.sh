#!/bin/bash
# Rebuilds cmd/pcaptk/default.pgo, the profile `go build` uses for profile-guided
# optimisation, from CPU profiles of the commands people run most, on a capture
# recorded with ../shared/bench/make-capture.sh:
#   scripts/pgo.sh CAPTURE.pcap
# Commit the new profile with the figures that justify it.
set -euo pipefail
cd "$(dirname "$0")/.."
cap=$(realpath "$1")
w=$(mktemp -d); trap 'rm -rf "$w"' EXIT
go build -o "$w/pcaptk" ./cmd/pcaptk
run() { # name, args...
  local name=$1; shift
  PCAPTK_CPUPROFILE="$w/$name.prof" "$w/pcaptk" "$@" >/dev/null 2>&1
}
run read read -nn -r "$cap"
run csv export -r "$cap" --format csv
run json export -r "$cap" --format json
run parquet export -r "$cap" --format parquet -o "$w/x.parquet"
run filter filter -r "$cap" -w "$w/f.pcap" 'tcp port 11211'
run info info "$cap"
run analysis export -r "$cap" --format parquet --analysis -o "$w/a.parquet"
run conns conns -r "$cap" --format parquet -o "$w/c.parquet"
go tool pprof -proto "$w"/*.prof > cmd/pcaptk/default.pgo
ls -l cmd/pcaptk/default.pgo
