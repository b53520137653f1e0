#!/bin/bash
# Scores `pcaptk read` against tcpdump 4.99.3's lines in the corpus references,
# line by line: `read -nn -r F tcp` against testdata/corpus/expected/F.tcpdump-nn.txt
# and `read -nn -S -r F tcp` against F.tcpdump-nnS.txt.
#
#   scripts/corpus-diff.sh [PCAPTK] [-v]
#
# PCAPTK defaults to ./pcaptk (scripts/setup.sh builds it). Prints a line for each
# capture and mode whose output differs (-v: and the first differing lines), then
# per mode and for both together: reference lines identical up to and including
# "length N" (the TCP header; tcpdump may go on with an application decoder's
# text), and whole lines identical. PCAPTK_CORPUS names another corpus laid out
# alike. The last line gives the figures README.md and docs/read.md quote.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin=./pcaptk verbose=0
for a in "$@"; do
  case $a in
    -v) verbose=1 ;;
    -*) echo "usage: $0 [PCAPTK] [-v]" >&2; exit 2 ;;
    *) bin=$a ;;
  esac
done
[ -x "$bin" ] || { echo "corpus-diff: no executable pcaptk at $bin (build it: go build -o pcaptk ./cmd/pcaptk)" >&2; exit 2; }
bin=$(realpath "$bin")
corpus=${PCAPTK_CORPUS:-$root/testdata/corpus}
export TZ=UTC LC_ALL=C
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# summary LABEL UPTO WHOLE TOTAL
summary() {
  awk -v l="$1" -v p=$2 -v w=$3 -v t=$4 'BEGIN {
    printf "%s: identical up to length %d/%d (%.2f%%), whole lines %d/%d (%.2f%%)\n", l, p, t, 100 * p / t, w, t, 100 * w / t }'
}

n=$(ls "$corpus/pcap" | wc -l)
all_total=0 all_upto=0 all_whole=0 extra=0
cd "$corpus/pcap"
for mode in nn nnS; do
  flags=(-nn); [ $mode = nn ] || flags=(-nn -S)
  total=0 upto=0 whole=0
  for f in *; do
    ref=$corpus/expected/$f.tcpdump-$mode.txt
    [ -f "$ref" ] || { echo "corpus-diff: reference missing: $ref" >&2; exit 1; }
    # As tcpdump was run: inside pcap/, on the bare name. The exit status is not
    # scored (tcpdump itself exits 1 on two of these files).
    timeout 20 "$bin" read "${flags[@]}" -r "$f" tcp > "$work/got" 2>/dev/null || true
    # reference lines; identical up to "length N"; identical whole; lines pcaptk
    # printed beyond the reference's
    read -r r p w x < <(awk -v got="$work/got" '
      function head(s) { return match(s, /, length [0-9]+/) ? substr(s, 1, RSTART + RLENGTH - 1) : s }
      {
        refs++
        if ((getline g < got) <= 0) next
        if (g == $0) whole++
        if (head(g) == head($0)) upto++
      }
      END {
        while ((getline g < got) > 0) more++
        print refs + 0, upto + 0, whole + 0, more + 0
      }' "$ref")
    total=$((total + r)) upto=$((upto + p)) whole=$((whole + w)) extra=$((extra + x))
    if [ "$w" -lt "$r" ] || [ "$x" -gt 0 ]; then
      more=""; [ "$x" = 0 ] || more=", $x lines beyond the reference"
      echo "differs: read ${flags[*]} $f (to length $p/$r, whole $w/$r$more)"
      if [ $verbose = 1 ]; then
        diff "$ref" "$work/got" | head -6 || true
      fi
    fi
  done
  summary "read ${flags[*]}" $upto $whole $total
  all_total=$((all_total + total)) all_upto=$((all_upto + upto)) all_whole=$((all_whole + whole))
done
[ $extra = 0 ] || echo "lines printed beyond the references: $extra"
summary "corpus ($n captures, both modes)" $all_upto $all_whole $all_total
