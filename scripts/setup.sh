#!/bin/bash
# Installs the build and test dependencies on Debian and builds ./pcaptk.
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs="libpcap-dev tcpdump tshark memcached iproute2 ethtool nodejs npm"
missing=""
for p in $pkgs; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi
export PATH=$PATH:/usr/local/go/bin
go build -o pcaptk ./cmd/pcaptk
