package filter

import (
	"bytes"
	"io"
	"math"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/pcaptk/pcaptk/pkg/reader"
)

func TestParseRanges(t *testing.T) {
	const end = math.MaxUint64
	cases := []struct {
		in    string
		want  Ranges
		canon string
	}{
		{in: "1-100,200-,7", want: Ranges{{1, 100}, {200, end}}, canon: "1-100,200-"},
		{in: "7", want: Ranges{{7, 7}}, canon: "7"},
		{in: " 3 , 1 ", want: Ranges{{1, 1}, {3, 3}}, canon: "1,3"},
		{in: "5-9,1-4", want: Ranges{{1, 9}}, canon: "1-9"},
		{in: "1-3,5-7", want: Ranges{{1, 3}, {5, 7}}, canon: "1-3,5-7"},
		{in: "-50", want: Ranges{{1, 50}}, canon: "1-50"},
		{in: "10-,20-30", want: Ranges{{10, end}}, canon: "10-"},
		{in: "4-4", want: Ranges{{4, 4}}, canon: "4"},
		{in: "18446744073709551615", want: Ranges{{end, end}}, canon: "18446744073709551615"},
	}
	for _, c := range cases {
		got, err := ParseRanges(c.in)
		if err != nil {
			t.Errorf("ParseRanges(%q): %v", c.in, err)
			continue
		}
		if len(got) != len(c.want) {
			t.Errorf("ParseRanges(%q) = %v, want %v", c.in, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("ParseRanges(%q) = %v, want %v", c.in, got, c.want)
			}
		}
		if got.String() != c.canon {
			t.Errorf("ParseRanges(%q).String() = %q, want %q", c.in, got.String(), c.canon)
		}
	}
	for _, bad := range []string{"", " ", "0", "0-5", "5-3", "a", "1,,2", "1-2-3", "-", "+5", "-5-", "1.5", "18446744073709551616", "1;2"} {
		if rs, err := ParseRanges(bad); err == nil {
			t.Errorf("ParseRanges(%q) = %v, want an error", bad, rs)
		}
	}
}

func TestRangesContainsDone(t *testing.T) {
	rs, err := ParseRanges("1-100,200-,7")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		n        uint64
		in, done bool
	}{{1, true, false}, {100, true, false}, {101, false, false}, {199, false, false}, {200, true, false}, {1 << 40, true, false}} {
		if rs.Contains(c.n) != c.in || rs.Done(c.n) != c.done {
			t.Errorf("%v: Contains(%d) = %v, Done = %v; want %v, %v", rs, c.n, rs.Contains(c.n), rs.Done(c.n), c.in, c.done)
		}
	}
	rs, _ = ParseRanges("3,10-12")
	for n := uint64(1); n <= 14; n++ {
		want := n == 3 || (n >= 10 && n <= 12)
		if rs.Contains(n) != want {
			t.Errorf("%v: Contains(%d) = %v", rs, n, !want)
		}
		if rs.Done(n) != (n >= 12) {
			t.Errorf("%v: Done(%d) = %v", rs, n, rs.Done(n))
		}
	}
	if n := testing.AllocsPerRun(100, func() { rs.Contains(11) }); n != 0 {
		t.Errorf("Contains allocates %v times", n)
	}
}

// TestRangesAgainstEditcap: editcap -r keeps the same packets as Contains.
func TestRangesAgainstEditcap(t *testing.T) {
	editcap, err := exec.LookPath("editcap")
	if err != nil {
		t.Skip("editcap not installed: it is the reference (apt-get install wireshark-common)")
	}
	file := filepath.Join(corpusDir(t), "pcap", "pcpp-many-protocols.pcap")
	out := filepath.Join(t.TempDir(), "out.pcap")
	// editcap takes ranges as separate arguments.
	args := []string{"-r", "-F", "pcap", file, out, "2-5", "9", "40-44", "4400-99999999"}
	if b, err := exec.Command(editcap, args...).CombinedOutput(); err != nil {
		t.Fatalf("editcap %q: %v: %s", args, err, b)
	}
	rs, err := ParseRanges("2-5,9,40-44,4400-")
	if err != nil {
		t.Fatal(err)
	}
	var ours [][]byte
	r, err := reader.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := readCapture(r)
	r.Close()
	for _, p := range all {
		if rs.Contains(p.num) {
			ours = append(ours, p.data)
		}
	}
	theirs := readData(t, out)
	if len(ours) != len(theirs) || len(ours) < 10 {
		t.Fatalf("we keep %d packets of %d, editcap %d", len(ours), len(all), len(theirs))
	}
	for i := range ours {
		if !bytes.Equal(ours[i], theirs[i]) {
			t.Errorf("kept packet %d differs from editcap's", i+1)
		}
	}
}

