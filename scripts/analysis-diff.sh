#!/bin/bash
# Scores the TCP analysis columns of `pcaptk export --analysis` against tshark's
# (testdata/corpus-tcp/expected/NAME.tshark-analysis.csv), field by field.
#
#   scripts/analysis-diff.sh PCAPTK [-v] [CAPTURE_NAME...]
#
# For each field: how many of tshark's TCP packets pcaptk gives the same value,
# and on how many tshark set it (a flag, or a value other than empty or 0); then
# the packets pcaptk did not write at all; the last line is the share of packets
# that agree in every field. -v also prints each capture's first differing
# values. ANALYSIS_CORPUS=DIR scores another corpus laid out alike, e.g.
# testdata/corpus, whose captures have the same references.
#
# Rules: a flag agrees when both set it or neither does (tshark writes 1, pcaptk
# true); an empty value agrees only with an empty one; durations (ack_rtt,
# initial_rtt, rto, time_relative, time_delta) agree within 1 µs, since tshark
# rounds some of them to microseconds; other values agree when equal as integers.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
[ $# -ge 1 ] && [ "${1#-}" = "$1" ] || { echo "usage: $0 PCAPTK [-v] [CAPTURE_NAME...]" >&2; exit 2; }
[ -x "$1" ] || { echo "analysis-diff: no executable pcaptk at $1" >&2; exit 2; }
bin=$(realpath "$1"); shift
verbose=0
[ "${1:-}" != -v ] || { verbose=1; shift; }
corpus=${ANALYSIS_CORPUS:-$root/testdata/corpus-tcp}
export TZ=UTC LC_ALL=C

# The help is read whole first: with pipefail, grep -q leaving early would fail
# the pipeline through the writer's SIGPIPE.
help=$("$bin" export --help 2>&1 || true)
if ! grep -qE -- '(^|[ ,])--analysis([ =,]|$)' <<<"$help"; then
  echo "analysis-diff: $bin has no 'export --analysis' (TCP analysis columns); nothing to score" >&2
  exit 2
fi

names=("$@")
[ ${#names[@]} -gt 0 ] || mapfile -t names < <(ls "$corpus/pcap")
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# pcaptk's names for the fields, in tshark's order after frame.number; tshark's
# are tcp.analysis.NAME except for the four renamed (see fieldmap below), stream
# and the two times.
cols=frame,stream,retransmission,fast_retransmission,spurious_retransmission,out_of_order,lost_segment,ack_lost_segment,dup_ack,dup_ack_num,dup_ack_frame,zero_window,zero_window_probe,zero_window_probe_ack,window_full,window_update,keep_alive,keep_alive_ack,reused_ports,acks_frame,ack_rtt,irtt,bytes_in_flight,push_bytes_sent,rto,rto_frame,time_relative,time_delta

pairs=()
for n in "${names[@]}"; do
  b=${n%.*}
  ref=$corpus/expected/$b.tshark-analysis.csv
  [ -f "$ref" ] || { echo "analysis-diff: reference missing: $ref" >&2; exit 1; }
  rc=0
  "$bin" export -r "$corpus/pcap/$n" --format csv --analysis --time-format epoch --columns "$cols" \
    > "$work/$b.csv" 2> "$work/$b.err" || rc=$?
  [ $rc = 0 ] || echo "$n: pcaptk exited with status $rc: $(head -c 200 "$work/$b.err")" >&2
  # An empty output still needs a header line, so that the scorer sees the file.
  [ -s "$work/$b.csv" ] || echo frame > "$work/$b.csv"
  pairs+=("$work/$b.csv" "$ref")
done

# The arguments alternate: pcaptk's CSV of a capture, then tshark's reference.
awk -F, -v verbose=$verbose '
function norm(f, v) {
  gsub(/^[ \t]+|[ \t]+$/, "", v)
  if (f in isflag) return (v == "1" || v == "true" || v == "True") ? "set" : "unset"
  if (v == "") return "empty"
  return (f in isdur) ? v + 0 : int(v + 0)
}
function same(f, a, b,   d) {
  if (a == "empty" || b == "empty" || (f in isflag)) return a == b
  if (!(f in isdur)) return a + 0 == b + 0
  d = a - b
  return d <= 1.0000001e-6 && d >= -1.0000001e-6
}
function isset(f, a) {
  return (f in isflag) ? a == "set" : a != "empty" && a + 0 != 0
}
BEGIN {
  nf = split("stream retransmission fast_retransmission spurious_retransmission out_of_order " \
    "lost_segment ack_lost_segment duplicate_ack duplicate_ack_num duplicate_ack_frame " \
    "zero_window zero_window_probe zero_window_probe_ack window_full window_update keep_alive " \
    "keep_alive_ack reused_ports acks_frame ack_rtt initial_rtt bytes_in_flight push_bytes_sent " \
    "rto rto_frame time_relative time_delta", field, " ")
  for (i = 1; i <= nf; i++) {
    f = field[i]
    ours[f] = f
    theirs[f] = (f == "stream") ? "tcp.stream" : ((f ~ /^time_/) ? "tcp." f : "tcp.analysis." f)
  }
  split("retransmission fast_retransmission spurious_retransmission out_of_order lost_segment " \
    "ack_lost_segment duplicate_ack zero_window zero_window_probe zero_window_probe_ack " \
    "window_full window_update keep_alive keep_alive_ack reused_ports", fl, " ")
  for (i in fl) isflag[fl[i]] = 1
  ours["duplicate_ack"] = "dup_ack"; ours["duplicate_ack_num"] = "dup_ack_num"
  ours["duplicate_ack_frame"] = "dup_ack_frame"; ours["initial_rtt"] = "irtt"
  split("ack_rtt initial_rtt rto time_relative time_delta", d, " ")
  for (i in d) isdur[d[i]] = 1
}
{ sub(/\r$/, "") }
FNR == 1 {
  isref = FILENAME ~ /\.tshark-analysis\.csv$/
  split("", col)
  for (i = 1; i <= NF; i++) col[$i] = i
  if (!isref) {
    split("", got); split("", have)
    frcol = col["frame"]
    for (i = 1; i <= nf; i++) gotcol[field[i]] = (ours[field[i]] in col) ? col[ours[field[i]]] : 0
  } else {
    capture = FILENAME; sub(/^.*\//, "", capture); sub(/\.tshark-analysis\.csv$/, "", capture)
    shown = 0
    for (i = 1; i <= nf; i++) {
      if (!(theirs[field[i]] in col)) { print "analysis-diff: " FILENAME " has no column " theirs[field[i]] > "/dev/stderr"; bad = 1; exit }
      refcol[field[i]] = col[theirs[field[i]]]
    }
    reffr = col["frame.number"]
  }
  next
}
!isref {
  if (!frcol) next
  fr = $frcol + 0; have[fr] = 1
  for (i = 1; i <= nf; i++) { c = gotcol[field[i]]; got[fr, field[i]] = c ? $c : "" }
  next
}
{
  fr = $reffr + 0
  if (!(fr in have)) {
    if (missing++ == 0) firstmissing = capture " frame " fr
    next
  }
  rows++; rowok = 1
  for (i = 1; i <= nf; i++) {
    f = field[i]
    a = norm(f, $(refcol[f])); o = norm(f, got[fr, f])
    tot[f]++
    if (isset(f, a)) pos[f]++
    if (same(f, a, o)) ok[f]++
    else {
      rowok = 0
      if (verbose && shown++ < 8) printf "%s frame %d: %s: tshark %s, pcaptk %s\n", capture, fr, f, $(refcol[f]), got[fr, f]
    }
  }
  rowsok += rowok
}
END {
  if (bad) exit 2
  for (i = 1; i <= nf; i++) {
    f = field[i]
    if (tot[f]) printf "%-26s %8d/%-8d %7.3f%%   (tshark set it on %d)\n", f, ok[f], tot[f], 100 * ok[f] / tot[f], pos[f]
  }
  if (missing) printf "packets missing from pcaptk'"'"'s output: %d (first: %s)\n", missing, firstmissing
  printf "analysis: %d/%d packets agree with tshark in every field (%.2f%%), %d missing\n", rowsok, rows, rows ? 100 * rowsok / rows : 0, missing
}' "${pairs[@]}"
