package analysis

import (
	"encoding/csv"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/pcaptk/pcaptk/internal/testcorpus"
	"github.com/pcaptk/pcaptk/pkg/decode"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// engineRun is a capture run through the Engine as pcaptk conns runs it: the
// rows by stream, and for each frame with a TCP row its stream and source.
type engineRun struct {
	rows   map[uint64]ConnRow
	frames map[uint64]frameEnd
}

type frameEnd struct {
	stream uint64
	src    netip.AddrPort
}

func runEngine(t *testing.T, path string) engineRun {
	t.Helper()
	r, err := reader.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out := engineRun{rows: map[uint64]ConnRow{}, frames: map[uint64]frameEnd{}}
	e := NewEngine(EngineOptions{Rows: func(row *ConnRow) { out.rows[row.Stream] = *row }})
	var rec decode.Record
	var c decode.Conn
	var res Result
	for {
		p, err := r.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Logf("%s: reading stopped: %v", filepath.Base(path), err)
			}
			break
		}
		decode.Decode(p.LinkType, p.Data, p.WireLen, &rec)
		if e.Packet(p.Number, p.Timestamp, p.WireLen, &rec, &c, &res) {
			out.frames[p.Number] = frameEnd{c.Stream, addrPort(rec.SrcIP, rec.IPVersion, rec.SrcPort)}
		}
	}
	e.Close()
	return out
}

// connSums are the per-connection sums of tshark's per-packet analysis fields,
// [0] for the originator's packets, [1] for the responder's.
type connSums struct {
	retrans              [2]uint64
	maxInFlight          [2]uint64
	ooo, dup, zero, lost uint64
	ackRTTs              uint64
}

// TestConnTsharkAnalysis holds each connection's counts from the packet
// analyzer to tshark's own flags for its packets (tshark's per-packet analysis
// of every corpus-tcp capture): retransmitted packets each way are those tshark
// flags as retransmission, fast or spurious retransmission; out-of-order, dup
// ACK, zero-window and lost-segment counts are its flags summed; the largest
// bytes in flight each way its largest; and the RTT samples are tshark's
// ack_rtt values less those Karn's rule drops (never more).
func TestConnTsharkAnalysis(t *testing.T) {
	dir := testcorpus.TCPDir(t)
	retrans := &agreement{name: "retrans pkts"}
	counts := &agreement{name: "other counts"}
	flight := &agreement{name: "max in flight"}
	var rtts, karn uint64
	for _, m := range readManifest(t) {
		run := runEngine(t, filepath.Join(dir, "pcap", m.file))
		ref := readAnalysisSums(t, filepath.Join(dir, "expected", stem(m.file)+".tshark-analysis.csv"), run)
		for s, r := range run.rows {
			w := ref[s]
			if w == nil {
				t.Errorf("%s: stream %d has no packets in tshark's analysis", m.file, s)
				continue
			}
			check := func(a *agreement, what string, got, want uint64) {
				a.add(got == want)
				if got != want {
					t.Logf("%s stream %d: %s = %d, tshark %d", m.file, s, what, got, want)
				}
			}
			check(retrans, "orig_retrans_pkts", uint64(r.OrigRetransPkts), w.retrans[0])
			check(retrans, "resp_retrans_pkts", uint64(r.RespRetransPkts), w.retrans[1])
			check(counts, "out_of_order", uint64(r.OutOfOrder), w.ooo)
			check(counts, "dup_acks", uint64(r.DupAcks), w.dup)
			check(counts, "zero_windows", uint64(r.ZeroWindows), w.zero)
			check(counts, "lost_segments", uint64(r.LostSegments), w.lost)
			check(flight, "orig_max_in_flight", uint64(r.OrigMaxInFlight), w.maxInFlight[0])
			check(flight, "resp_max_in_flight", uint64(r.RespMaxInFlight), w.maxInFlight[1])
			if uint64(r.RTTSamples) > w.ackRTTs {
				t.Errorf("%s stream %d: %d RTT samples, more than tshark's %d ack_rtt values", m.file, s, r.RTTSamples, w.ackRTTs)
			}
			rtts += w.ackRTTs
			karn += uint64(r.RTTSamples)
		}
	}
	t.Logf("RTT samples: %d of tshark's %d ack_rtt values pass Karn's rule", karn, rtts)
	for _, a := range []*agreement{retrans, counts, flight} {
		t.Log(a)
		if a.share() < 1 {
			t.Errorf("%s: not every connection agrees with tshark", a.name)
		}
	}
	if karn == 0 || karn == rtts {
		t.Errorf("Karn's rule kept %d of %d samples: the corpus should have both kinds", karn, rtts)
	}
}

// readAnalysisSums sums a tshark-analysis.csv reference by stream and by the
// direction of each frame relative to the stream's originator in run.
func readAnalysisSums(t *testing.T, path string, run engineRun) map[uint64]*connSums {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cr := csv.NewReader(f)
	head, err := cr.Read()
	if err != nil {
		t.Fatal(err)
	}
	col := fieldIndex(head)
	sums := map[uint64]*connSums{}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		get := func(name string) string { return rec[col[name]] }
		if get("tcp.stream") == "" {
			continue
		}
		stream, err1 := strconv.ParseUint(get("tcp.stream"), 10, 64)
		frame, err2 := strconv.ParseUint(get("frame.number"), 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("%s: %v %v", path, err1, err2)
		}
		s := sums[stream]
		if s == nil {
			s = &connSums{}
			sums[stream] = s
		}
		d := 0
		if fe, ok := run.frames[frame]; ok {
			if row, ok := run.rows[fe.stream]; ok && fe.src != addrPort(row.OrigIP, row.IPVersion, row.OrigPort) {
				d = 1
			}
		}
		set := func(name string) bool { return get(name) != "" }
		if set("tcp.analysis.retransmission") || set("tcp.analysis.fast_retransmission") || set("tcp.analysis.spurious_retransmission") {
			s.retrans[d]++
		}
		for _, c := range []struct {
			name string
			n    *uint64
		}{{"tcp.analysis.out_of_order", &s.ooo}, {"tcp.analysis.duplicate_ack", &s.dup},
			{"tcp.analysis.zero_window", &s.zero}, {"tcp.analysis.lost_segment", &s.lost},
			{"tcp.analysis.ack_rtt", &s.ackRTTs}} {
			if set(c.name) {
				*c.n++
			}
		}
		if v := get("tcp.analysis.bytes_in_flight"); v != "" {
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				t.Fatalf("%s: bytes_in_flight %q", path, v)
			}
			s.maxInFlight[d] = max(s.maxInFlight[d], n)
		}
	}
	return sums
}
