#!/bin/bash
# Where capture starts to drop, pcaptk against tcpdump. scripts/capture-bench.sh
# drives real clients and servers, but on a small machine they top out near
# 76,000 packets a second, below where either tool drops with a usable buffer.
# This script sends the same traffic faster: it replays a capture recorded by
# ../shared/bench/make-capture.sh (memcached and HTTP over TCP) with tcpreplay
# from hA's vA at fixed packet rates, while tcpdump and pcaptk capture on hB's vB
# at the same time, both with -w, the same -B and the filter "tcp". For each run:
# the rate tcpreplay reached, and for each tool its CPU seconds per million
# packets (utime+stime from /proc/PID/stat over the replay only) and its counts
# (captured, dropped by kernel, and pcaptk's own queue drops).
#
#   sudo scripts/capture-onset.sh PCAPTK CAPTURE [SECONDS] [BUFFER_KIB] [REPEATS] [RATES...]
#
# RATES are packets a second (default 100000 150000 200000 250000 300000;
# "top" replays as fast as tcpreplay can). Each run sends SECONDS (default 5)
# times the rate packets from the start of CAPTURE. The kernel copies each
# packet into both rings in the sender's context, so the rate tcpreplay reaches
# falls as the captures compete for the same CPUs: read the "rate" column, not
# the rate asked for. Needs tcpreplay, tcpdump and ethtool (scripts/setup.sh);
# the namespaces of ../shared/bench/netns.sh are created if missing and never
# removed.
set -eu
pcaptk=$(realpath "$1"); cap=$(realpath "$2"); secs=${3:-5}; bufkib=${4:-2048}; repeats=${5:-1}
shift $(( $# < 5 ? $# : 5 ))
rates=${*:-100000 150000 200000 250000 300000}
here=$(cd "$(dirname "$0")" && pwd)
shared=${SHARED:-$(cd "$here/../../shared/bench" 2>/dev/null && pwd || echo /work/shared/bench)}
for c in tcpreplay tcpdump ethtool python3; do
  command -v $c >/dev/null || { echo "capture-onset: $c is not installed (scripts/setup.sh)" >&2; exit 1; }
done
work=$(mktemp -d)
td=; pc=
trap 'kill $td $pc 2>/dev/null || true; rm -rf "$work"' EXIT
. "$here/capture-lib.sh"
netns_up "$shared"
echo "pcaptk vs tcpdump, -B $bufkib, ${secs} s of $cap replayed on vA, captured on vB (filter tcp)"
echo "#  asked   rate(pkt/s) sent    | tcpdump: cpu s/Mpkt captured dropped | pcaptk: cpu s/Mpkt captured dropped qdrop | load"
for r in $rates; do
  for i in $(seq "$repeats"); do
    rm -f "$work"/*.pcap
    start_both "$work" "$pcaptk" "$bufkib" tcp
    if [ "$r" = top ]; then speed=--topspeed; n=$((secs * 300000)); else speed=--pps=$r; n=$((secs * r)); fi
    td0=$(cpu $td); pc0=$(cpu $pc)
    ip netns exec hA tcpreplay -i vA $speed --limit=$n "$cap" >"$work/rp.out" 2>&1 || true
    sleep 1 # the last blocks: both hand over a partly filled block after its timeout
    td1=$(cpu $td); pc1=$(cpu $pc)
    load=$(cut -d' ' -f1 /proc/loadavg)
    kill -INT $td $pc; wait $td $pc || true
    td=; pc=
    python3 - "$r" "$tck" "$td0" "$td1" "$pc0" "$pc1" "$load" \
      "$(sed -n 's/.*Mbps, \([0-9.]*\) pps.*/\1/p' "$work/rp.out")" \
      "$(sed -n 's/.*Actual: \([0-9]*\) packets.*/\1/p' "$work/rp.out")" \
      "$(count "$work/td.err" captured)" "$(count "$work/td.err" 'dropped by kernel')" \
      "$(count "$work/pc.err" captured)" "$(count "$work/pc.err" 'dropped by kernel')" \
      "$(count "$work/pc.err" 'dropped by pcaptk')" <<'PY'
import sys
a = sys.argv[1:]
asked, tck = a[0], float(a[1])
td0, td1, pc0, pc1 = (float(x) for x in a[2:6])
load = a[6]
rate = float(a[7] or 'nan')
sent, tdcap, tddrop, pccap, pcdrop, pcq = (int(x) if x else 0 for x in a[8:14])
per = lambda ticks, pkts: (ticks / tck) / pkts * 1e6 if pkts else float('nan')
print("%8s %10.0f %9d  | %6.3f %9d %7d | %6.3f %9d %7d %5d | %s" % (
    asked, rate, sent, per(td1 - td0, tdcap), tdcap, tddrop,
    per(pc1 - pc0, pccap), pccap, pcdrop, pcq, load))
PY
  done
done
echo "# $(uptime)"
