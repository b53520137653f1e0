#!/bin/bash
# Clones the commit checked out here into an empty temporary directory (nothing
# beside it, PCAPTK_CORPUS and PCAPTK_CORPUS_TCP unset) and runs the golden tests
# there: each must PASS (go test -v's "--- PASS" line, read from -json) and none
# may SKIP. This is what a contributor who clones the repository alone gets; it
# proves the repository carries the captures and references its tests need. CI
# runs it after scripts/test.sh (.ci/run).
#
# Golden tests are the ones that compare with stored references: by convention
# their names contain Golden, Corpus or Corpora; `extra` lists the others.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin TZ=UTC LC_ALL=C
unset PCAPTK_CORPUS PCAPTK_CORPUS_TCP
extra="TestInfoMatchesCapinfos TestReadMixedLinkTypes TestFidelityRecorded TestFidelityTCPCorpus TestConnZeek TestConnTcptrace TestConnTsharkConv TestScenarios"

head=$(git rev-parse HEAD)
[ -z "$(git status --porcelain)" ] || echo "test-clone: uncommitted changes are not in the clone; testing commit $head"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
git clone -q "$PWD" "$tmp/pcaptk"
cd "$tmp/pcaptk"
git cat-file -e "$head^{commit}" 2>/dev/null || git fetch -q origin "$head"
git checkout -q --detach "$head"
ls "$tmp" | grep -qvx pcaptk && { echo "test-clone: $tmp is not empty besides the clone" >&2; exit 1; }

# name<TAB>package directory, for every golden test of the clone.
found=$(git grep -oE '^func Test[A-Za-z0-9_]+\(t \*testing\.T\)' -- '*_test.go' |
  sed -E 's/^(.*)\/[^/]*_test\.go:func (Test[A-Za-z0-9_]+).*/\2\t\1/; s/^[^/]*_test\.go:func (Test[A-Za-z0-9_]+).*/\1\t./')
golden=$(echo "$found" | awk -F'\t' -v extra=" $extra " '$1 ~ /Golden|Corpus|Corpora/ || index(extra, " " $1 " ")')
names=$(echo "$golden" | cut -f1 | sort -u)
pkgs=$(echo "$golden" | cut -f2 | sort -u | sed 's|^|./|; s|^\./\.$|.|')
n=$(echo "$names" | wc -l)
for x in $extra; do
  echo "$names" | grep -qx "$x" || { echo "test-clone: $x, listed as golden, is not a test any more" >&2; exit 1; }
done
if [ "$n" -lt 10 ]; then
  echo "test-clone: only $n golden tests found; the naming convention is not being followed:" $names >&2
  exit 1
fi
echo "test-clone: commit ${head:0:12} cloned into $tmp; $n golden tests in" $pkgs
echo " " $names

# -json carries go test -v's lines (in "Output") along with the verdicts;
# testreport prints go test's usual output from it.
go build -o "$tmp/testreport" ./internal/testreport
log=$tmp/golden.json
rc=0
go test -json -count=1 -timeout 15m -run "^($(echo $names | tr ' ' '|'))\$" $pkgs 2>&1 |
  tee "$log" | "$tmp/testreport" -skips "$tmp/skips" || rc=$?
bad=0
for t in $names; do
  grep -qF "\"Output\":\"--- PASS: $t (" "$log" || { echo "test-clone: $t did not pass"; bad=1; }
done
if [ -s "$tmp/skips" ]; then
  echo "test-clone: skipped in the clone:"; sed 's/^/  /' "$tmp/skips"; bad=1
fi
if [ $rc != 0 ] || [ $bad != 0 ]; then
  echo "test-clone: FAILED"
  exit 1
fi
echo "test-clone: all $n golden tests PASS in a fresh clone, none skipped"
