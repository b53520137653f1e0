package analysis

import (
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/pcaptk/pcaptk/internal/testcorpus"
	"github.com/pcaptk/pcaptk/pkg/decode"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// The fidelity tests compare every analysis field of every TCP packet with
// tshark 4.0's, as ../shared/tools/analysis-diff.sh does: durations agree within
// 1 µs, everything else exactly. -v prints per-field agreement and the first
// differing packets of each capture.

var (
	updateAnalysis = flag.Bool("update-analysis", false, "regenerate testdata/analysis/expected with the installed tshark")
	showDiffs      = flag.Int("show-diffs", 5, "with -v, how many differing packets to print per capture")
)

// tsharkFields are the reference CSV's columns after frame.number and
// tcp.stream, as corpus-tcp's README gives them.
var tsharkFields = []string{
	"tcp.analysis.retransmission", "tcp.analysis.fast_retransmission",
	"tcp.analysis.spurious_retransmission", "tcp.analysis.out_of_order",
	"tcp.analysis.lost_segment", "tcp.analysis.ack_lost_segment",
	"tcp.analysis.duplicate_ack", "tcp.analysis.duplicate_ack_num",
	"tcp.analysis.duplicate_ack_frame", "tcp.analysis.zero_window",
	"tcp.analysis.zero_window_probe", "tcp.analysis.zero_window_probe_ack",
	"tcp.analysis.window_full", "tcp.analysis.window_update", "tcp.analysis.keep_alive",
	"tcp.analysis.keep_alive_ack", "tcp.analysis.reused_ports", "tcp.analysis.acks_frame",
	"tcp.analysis.ack_rtt", "tcp.analysis.initial_rtt", "tcp.analysis.bytes_in_flight",
	"tcp.analysis.push_bytes_sent", "tcp.analysis.rto", "tcp.analysis.rto_frame",
	"tcp.time_relative", "tcp.time_delta",
}

// field is one compared column: its tshark name, how to read it from a Result
// (nil when absent) and whether it is a duration.
type field struct {
	name     string
	flag     Flags
	duration bool
	get      func(r *Result, stream uint64) *float64
}

func some(v float64) *float64 { return &v }

var fields = func() []field {
	fs := []field{{name: "tcp.stream", get: func(r *Result, s uint64) *float64 {
		if s == noStream {
			return nil
		}
		return some(float64(s))
	}}}
	for i := range NumFlags {
		f := Flags(1) << i
		name := "tcp.analysis." + flagNames[i]
		if f == DupAck {
			name = "tcp.analysis.duplicate_ack"
		}
		fs = append(fs, field{name: name, flag: f})
	}
	opt := func(name string, p Present, dur bool, v func(r *Result) float64) field {
		return field{name: name, duration: dur, get: func(r *Result, _ uint64) *float64 {
			if r.Present&p == 0 {
				return nil
			}
			return some(v(r))
		}}
	}
	ns := func(v int64) float64 { return float64(v) / 1e9 }
	return append(fs,
		opt("tcp.analysis.duplicate_ack_num", HasDupAck, false, func(r *Result) float64 { return float64(r.DupAckNum) }),
		opt("tcp.analysis.duplicate_ack_frame", HasDupAck, false, func(r *Result) float64 { return float64(r.DupAckFrame) }),
		opt("tcp.analysis.acks_frame", HasAcksFrame, false, func(r *Result) float64 { return float64(r.AcksFrame) }),
		opt("tcp.analysis.ack_rtt", HasAckRTT, true, func(r *Result) float64 { return ns(r.AckRTT) }),
		opt("tcp.analysis.initial_rtt", HasIRTT, true, func(r *Result) float64 { return ns(r.IRTT) }),
		opt("tcp.analysis.bytes_in_flight", HasBytesInFlight, false, func(r *Result) float64 { return float64(r.BytesInFlight) }),
		opt("tcp.analysis.push_bytes_sent", HasBytesInFlight, false, func(r *Result) float64 { return float64(r.PushBytesSent) }),
		opt("tcp.analysis.rto", HasRTO, true, func(r *Result) float64 { return ns(r.RTO) }),
		opt("tcp.analysis.rto_frame", HasRTO, false, func(r *Result) float64 { return float64(r.RTOFrame) }),
		opt("tcp.time_relative", HasTime, true, func(r *Result) float64 { return ns(r.TimeRelative) }),
		opt("tcp.time_delta", HasTime, true, func(r *Result) float64 { return ns(r.TimeDelta) }),
	)
}()

// got is pcaptk's analysis of one packet.
type got struct {
	stream uint64
	r      Result
}

// noStream marks a packet the ConnTracker did not track (no complete TCP
// header): its columns are null.
const noStream = ^uint64(0)

// analyse runs reader → decode → ConnTracker → Analyzer over a capture, as the
// export pipeline will, keyed by frame number.
func analyse(path string) (map[uint64]got, error) {
	rd, err := reader.Open(path)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	ct := decode.NewConnTracker(decode.DefaultConnOptions)
	a := New(Options{})
	ct.OnForget(func(slot int32, _ uint64, _ decode.ForgetReason) { a.Forget(slot) })
	out, untracked := map[uint64]got{}, map[uint64]got{}
	var rec decode.Record
	for {
		p, err := rd.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			break // a capture cut short: the frames before it count
		}
		decode.Decode(p.LinkType, p.Data, p.WireLen, &rec)
		c, ok := ct.Track(&rec, p.Timestamp)
		if !ok {
			if rec.HasTCP {
				// An export row with null analysis columns.
				untracked[p.Number] = got{stream: noStream}
			}
			continue
		}
		var r Result
		a.Packet(p.Number, p.Timestamp, &rec, &c, &r)
		out[p.Number] = got{c.Stream, r}
	}
	for n, g := range untracked {
		if _, ok := out[n]; !ok {
			out[n] = g
		}
	}
	ct.Close()
	return out, nil
}

