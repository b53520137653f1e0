#!/bin/bash
# Installs the build and test dependencies on Debian and builds ./pcaptk.
# Go is expected at /usr/local/go (or on PATH).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
# Debian packages: libpcap for cgo; tcpdump, tshark (with editcap, mergecap,
# capinfos) and tcptrace as reference tools; memcached, iproute2 and ethtool
# for the live capture tests; time (/usr/bin/time) for the peak-memory tests;
# tcpreplay for scripts/capture-onset.sh.
pkgs="libpcap-dev tcpdump tshark tcptrace memcached iproute2 ethtool libcap2-bin time tcpreplay"
missing=""
for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
# Node.js runs the DuckDB integration test; keep a Node.js already on the machine.
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
# pandas for the test that it loads the CSV and JSON exports, without the
# packages it recommends (scipy, matplotlib, numba: 300 MB the test does not use).
nr=""
dpkg -s python3-pandas >/dev/null 2>&1 || nr="python3-pandas"
if [ -n "$missing$nr" ]; then
  $SUDO apt-get update -qq
fi
if [ -n "$missing" ]; then
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi
if [ -n "$nr" ]; then
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $nr >/dev/null
fi
go build -o pcaptk ./cmd/pcaptk
echo "built ./pcaptk ($(./pcaptk --version))"