func readData(t *testing.T, path string) [][]byte {
	t.Helper()
	r, err := reader.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out [][]byte
	for {
		p, err := r.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, append([]byte(nil), p.Data...))
	}
}

func TestParseTime(t *testing.T) {
	ref := time.Date(2023, 11, 14, 22, 13, 20, 0, time.UTC).UnixNano() // 1700000000
	cases := []struct {
		in   string
		want int64
	}{
		{"1700000000", ref},
		{"1700000000.5", ref + 5e8},
		{"1700000000.000000001", ref + 1},
		{"1700000000.123456789", ref + 123456789},
		{".5", 5e8},
		{"0", 0},
		{"-1.5", -15e8},
		{"2023-11-14T22:13:20Z", ref},
		{"2023-11-14T22:13:20.25Z", ref + 25e7},
		{"2023-11-14T22:13:20.123456789Z", ref + 123456789},
		{"2023-11-14T23:13:20+01:00", ref},
		{"2023-11-14T22:13:20", ref},
		{"2023-11-14 22:13:20.5", ref + 5e8},
		{"2023-11-14 22:13:20z", ref},
		{"2023-11-14t22:13:20z", ref},
		{"2023-11-14T22:13Z", ref - 20e9},
		{"2023-11-14", ref - (22*3600+13*60+20)*1e9},
		{" 1700000000 ", ref},
	}
	for _, c := range cases {
		got, err := ParseTime(c.in)
		if err != nil || got != c.want {
			t.Errorf("ParseTime(%q) = %d, %v; want %d", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "x", "1700000000.1234567890", "1.2.3", "1e9", "2023-13-01T00:00:00Z",
		"2023-11-14T22:13:20+25:00", "99999999999999999999", "2023-11-14T", "yesterday", ".", "-", "+", "1.-5"} {
		if got, err := ParseTime(bad); err == nil {
			t.Errorf("ParseTime(%q) = %d, want an error", bad, got)
		}
	}
}

func TestDedup(t *testing.T) {
	d, err := NewDedup(DefaultDedupWindow)
	if err != nil {
		t.Fatal(err)
	}
	a, b, c, e, f := []byte("a"), []byte("bb"), []byte("ccc"), []byte("dddd"), []byte("eeeee")
	seq := []struct {
		data []byte
		dup  bool
	}{
		{a, false}, {a, true}, // right after
		{b, false}, {c, false}, {a, true}, // a is 3 back... (a, a, b, c): still within the last 4
		{e, false}, {f, false}, {b, false}, // b is 5 back: out of editcap's window
		{nil, false}, {nil, true}, {[]byte{}, true},
	}
	for i, s := range seq {
		if got := d.Duplicate(s.data); got != s.dup {
			t.Errorf("packet %d (%q): Duplicate = %v, want %v", i+1, s.data, got, s.dup)
		}
	}
	if _, err := NewDedup(1); err == nil {
		t.Error("NewDedup(1) accepted")
	}
	if _, err := NewDedup(MaxDedupWindow + 1); err == nil {
		t.Error("NewDedup(MaxDedupWindow+1) accepted")
	}
	pkt := make([]byte, 1500)
	d.Duplicate(pkt)
	if n := testing.AllocsPerRun(1000, func() { pkt[0]++; d.Duplicate(pkt) }); n != 0 {
		t.Errorf("Duplicate allocates %v times a packet", n)
	}
}

// TestDedupAgainstEditcap: on every corpus capture, and on one made of
// duplicates at every distance, Dedup drops exactly what editcap -d (and -D N)
// drops.
func TestDedupAgainstEditcap(t *testing.T) {
	editcap, err := exec.LookPath("editcap")
	if err != nil {
		t.Skip("editcap not installed: it is the reference (apt-get install wireshark-common)")
	}
	dir := corpusDir(t)
	tmp := t.TempDir()
	// A capture whose packets repeat at distances 1 to 7.
	var pkts []testPacket
	for i := 0; i < 60; i++ {
		v := byte(i % 7)
		if i%3 == 0 {
			v = byte(i % 5)
		}
		pkts = append(pkts, testPacket{ts: int64(i) * 1e9, wireLen: 60, data: bytes.Repeat([]byte{v}, 60)})
	}
	made := filepath.Join(tmp, "dups.pcap")
	if err := writePcap(made, 1, 65535, pkts); err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(dir, "pcap", "*"))
	files = append(files, made)
	dropped := 0
	for _, file := range files {
		for _, window := range []int{DefaultDedupWindow, 2, 8} {
			out := filepath.Join(tmp, "out")
			args := []string{"-D", strconv.Itoa(window), "-F", "pcapng", file, out}
			if window == DefaultDedupWindow {
				args = []string{"-d", "-F", "pcapng", file, out}
			}
			if b, err := exec.Command(editcap, args...).CombinedOutput(); err != nil {
				// editcap refuses some damaged files that pkg/reader reads
				// (or reads differently); those say nothing about Dedup.
				t.Logf("skipped: editcap %q: %v: %s", args, err, bytes.TrimSpace(b))
				continue
			}
			theirs := readData(t, out)
			r, err := reader.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			all, _ := readCapture(r)
			r.Close()
			d, _ := NewDedup(window)
			var ours [][]byte
			for _, p := range all {
				if !d.Duplicate(p.data) {
					ours = append(ours, p.data)
				}
			}
			dropped += len(all) - len(ours)
			if len(ours) != len(theirs) {
				t.Errorf("%s window %d: we keep %d of %d, editcap %d", filepath.Base(file), window, len(ours), len(all), len(theirs))
				continue
			}
			for i := range ours {
				if !bytes.Equal(ours[i], theirs[i]) {
					t.Errorf("%s window %d: kept packet %d differs", filepath.Base(file), window, i+1)
					break
				}
			}
		}
	}
	if dropped == 0 {
		t.Error("no duplicate dropped anywhere: the test proves nothing")
	}
	t.Logf("%d duplicates dropped in all", dropped)
}

// TestSelectionAnalysisSeesEveryPacket: Analysis is asked about every packet in
// order, also those the ranges, the time window and the filter drop, until no
// later packet can be selected; a packet is kept only when it says so too.
func TestSelectionAnalysisSeesEveryPacket(t *testing.T) {
	ranges, err := ParseRanges("3-8")
	if err != nil {
		t.Fatal(err)
	}
	match, err := Compile("")
	if err != nil {
		t.Fatal(err)
	}
	var seen []uint64
	s := All
	s.Match = match
	s.Ranges = ranges
	s.Before = 7 // ns: packets 7 and later are outside the window
	s.Analysis = func(p *reader.Packet) bool {
		seen = append(seen, p.Number)
		return p.Number%2 == 0
	}
	var kept []uint64
	for n := uint64(1); n <= 12; n++ {
		p := &reader.Packet{Number: n, Timestamp: int64(n), Data: []byte{1, 2, 3}, CapLen: 3, WireLen: 3}
		keep, done, err := s.Keep(p)
		if err != nil {
			t.Fatal(err)
		}
		if keep {
			kept = append(kept, n)
		}
		if done {
			break
		}
	}
	if want := []uint64{1, 2, 3, 4, 5, 6, 7, 8}; !slices.Equal(seen, want) {
		t.Errorf("Analysis saw packets %v, want %v", seen, want)
	}
	if want := []uint64{4, 6}; !slices.Equal(kept, want) {
		t.Errorf("kept %v, want %v", kept, want)
	}
}
