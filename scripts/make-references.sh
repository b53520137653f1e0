#!/bin/bash
# Regenerates the reference outputs in testdata/corpus/expected and
# testdata/corpus-tcp/expected from the captures beside them, with the reference
# tools the tests are defined against (tcpdump 4.99.3 with libpcap 1.10.3, TShark
# and capinfos 4.0.17: Debian 12's packages). testdata/README.md says what each
# file is.
#
#   scripts/make-references.sh [--any-version] [corpus|corpus-tcp]...
#
# With no corpus named, both are regenerated. On a machine with those versions the
# committed files come out byte for byte (check with `git status`); other versions
# print some packets differently, so the script refuses them unless --any-version is
# given (to see what a newer tool changes, not to commit the result).
#
# Not regenerated, because the tools are not packaged for Debian 12 or their output is
# not reproducible: corpus-tcp's NAME.zeek-conn.log (Zeek's own test baselines) and
# NAME.tcptrace.csv (tcptrace prints its wall-clock run time), and TOOL-VERSIONS.txt of
# corpus-tcp, which records those two.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

anyversion=0
corpora=()
for a in "$@"; do
  case $a in
    --any-version) anyversion=1 ;;
    corpus | corpus-tcp) corpora+=("$a") ;;
    *) echo "usage: $0 [--any-version] [corpus|corpus-tcp]..." >&2; exit 2 ;;
  esac
