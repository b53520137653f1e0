#!/bin/bash
# The speed rows of the TCP analysis and the connection table, measured the way
# ../shared/bench/compare.sh measures the others (median wall time of RUNS runs,
# peak RSS; tshark on the first 200,000 packets and scaled per packet):
#   export-analysis-parquet  pcaptk export --analysis --format parquet
#                            against tshark's tcp.analysis.* and tcp.time_* fields
#   conns-tcptrace           pcaptk conns --format parquet against tcptrace -l -r -n
#   conns-tshark             pcaptk conns --format parquet against tshark -q -z conv,tcp
#                            (the whole capture, one run: it takes a while)
#
#   scripts/compare-analysis.sh PCAPTK CAPTURE.pcap [RUNS]
# Needs tshark, editcap, capinfos and tcptrace (scripts/setup.sh installs them).
set -u
bin=$(realpath "$1"); cap=$(realpath "$2"); runs=${3:-3}
export TZ=UTC LC_ALL=C
w=$(mktemp -d); trap 'rm -rf "$w"' EXIT
for c in tshark editcap capinfos tcptrace; do
  command -v $c >/dev/null || { echo "missing $c (scripts/setup.sh installs it)" >&2; exit 2; }
done
pkts=$(capinfos -c -M "$cap" | awk -F': *' '/Number of packets/{print $2}')
editcap -r "$cap" "$w/head.pcap" 1-200000 2>/dev/null
hpkts=$(capinfos -c -M "$w/head.pcap" | awk -F': *' '/Number of packets/{print $2}')
measure() { # median wall seconds and max peak RSS (MB) of n runs of a shell command
  local n=$2 i t=() m=0
  for i in $(seq "$n"); do
    rm -rf "$w/o"; mkdir -p "$w/o"
    /usr/bin/time -f "%e %M" -o "$w/t" bash -c "$1" >/dev/null 2>"$w/err" || { echo "FAILED: $1" >&2; tail -3 "$w/err" >&2; echo "nan nan"; return; }
    read -r s k < "$w/t"; t+=("$s"); [ "$k" -gt "$m" ] && m=$k
  done
  printf '%s %d\n' "$(printf '%s\n' "${t[@]}" | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}')" $((m/1024))
}
printf '%-24s %12s %12s %9s %12s\n' operation reference_s pcaptk_s ratio pcaptk_MB
row() { # name, reference command, its runs, pcaptk command, reference packets
  read -r rs rm <<<"$(measure "$2" "$3")"; read -r ps pm <<<"$(measure "$4" "$runs")"
  local ratio; ratio=$(awk -v r="$rs" -v p="$ps" -v rp="$5" -v n="$pkts" 'BEGIN{ if (p+0<=0 || r=="nan" || p=="nan") print "nan"; else printf "%.2f", (r/rp*n)/p }')
  printf '%-24s %12s %12s %9s %12s\n' "$1" "$rs" "$ps" "$ratio" "$pm"
}
A="-e frame.number -e tcp.stream"
for f in retransmission fast_retransmission spurious_retransmission out_of_order lost_segment \
  ack_lost_segment duplicate_ack duplicate_ack_num duplicate_ack_frame zero_window zero_window_probe \
  zero_window_probe_ack window_full window_update keep_alive keep_alive_ack reused_ports acks_frame \
  ack_rtt initial_rtt bytes_in_flight push_bytes_sent rto rto_frame; do
  A="$A -e tcp.analysis.$f"
done
A="$A -e tcp.time_relative -e tcp.time_delta"
row export-analysis-parquet \
  "tshark -r $w/head.pcap -o tcp.calculate_timestamps:TRUE -Y tcp -T fields -E header=y -E separator=, $A" "$runs" \
  "'$bin' export -r '$cap' --format parquet --analysis -o $w/o/a.parquet" "$hpkts"
row conns-tcptrace "tcptrace -l -r -n '$cap'" "$runs" \
  "'$bin' conns -r '$cap' --format parquet -o $w/o/c.parquet" "$pkts"
row conns-tshark "tshark -r '$cap' -q -z conv,tcp" 1 \
  "'$bin' conns -r '$cap' --format parquet -o $w/o/c.parquet" "$pkts"
echo "capture: $pkts packets; the analysis row's tshark timed on $hpkts packets and scaled"
