# Shared by scripts/capture-bench.sh and scripts/capture-onset.sh (sourced, not
# run): the veth pair of ../shared/bench/netns.sh with offloads off, both
# captures started on hB's vB, and what is read from them.

# netns_up SHARED_BENCH_DIR: the namespaces (created if missing, never removed:
# others may be using them), with TSO, GSO and GRO off so that packets are
# captured as sent.
netns_up() {
  ip netns list | grep -q '^hA' || "$1/netns.sh" up
  ip netns exec hA ethtool -K vA tso off gso off gro off >/dev/null 2>&1 || true
  ip netns exec hB ethtool -K vB tso off gso off gro off >/dev/null 2>&1 || true
}

# start_both WORK PCAPTK BUFFER_KIB FILTER [PCAPTK_OPTIONS...]: tcpdump and
# pcaptk capture on vB into WORK/td.pcap and WORK/pc.pcap (their stderr in
# WORK/td.err and WORK/pc.err); sets td and pc to their PIDs and returns once
# both are listening.
start_both() {
  local work=$1 pk=$2 buf=$3 flt=$4 i
  shift 4
  ip netns exec hB tcpdump -i vB -B "$buf" -s 0 -w "$work/td.pcap" "$flt" 2>"$work/td.err" & td=$!
  ip netns exec hB "$pk" capture "$@" -i vB -B "$buf" -w "$work/pc.pcap" "$flt" 2>"$work/pc.err" & pc=$!
  for i in $(seq 100); do
    grep -q listening "$work/td.err" 2>/dev/null && grep -q listening "$work/pc.err" 2>/dev/null && break
    sleep 0.1
  done
  sleep 0.5
}

cpu() { awk '{print $14+$15}' /proc/$1/stat; } # utime+stime of PID, clock ticks
# count ERRFILE WHAT: the number on the "N packets WHAT" line a capture printed.
count() { sed -n "s/^\([0-9]*\) packets* $2.*/\1/p" "$1" | tail -1; }
tck=$(getconf CLK_TCK)