done
[ ${#corpora[@]} -gt 0 ] || corpora=(corpus corpus-tcp)

for tool in tcpdump tshark capinfos; do
  command -v $tool >/dev/null || { echo "make-references: $tool is not installed (apt-get install tcpdump tshark)" >&2; exit 2; }
done

# Every run as the references were made: UTC times, C locale, and an empty
# Wireshark configuration directory, so tshark uses its default preferences
# whatever the user has set.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/home"
export TZ=UTC LC_ALL=C HOME=$work/home XDG_CONFIG_HOME=$work/home/.config WIRESHARK_CONFIG_DIR=$work/home/wireshark

want_tcpdump="tcpdump version 4.99.3"
want_libpcap="libpcap version 1.10.3"
want_tshark="TShark (Wireshark) 4.0.17 "
have_tcpdump=$(tcpdump --version 2>&1)
have_tshark=$(tshark --version 2>/dev/null | head -1)
if [[ $have_tcpdump != *"$want_tcpdump"* || $have_tcpdump != *"$want_libpcap"* || $have_tshark != "$want_tshark"* ]]; then
  echo "make-references: the references are made with tcpdump 4.99.3 (libpcap 1.10.3) and TShark 4.0.17;" >&2
  echo "  installed: $(echo "$have_tcpdump" | head -2 | paste -sd ' ') / $have_tshark" >&2
  [ $anyversion = 1 ] || { echo "  rerun with --any-version to make them anyway" >&2; exit 2; }
fi

# tshark's fields for the TCP analysis references (corpus-tcp's, and the same for
# the general corpus): stream, every tcp.analysis flag and value, and the per-stream
# times that tcp.calculate_timestamps adds.
analysis_fields=(
  frame.number tcp.stream
  tcp.analysis.retransmission tcp.analysis.fast_retransmission
  tcp.analysis.spurious_retransmission tcp.analysis.out_of_order
  tcp.analysis.lost_segment tcp.analysis.ack_lost_segment
  tcp.analysis.duplicate_ack tcp.analysis.duplicate_ack_num tcp.analysis.duplicate_ack_frame
  tcp.analysis.zero_window tcp.analysis.zero_window_probe tcp.analysis.zero_window_probe_ack
  tcp.analysis.window_full tcp.analysis.window_update
  tcp.analysis.keep_alive tcp.analysis.keep_alive_ack tcp.analysis.reused_ports
  tcp.analysis.acks_frame tcp.analysis.ack_rtt tcp.analysis.initial_rtt
  tcp.analysis.bytes_in_flight tcp.analysis.push_bytes_sent
  tcp.analysis.rto tcp.analysis.rto_frame
  tcp.time_relative tcp.time_delta
)
packet_fields=(
  frame.number frame.time_epoch ip.src ipv6.src tcp.srcport ip.dst ipv6.dst tcp.dstport
  tcp.flags tcp.seq_raw tcp.ack_raw tcp.window_size_value tcp.len frame.len frame.cap_len
)
efields() { for f in "$@"; do printf -- '-e\n%s\n' "$f"; done; }
mapfile -t analysis_args < <(efields "${analysis_fields[@]}")
mapfile -t packet_args < <(efields "${packet_fields[@]}")

# keep_err TMP DEST: a stderr file is kept only when it says something; tshark's
# warning about running as root is a property of the machine, not of the capture.
keep_err() {
  grep -v '^Running as user "root" and group "root"\. This could be dangerous\.$' "$1" > "$1.kept" || true
  if [ -s "$1.kept" ]; then mv "$1.kept" "$2"; else rm -f "$1.kept" "$2"; fi
}

# analysis F OUT: tshark's TCP analysis fields, one row per TCP packet. A
# non-zero exit (a capture cut short) is left in the .err file beside it.
analysis() {
  local rc=0 err=${2%.csv}.err
  tshark -r "$1" -o tcp.calculate_timestamps:TRUE -Y tcp -T fields -E header=y -E separator=, \
    -E quote=n -E occurrence=f "${analysis_args[@]}" > "$2" 2> "$work/a.err" || rc=$?
  [ $rc = 0 ] || echo "(tshark exited with status $rc)" >> "$work/a.err"
  keep_err "$work/a.err" "$err"
}

general() {
  local exp=$root/testdata/corpus/expected f b rc1 rc2 rc3 rc4
  cd "$root/testdata/corpus/pcap"
  printf 'file\ttcpdump_nn\ttcpdump_nnS\ttshark\tcapinfos\n' > "$exp/EXIT-STATUS.tsv"
  for f in *; do
    b=${f%.*}
    echo "corpus: $f" >&2
    rc1=0; tcpdump -nn -r "$f" tcp > "$exp/$f.tcpdump-nn.txt" 2> "$work/nn.err" || rc1=$?
    rc2=0; tcpdump -nn -S -r "$f" tcp > "$exp/$f.tcpdump-nnS.txt" 2> "$work/nnS.err" || rc2=$?
    if cmp -s "$work/nn.err" "$work/nnS.err"; then rm -f "$work/nnS.err" "$exp/$f.tcpdump-nnS.err"; else keep_err "$work/nnS.err" "$exp/$f.tcpdump-nnS.err"; fi
    keep_err "$work/nn.err" "$exp/$f.tcpdump-nn.err"
    # libpcap's "tcp" does not look past an 802.1Q tag, so captures with tagged
    # frames get a second tcpdump reference for "vlan and tcp".
    if [ "$(tcpdump -r "$f" vlan 2>/dev/null | wc -l)" -gt 0 ]; then
      tcpdump -nn -r "$f" 'vlan and tcp' > "$exp/$f.tcpdump-nn-vlan.txt" 2>/dev/null || true
    else
      rm -f "$exp/$f.tcpdump-nn-vlan.txt"
    fi
    rc3=0; tshark -r "$f" -Y tcp -T fields -E header=y -E separator=, -E quote=d "${packet_args[@]}" \
      > "$exp/$f.tshark.csv" 2> "$work/ts.err" || rc3=$?
    keep_err "$work/ts.err" "$exp/$f.tshark.err"
    rc4=0; capinfos -M "$f" > "$exp/$f.capinfos.txt" 2> "$work/ci.err" || rc4=$?
    keep_err "$work/ci.err" "$exp/$f.capinfos.err"
    printf '%s\t%s\t%s\t%s\t%s\n' "$f" $rc1 $rc2 $rc3 $rc4 >> "$exp/EXIT-STATUS.tsv"
    analysis "$f" "$exp/$b.tshark-analysis.csv"
  done
  {
    echo "# tcpdump --version"; tcpdump --version 2>&1
    echo "# tshark --version (first line)"; tshark --version 2>/dev/null | head -1
    echo "# capinfos --version (first line)"; capinfos --version 2>/dev/null | head -1
  } > "$exp/TOOL-VERSIONS.txt"
}

tcp() {
  local exp=$root/testdata/corpus-tcp/expected f b
  cd "$root/testdata/corpus-tcp/pcap"
  for f in *; do
    b=${f%.*}
    echo "corpus-tcp: $f" >&2
    analysis "$f" "$exp/$b.tshark-analysis.csv"
    tshark -r "$f" -q -z conv,tcp > "$exp/$b.tshark-conv.txt" 2> "$work/conv.err" ||
      echo "(tshark exited with status $?)" >> "$work/conv.err"
    keep_err "$work/conv.err" "$exp/$b.tshark-conv.err"
  done
}

for c in "${corpora[@]}"; do
  case $c in
    corpus) general ;;
    corpus-tcp) tcp ;;
  esac
done
echo "references written; 'git status testdata' lists what changed" >&2
