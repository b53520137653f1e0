package analysis

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/pcaptk/pcaptk/internal/analysisref"
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

// ourRow is pcaptk's analysis of one packet in stream as analysisref compares
// it (stream noStream: not tracked, every value null).
func ourRow(stream uint64, r *Result) analysisref.Row {
	row := make(analysisref.Row, len(analysisref.Fields))
	if stream == noStream {
		return row
	}
	opt := func(p Present, v float64) analysisref.Value {
		return analysisref.Value{V: v, OK: r.Present&p != 0}
	}
	ns := func(v int64) float64 { return float64(v) / 1e9 }
	for i, f := range analysisref.Fields {
		if f.Flag {
			fl, ok := ParseFlag(f.Column)
			if !ok {
				panic("no flag " + f.Column)
			}
			row[i] = analysisref.Value{V: 1, OK: r.Flags&fl != 0}
			continue
		}
		switch f.Column {
		case "stream":
			row[i] = analysisref.Some(float64(stream))
		case "dup_ack_num":
			row[i] = opt(HasDupAck, float64(r.DupAckNum))
		case "dup_ack_frame":
			row[i] = opt(HasDupAck, float64(r.DupAckFrame))
		case "acks_frame":
			row[i] = opt(HasAcksFrame, float64(r.AcksFrame))
		case "ack_rtt":
			row[i] = opt(HasAckRTT, ns(r.AckRTT))
		case "irtt":
			row[i] = opt(HasIRTT, ns(r.IRTT))
		case "bytes_in_flight":
			row[i] = opt(HasBytesInFlight, float64(r.BytesInFlight))
		case "push_bytes_sent":
			row[i] = opt(HasBytesInFlight, float64(r.PushBytesSent))
		case "rto":
			row[i] = opt(HasRTO, ns(r.RTO))
		case "rto_frame":
			row[i] = opt(HasRTO, float64(r.RTOFrame))
		case "time_relative":
			row[i] = opt(HasTime, ns(r.TimeRelative))
		case "time_delta":
			row[i] = opt(HasTime, ns(r.TimeDelta))
		default:
			panic("no value for " + f.Column)
		}
	}
	return row
}

// noStream marks a packet the ConnTracker did not track (no complete TCP
// header): its columns are null.
const noStream = ^uint64(0)

// analyse runs reader → decode → ConnTracker → Analyzer over a capture, as the
// export pipeline will, keyed by frame number.
func analyse(path string) (map[uint64]analysisref.Row, error) {
	rd, err := reader.Open(path)
	if err != nil {
		return nil, err
	}
	defer rd.Close()
	ct := decode.NewConnTracker(decode.DefaultConnOptions)
	a := New(Options{})
	ct.OnForget(func(slot int32, _ uint64, _ decode.ForgetReason) { a.Forget(slot) })
	out, untracked := map[uint64]analysisref.Row{}, map[uint64]analysisref.Row{}
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
				untracked[p.Number] = ourRow(noStream, nil)
			}
			continue
		}
		var r Result
		a.Packet(p.Number, p.Timestamp, &rec, &c, &r)
		out[p.Number] = ourRow(c.Stream, &r)
	}
	for n, g := range untracked {
		if _, ok := out[n]; !ok {
			out[n] = g
		}
	}
	ct.Close()
	return out, nil
}

// compareSet compares every capture of a corpus directory (pcap/, with the
// references in refDir) and checks the targets over all of them.
func compareSet(t *testing.T, what, pcapDir, refDir string) {
	names, _ := filepath.Glob(filepath.Join(pcapDir, "*.pcap*"))
	sort.Strings(names)
	if len(names) == 0 {
		t.Skipf("no captures in %s", pcapDir)
	}
	shown := 0
	if testing.Verbose() {
		shown = *showDiffs
	}
	total := analysisref.NewTally(shown, t.Logf)
	for _, p := range names {
		base := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
		ref := filepath.Join(refDir, base+".tshark-analysis.csv")
		if _, err := os.Stat(ref); err != nil {
			t.Errorf("%s: no reference %s", p, ref)
			continue
		}
		refs, err := analysisref.ReadRef(ref)
		if err != nil {
			t.Fatal(err)
		}
		ours, err := analyse(p)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		total.Compare(filepath.Base(p), refs, ours)
	}
	total.Report(t, what)
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
		"-e", "frame.number"}
	for _, f := range analysisref.Fields {
		args = append(args, "-e", f.Tshark)
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
