package testcorpus

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// manifest returns the rows of a corpus's MANIFEST.tsv keyed by file name, each
// row a map from column name to value.
func manifest(t *testing.T, dir string) map[string]map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows := map[string]map[string]string{}
	var head []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if head == nil {
			head = fields
			continue
		}
		if len(fields) > len(head) {
			t.Fatalf("MANIFEST.tsv: row %q has more columns than the header", sc.Text())
		}
		row := map[string]string{}
		for i, v := range fields {
			row[head[i]] = v
		}
		rows[fields[0]] = row
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// countLines is the number of lines of a file.
func countLines(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte("\n"))
}

// TestCorporaComplete: every capture is in its manifest and the other way round,
// every capture has each reference the tests read, and the references hold as
// many lines as the manifest counted, so a reference lost or cut in a commit shows
// here by name rather than as a shorter golden comparison.
func TestCorporaComplete(t *testing.T) {
	for _, c := range []struct {
		name string
		dir  func(testing.TB) string
		// refs are the reference files every capture F (B without extension) has.
		refs []string
		// optional names a manifest column: the reference exists when it is not "-".
		optional, optionalRef string
		// counts: a reference holds as many lines (after its header row) as the
		// manifest column says.
		counts []struct{ column, ref string }
	}{
		{"corpus", Dir, []string{"F.tcpdump-nn.txt", "F.tcpdump-nnS.txt", "F.tshark.csv", "F.capinfos.txt",
			"B.tshark-analysis.csv"}, "", "", []struct{ column, ref string }{
			{"tcpdump_tcp_lines", "F.tcpdump-nn.txt"}, {"tcpdump_tcp_lines", "F.tcpdump-nnS.txt"},
			{"tcp_packets_tshark", "F.tshark.csv"}, {"tcp_packets_tshark", "B.tshark-analysis.csv"}}},
		{"corpus-tcp", TCPDir, []string{"B.tshark-analysis.csv", "B.tshark-conv.txt", "B.tcptrace.csv"},
			"zeek_baseline", "B.zeek-conn.log", []struct{ column, ref string }{{"tcp_packets", "B.tshark-analysis.csv"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := c.dir(t)
			rows := manifest(t, dir)
			caps, err := filepath.Glob(filepath.Join(dir, "pcap", "*"))
			if err != nil || len(caps) == 0 {
				t.Fatalf("no captures in %s/pcap", dir)
			}
			if len(caps) != len(rows) {
				t.Errorf("%d captures, %d manifest rows", len(caps), len(rows))
			}
			for _, p := range caps {
				f := filepath.Base(p)
				row, ok := rows[f]
				if !ok {
					t.Errorf("%s is not in MANIFEST.tsv", f)
				}
				b := strings.TrimSuffix(f, filepath.Ext(f))
				want := c.refs
				if c.optional != "" && row[c.optional] != "" && row[c.optional] != "-" {
					want = append(want[:len(want):len(want)], c.optionalRef)
				}
				refName := func(r string) string {
					return strings.Replace(strings.Replace(r, "F.", f+".", 1), "B.", b+".", 1)
				}
				for _, r := range want {
					name := refName(r)
					if st, err := os.Stat(filepath.Join(dir, "expected", name)); err != nil {
						t.Errorf("reference missing: %v", err)
					} else if st.Size() == 0 && !strings.HasPrefix(r, "F.tcpdump") {
						// tcpdump prints nothing for a capture without TCP;
						// the others always write a header or a summary.
						t.Errorf("%s is empty", name)
					}
				}
				for _, cnt := range c.counts {
					path := filepath.Join(dir, "expected", refName(cnt.ref))
					got := countLines(t, path)
					if strings.HasSuffix(path, ".csv") {
						got-- // the header row
					}
					if want := row[cnt.column]; strconv.Itoa(got) != want {
						t.Errorf("%s: %d lines, MANIFEST.tsv %s says %s", refName(cnt.ref), got, cnt.column, want)
					}
				}
			}
		})
	}
}

// fakeTB records a failure instead of ending the test, so that the failing
// paths can be checked.
type fakeTB struct {
	testing.TB
	failed string
}

func (f *fakeTB) Helper() {}

// Skip and Skipf are recorded too, so that a skip cannot pass for a failure.
func (f *fakeTB) Skip(args ...any)                 { f.Fatalf("skipped: %s", fmt.Sprint(args...)) }
func (f *fakeTB) Skipf(format string, args ...any) { f.Fatalf("skipped: "+format, args...) }
func (f *fakeTB) Fatalf(format string, args ...any) {
	if f.failed == "" {
		f.failed = fmt.Sprintf(format, args...)
	}
}

// TestMissingFails: a corpus, capture or reference that is not there fails the
// test (never skips it), with a message naming what is missing.
func TestMissingFails(t *testing.T) {
	empty := t.TempDir()
	for _, c := range []struct {
		name, env, want string
		call            func(testing.TB)
	}{
		{"corpus", "PCAPTK_CORPUS", "has no pcap/", func(tb testing.TB) { Dir(tb) }},
		{"tcp corpus", "PCAPTK_CORPUS_TCP", "has no pcap/", func(tb testing.TB) { TCPDir(tb) }},
		{"capture", "", "no-such.pcap is missing", func(tb testing.TB) { Pcap(tb, "no-such.pcap") }},
		{"reference", "", "no-such.pcap.tshark.csv is missing", func(tb testing.TB) { Expected(tb, "no-such.pcap.tshark.csv") }},
	} {
		t.Run(c.name, func(t *testing.T) {
			if c.env != "" {
				t.Setenv(c.env, empty)
			}
			f := &fakeTB{TB: t}
			c.call(f)
			if !strings.Contains(f.failed, c.want) {
				t.Fatalf("failure %q, want one containing %q", f.failed, c.want)
			}
		})
	}
}
