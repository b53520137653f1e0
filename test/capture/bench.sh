#!/bin/bash
# Capture speed under load: the traffic of ../../../shared/bench/make-capture.sh (memcached
# and HTTP in netns hB, loadgen clients in hA), captured on hB's vB at the same time by
# tcpdump and by pcaptk with -C 10 -W 5. Prints both tools' counts and the packet rate.
#   test/capture/bench.sh PCAPTK [SECONDS] [CLIENTS] [BUFFER_KIB|default]
# BUFFER_KIB is given to both tools as -B; "default" leaves each with its own default
# (tcpdump: libpcap's 2 MiB; pcaptk: 32 MiB).
# Needs root, memcached, tcpdump, ethtool, python3; uses ../shared/bench (SHARED=dir to override).
set -eu
pcaptk=$(realpath "$1"); secs=${2:-20}; clients=${3:-48}; bufkib=${4:-65536}
here=$(cd "$(dirname "$0")" && pwd)
shared=${SHARED:-$(cd "$here/../../../shared/bench" && pwd)}
work=$(mktemp -d)
trap 'kill $mc $web 2>/dev/null; [ -n "${KEEP:-}" ] || rm -rf "$work"' EXIT
"$shared/netns.sh" up
ip netns exec hA ethtool -K vA tso off gso off gro off >/dev/null 2>&1 || true
ip netns exec hB ethtool -K vB tso off gso off gro off >/dev/null 2>&1 || true
(cd "$shared/loadgen" && go build -o "$work/loadgen" .)
head -c 3000000 /dev/urandom > "$work/blob.bin"
ip netns exec hB memcached -u root -l 10.99.0.2 -p 11211 -c 4096 -t 1 & mc=$!
(cd "$work" && exec ip netns exec hB python3 -m http.server 8080 --bind 10.99.0.2 >/dev/null 2>&1) & web=$!
sleep 1
mkdir "$work/pc" "$work/td"
bflag="-B $bufkib"; [ "$bufkib" = default ] && bflag=
ip netns exec hB tcpdump -i vB $bflag -s 0 -w "$work/td/td.pcap" tcp 2>"$work/td.err" & td=$!
ip netns exec hB "$pcaptk" capture -i vB $bflag -C 10 -W 5 -w "$work/pc/pc.pcap" tcp 2>"$work/pc.err" & pc=$!
sleep 2
start=$(date +%s.%N)
ip netns exec hA "$work/loadgen" -c "$clients" -d "${secs}s" -http http://10.99.0.2:8080/blob.bin >/dev/null
end=$(date +%s.%N)
sleep 1.5
cpu() { awk '{printf "%.2f s CPU", ($14+$15)/100}' /proc/$1/stat; }
tdcpu=$(cpu $(pgrep -P $td || echo $td)); pccpu=$(cpu $(pgrep -P $pc || echo $pc))
kill -INT $td $pc; wait $td $pc || true
echo "== tcpdump -B $bufkib ($tdcpu)"; cat "$work/td.err"
echo "== pcaptk capture -B $bufkib -C 10 -W 5 ($pccpu)"; cat "$work/pc.err"
ls -l "$work/pc"
n=$(grep -o '^[0-9]* packets captured' "$work/pc.err" | cut -d' ' -f1)
peak=$(tcpdump -r "$work/td/td.pcap" -tt -nn 2>/dev/null | cut -d. -f1 | uniq -c | sort -n | tail -1 | awk '{print $1}')
python3 -c "print('pcaptk: %d packets in %.1f s of traffic: %.0f packets/s on average, %d in the busiest second' % ($n, $end-$start, $n/($end-$start), $peak))"
# The ring's files hold the newest packets: each must be among the last packets of
# tcpdump's capture. Compared without time stamps (the kernel may stamp the two sockets'
# copies a microsecond apart; -S as relative sequence numbers depend on where a file
# starts) and as a multiset near the end (packets sent and received
# at the same moment reach the two sockets in either order).
dump() { tcpdump -r "$1" -S -t -nn -xx 2>/dev/null | awk '/^[^\t]/ && NR > 1 {print ""} {printf "%s|", $0} END {print ""}'; }
for f in $(ls "$work"/pc/*.pcap | sort); do dump "$f"; done > "$work/ring.txt"
dump "$work/td/td.pcap" > "$work/td.txt"
python3 - "$work/ring.txt" "$work/td.txt" <<'PY'
import sys, collections
ring = [l for l in open(sys.argv[1]) if l.strip()]
td = [l for l in open(sys.argv[2]) if l.strip()]
missing = collections.Counter(ring) - collections.Counter(td[-len(ring) - 1000:])
if missing:
    sys.exit("%d of the ring's %d packets are not at the end of tcpdump's capture" % (sum(missing.values()), len(ring)))
print("the ring's %d packets are the last packets tcpdump captured, byte for byte" % len(ring))
PY