// tally counts agreement over a set of captures.
type tally struct {
	fieldOK, fieldAll    []int
	tsharkSet, ourSet    []int // flags and values: packets where each side has it
	bothSet              []int
	rows, rowsOK, absent int
	absentFirst          string
}

func newTally() *tally {
	n := len(fields)
	return &tally{fieldOK: make([]int, n), fieldAll: make([]int, n), tsharkSet: make([]int, n), ourSet: make([]int, n), bothSet: make([]int, n)}
}

func (t *tally) add(o *tally) {
	for i := range fields {
		t.fieldOK[i] += o.fieldOK[i]
		t.fieldAll[i] += o.fieldAll[i]
		t.tsharkSet[i] += o.tsharkSet[i]
		t.ourSet[i] += o.ourSet[i]
		t.bothSet[i] += o.bothSet[i]
	}
	t.rows += o.rows
	t.rowsOK += o.rowsOK
	if t.absent == 0 {
		t.absentFirst = o.absentFirst
	}
	t.absent += o.absent
}

func parseRef(v string, f *field) (*float64, error) {
	v = strings.TrimSpace(v)
	if f.get == nil { // a flag
		if v == "1" || v == "True" || v == "true" {
			return some(1), nil
		}
		return nil, nil
	}
	if v == "" {
		return nil, nil
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return nil, fmt.Errorf("field %s: %q: %w", f.name, v, err)
	}
	return &x, nil
}

func same(f *field, a, b *float64) bool {
	switch {
	case a == nil || b == nil:
		return a == nil && b == nil
	case f.duration:
		return math.Abs(*a-*b) <= 1.0000001e-6
	}
	return *a == *b
}

func show(v *float64) string {
	if v == nil {
		return "-"
	}
	return strconv.FormatFloat(*v, 'f', -1, 64)
}

