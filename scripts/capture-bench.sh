#!/bin/bash
# Capture cost and drops, pcaptk against tcpdump: the traffic of
# ../shared/bench/make-capture.sh (memcached and an HTTP server in netns hB, loadgen
# clients in hA, offloads off on the veth pair of ../shared/bench/netns.sh), captured
# on hB's vB by tcpdump and by pcaptk at the same time, both with -w and the same -B
# and filter. For each run: the packet rate, each tool's CPU seconds per million
# packets (utime+stime from /proc/PID/stat over the traffic only, start-up left out)
# and its counts (captured, received by filter, dropped by kernel).
#
#   sudo scripts/capture-bench.sh PCAPTK [SECONDS] [BUFFER_KIB] [REPEATS] [CLIENTS...]
#
# CLIENTS are loadgen's -c, one run each, in order (more clients, more packets a
# second); default 4 16 64 192. PCAPTK_BACKEND=libpcap|afpacket forces pcaptk's
# --backend (default: its own choice). Output: one line per run, then the load
# average (other work on the machine changes the rates and the drops, not the CPU
# per packet). Servers listen on ports of their own (11411, 8181) and the filter
# keeps only them, so that other users of the namespaces do not disturb; the
# namespaces are created if missing and never removed (others may be using them).
set -eu
pcaptk=$(realpath "$1"); secs=${2:-10}; bufkib=${3:-2048}; repeats=${4:-1}
shift $(( $# < 4 ? $# : 4 ))
clients=${*:-4 16 64 192}
here=$(cd "$(dirname "$0")" && pwd)
shared=${SHARED:-$(cd "$here/../../shared/bench" 2>/dev/null && pwd || echo /work/shared/bench)}
mcport=11411; webport=8181
filter="tcp port $mcport or tcp port $webport"
backend=${PCAPTK_BACKEND:+--backend $PCAPTK_BACKEND}
work=$(mktemp -d)
mc=; web=
trap 'kill $mc $web 2>/dev/null || true; rm -rf "$work"' EXIT
for c in memcached tcpdump ethtool python3; do
  command -v $c >/dev/null || { echo "capture-bench: $c is not installed (scripts/setup.sh)" >&2; exit 1; }
done
. "$here/capture-lib.sh"
netns_up "$shared"
(cd "$shared/loadgen" && go build -o "$work/loadgen" .)
head -c 3000000 /dev/urandom > "$work/blob.bin"
ip netns exec hB memcached -u root -l 10.99.0.2 -p $mcport -c 4096 -t 1 & mc=$!
(cd "$work" && exec ip netns exec hB python3 -m http.server $webport --bind 10.99.0.2 >/dev/null 2>&1) & web=$!
sleep 1

echo "pcaptk ${PCAPTK_BACKEND:-auto} vs tcpdump, -B $bufkib, ${secs} s runs, filter: $filter"
echo "# clients  rate(pkt/s)  | tcpdump: cpu s/Mpkt captured recv drop | pcaptk: cpu s/Mpkt captured recv drop qdrop | load"
for c in $clients; do
  for r in $(seq "$repeats"); do
    rm -f "$work"/*.pcap
    start_both "$work" "$pcaptk" "$bufkib" "$filter" $backend
    td0=$(cpu $td); pc0=$(cpu $pc)
    start=$(date +%s.%N)
    ip netns exec hA "$work/loadgen" -mc 10.99.0.2:$mcport -c "$c" -d "${secs}s" \
      -http http://10.99.0.2:$webport/blob.bin >/dev/null 2>&1 || true
    end=$(date +%s.%N)
    sleep 1 # the last blocks: both tools hand over a partly filled block after its timeout
    td1=$(cpu $td); pc1=$(cpu $pc)
    load=$(cut -d' ' -f1 /proc/loadavg)
    kill -INT $td $pc; wait $td $pc || true
    python3 - "$c" "$start" "$end" "$tck" "$td0" "$td1" "$pc0" "$pc1" "$load" \
      "$(count "$work/td.err" captured)" "$(count "$work/td.err" 'received by filter')" "$(count "$work/td.err" 'dropped by kernel')" \
      "$(count "$work/pc.err" captured)" "$(count "$work/pc.err" 'received by filter')" "$(count "$work/pc.err" 'dropped by kernel')" \
      "$(count "$work/pc.err" 'dropped by pcaptk')" <<'PY'
import sys
a = sys.argv[1:]
c, start, end, tck = a[0], float(a[1]), float(a[2]), float(a[3])
td0, td1, pc0, pc1 = (float(x) for x in a[4:8])
load = a[8]
n = [int(x) if x else 0 for x in a[9:16]]
tdcap, tdrecv, tddrop, pccap, pcrecv, pcdrop, pcq = n
rate = tdrecv / (end - start)
per = lambda ticks, pkts: (ticks / tck) / pkts * 1e6 if pkts else float('nan')
print("%8s %12.0f  | %6.3f %9d %9d %6d | %6.3f %9d %9d %6d %5d | %s" % (
    c, rate, per(td1 - td0, tdcap), tdcap, tdrecv, tddrop,
    per(pc1 - pc0, pccap), pccap, pcrecv, pcdrop, pcq, load))
PY
  done
done
echo "# $(uptime)"