// compareCapture compares one capture with its reference CSV, logging up to
// maxShown differing packets.
func compareCapture(t *testing.T, pcapPath, refPath string, maxShown int) *tally {
	t.Helper()
	ours, err := analyse(pcapPath)
	if err != nil {
		t.Fatalf("%s: %v", pcapPath, err)
	}
	fh, err := os.Open(refPath)
	if err != nil {
		t.Fatalf("reference: %v", err)
	}
	defer fh.Close()
	cr := csv.NewReader(fh)
	cr.FieldsPerRecord = -1
	rows, err := cr.ReadAll()
	if err != nil || len(rows) == 0 {
		t.Fatalf("%s: %v", refPath, err)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, f := range fields {
		if _, ok := col[f.name]; !ok {
			t.Fatalf("%s: no column %s", refPath, f.name)
		}
	}
	ty := newTally()
	shown := 0
	name := filepath.Base(pcapPath)
	for _, row := range rows[1:] {
		frame, err := strconv.ParseUint(row[0], 10, 64)
		if err != nil {
			t.Fatalf("%s: frame %q", refPath, row[0])
		}
		g, ok := ours[frame]
		if !ok {
			if ty.absent == 0 {
				ty.absentFirst = fmt.Sprintf("%s frame %d", name, frame)
			}
			ty.absent++
			if shown < maxShown {
				t.Logf("%s frame %d: a TCP row for tshark, none for pcaptk", name, frame)
				shown++
			}
			continue
		}
		ty.rows++
		rowOK := true
		var diffs []string
		for i := range fields {
			f := &fields[i]
			want, err := parseRef(row[col[f.name]], f)
			if err != nil {
				t.Fatalf("%s frame %d: %v", refPath, frame, err)
			}
			var have *float64
			if f.get == nil {
				if g.r.Flags&f.flag != 0 {
					have = some(1)
				}
			} else {
				have = f.get(&g.r, g.stream)
			}
			ty.fieldAll[i]++
			if want != nil {
				ty.tsharkSet[i]++
			}
			if have != nil {
				ty.ourSet[i]++
			}
			if want != nil && have != nil {
				ty.bothSet[i]++
			}
			if same(f, want, have) {
				ty.fieldOK[i]++
			} else {
				rowOK = false
				diffs = append(diffs, fmt.Sprintf("%s: tshark %s pcaptk %s", strings.TrimPrefix(f.name, "tcp."), show(want), show(have)))
			}
		}
		if rowOK {
			ty.rowsOK++
		} else if shown < maxShown {
			t.Logf("%s frame %d: %s", name, frame, strings.Join(diffs, "; "))
			shown++
		}
	}
	return ty
}

// report logs per-field agreement and checks the targets: ≥ 99.9% of packets
// equal in every field, and for every flag tshark set more than 10 times, ≥
// 99.5% agreement over the packets where either side set it.
func (ty *tally) report(t *testing.T, what string) {
	t.Helper()
	if testing.Verbose() {
		for i, f := range fields {
			t.Logf("%-40s %8d/%-8d %8.3f%%  (tshark %d, pcaptk %d, both %d)", f.name, ty.fieldOK[i], ty.fieldAll[i],
				100*float64(ty.fieldOK[i])/float64(max(ty.fieldAll[i], 1)), ty.tsharkSet[i], ty.ourSet[i], ty.bothSet[i])
		}
	}
	pct := 100 * float64(ty.rowsOK) / float64(max(ty.rows, 1))
	t.Logf("%s: %d/%d packets agree with tshark in every field (%.3f%%); %d tshark rows without a pcaptk row (first: %s)",
		what, ty.rowsOK, ty.rows, pct, ty.absent, ty.absentFirst)
	if ty.rows == 0 {
		t.Fatalf("%s: nothing compared", what)
	}
	if pct < 99.9 {
		t.Errorf("%s: %.3f%% of packets agree in every field, want ≥ 99.9%%", what, pct)
	}
	for i, f := range fields {
		if f.get != nil || ty.tsharkSet[i] <= 10 {
			continue
		}
		either := ty.tsharkSet[i] + ty.ourSet[i] - ty.bothSet[i]
		if own := 100 * float64(ty.bothSet[i]) / float64(either); own < 99.5 {
			t.Errorf("%s: %s agrees on %.2f%% of the packets where either side set it (tshark %d, pcaptk %d, both %d), want ≥ 99.5%%",
				what, f.name, own, ty.tsharkSet[i], ty.ourSet[i], ty.bothSet[i])
		}
	}
}

// compareSet compares every capture of a corpus directory (pcap/, with the
// references in refDir) and checks the targets over all of them.
func compareSet(t *testing.T, what, pcapDir, refDir string) {
	names, _ := filepath.Glob(filepath.Join(pcapDir, "*.pcap*"))
	sort.Strings(names)
	if len(names) == 0 {
		t.Skipf("no captures in %s", pcapDir)
	}
	total := newTally()
	for _, p := range names {
		base := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
		ref := filepath.Join(refDir, base+".tshark-analysis.csv")
		if _, err := os.Stat(ref); err != nil {
			t.Errorf("%s: no reference %s", p, ref)
			continue
		}
		shown := 0
		if testing.Verbose() {
			shown = *showDiffs
		}
		total.add(compareCapture(t, p, ref, shown))
	}
	total.report(t, what)
}

// TestFidelityTCPCorpus: the 86 captures of ../shared/corpus-tcp.
func TestFidelityTCPCorpus(t *testing.T) {
	d := testcorpus.TCPDir(t)
	compareSet(t, "corpus-tcp", filepath.Join(d, "pcap"), filepath.Join(d, "expected"))
}

// TestFidelityCorpus: the general corpus. Its tshark references are
// testdata/corpus/expected/*.tshark-analysis.csv at the repository root once
// committed; until then they are made with the installed tshark 4.0, as
// corpus-tcp's README says, into a temporary directory.
func TestFidelityCorpus(t *testing.T) {
	d := testcorpus.Dir(t)
	refDir := filepath.Join("..", "..", "testdata", "corpus", "expected")
	if m, _ := filepath.Glob(filepath.Join(refDir, "*.tshark-analysis.csv")); len(m) == 0 {
		refDir = t.TempDir()
		names, _ := filepath.Glob(filepath.Join(d, "pcap", "*.pcap*"))
		tsharkReferences(t, names, refDir)
	}
	compareSet(t, "corpus", filepath.Join(d, "pcap"), refDir)
}

// TestFidelityRecorded: captures recorded for this package with
// make-tcp-problems.sh and crafted ones, with their tshark references in
// testdata/analysis (-update-analysis remakes those).
func TestFidelityRecorded(t *testing.T) {
	if *updateAnalysis {
		dir := filepath.Join("..", "..", "testdata", "analysis", "pcap")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, sc := range scenarios {
			if err := sc.writePcap(filepath.Join(dir, "crafted-"+sc.name+".pcap")); err != nil {
				t.Fatal(err)
			}
		}
		names, _ := filepath.Glob(filepath.Join(dir, "*.pcap*"))
		tsharkReferences(t, names, filepath.Join("..", "..", "testdata", "analysis", "expected"))
	}
	compareSet(t, "recorded", filepath.Join("..", "..", "testdata", "analysis", "pcap"), filepath.Join("..", "..", "testdata", "analysis", "expected"))
}

// tsharkReferences writes tshark's analysis fields for each capture of pcaps
// into outDir (NAME.tshark-analysis.csv), with the command of corpus-tcp's
// README (default preferences, TZ=UTC), as many at once as there are CPUs. It
// skips the test unless tshark 4.0 is installed.
func tsharkReferences(t *testing.T, pcaps []string, outDir string) {
	t.Helper()
	v, err := exec.Command("tshark", "-v").Output()
	if err != nil || !strings.Contains(string(v), "TShark (Wireshark) 4.0.") {
		t.Skip("tshark 4.0 is not installed: the references cannot be made")
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := t.TempDir()
	args := []string{"-o", "tcp.calculate_timestamps:TRUE", "-Y", "tcp", "-T", "fields",
		"-E", "header=y", "-E", "separator=,", "-E", "quote=n", "-E", "occurrence=f",
		"-e", "frame.number", "-e", "tcp.stream"}
	for _, f := range tsharkFields {
		args = append(args, "-e", f)
	}
	errs := make([]error, len(pcaps))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.NumCPU())
	for i, p := range pcaps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			cmd := exec.Command("tshark", append([]string{"-r", p}, args...)...)
			cmd.Env = append(os.Environ(), "TZ=UTC", "LC_ALL=C", "HOME="+cfg, "XDG_CONFIG_HOME="+cfg, "WIRESHARK_CONFIG_DIR="+cfg)
			b, err := cmd.Output()
			if err != nil {
				errs[i] = fmt.Errorf("tshark %s: %w", p, err)
				return
			}
			base := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
			errs[i] = os.WriteFile(filepath.Join(outDir, base+".tshark-analysis.csv"), b, 0o644)
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
}
