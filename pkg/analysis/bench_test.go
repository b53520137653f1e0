package analysis

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/pcaptk/pcaptk/internal/testcorpus"
	"github.com/pcaptk/pcaptk/pkg/decode"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// replay is a capture decoded and tracked once, so that the analyzer alone can
// be run over it again and again: the tracker's New flags restart each
// connection's state on every pass.
type replay struct {
	frames []uint64
	ts     []int64
	recs   []decode.Record
	conns  []decode.Conn
}

func loadReplay(tb testing.TB, path string) *replay {
	tb.Helper()
	rd, err := reader.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer rd.Close()
	ct := decode.NewConnTracker(decode.DefaultConnOptions)
	rp := &replay{}
	var rec decode.Record
	for {
		p, err := rd.Next()
		if err != nil {
			break
		}
		decode.Decode(p.LinkType, p.Data, p.WireLen, &rec)
		c, ok := ct.Track(&rec, p.Timestamp)
		if !ok {
			continue
		}
		rp.frames = append(rp.frames, p.Number)
		rp.ts = append(rp.ts, p.Timestamp)
		rp.recs = append(rp.recs, rec)
		rp.conns = append(rp.conns, c)
	}
	return rp
}

// bulkReplay is one connection sending full-sized segments with inFlight of
// them unacknowledged, the receiver acknowledging every second one.
func bulkReplay(inFlight, packets int) *replay {
	rp := &replay{}
	add := func(srv bool, flags uint16, seq, ack uint32, n int, ts int64) {
		r := decode.Record{HasTCP: true, IPVersion: 4, DataOff: 20, L4Len: 20 + n, Flags: flags, Seq: seq, Ack: ack, Window: 65535, SrcPort: 40000, DstPort: 80}
		binary.BigEndian.PutUint32(r.SrcIP[:], 0x0a000001)
		binary.BigEndian.PutUint32(r.DstIP[:], 0x0a000002)
		c := decode.Conn{Slot: 0, New: len(rp.recs) == 0}
		if srv {
			r.SrcIP, r.DstIP, r.SrcPort, r.DstPort = r.DstIP, r.SrcIP, r.DstPort, r.SrcPort
			c.Dir = 1
		}
		rp.frames = append(rp.frames, uint64(len(rp.recs)+1))
		rp.ts = append(rp.ts, ts)
		rp.recs = append(rp.recs, r)
		rp.conns = append(rp.conns, c)
	}
	const mss = 1448
	var sent, acked uint32 = 1, 1
	ts := int64(1e18)
	for len(rp.recs) < packets {
		for sent-acked < uint32(inFlight*mss) {
			add(false, decode.ACK, sent, 1, mss, ts)
			sent += mss
			ts += 1000
		}
		acked += 2 * mss
		add(true, decode.ACK, 1, acked, 0, ts)
		ts += 1000
	}
	return rp
}

func (rp *replay) run(a *Analyzer, r *Result) {
	for i := range rp.recs {
		a.Packet(rp.frames[i], rp.ts[i], &rp.recs[i], &rp.conns[i], r)
	}
}

func BenchmarkPacket(b *testing.B) {
	cases := []struct {
		name string
		rp   func(b *testing.B) *replay
	}{
		{"local-problems-v4", func(b *testing.B) *replay {
			return loadReplay(b, filepath.Join(testcorpus.TCPDir(b), "pcap", "local-problems-v4.pcap"))
		}},
		{"bulk-16-in-flight", func(*testing.B) *replay { return bulkReplay(16, 100000) }},
		{"bulk-256-in-flight", func(*testing.B) *replay { return bulkReplay(256, 100000) }},
		{"bulk-4096-in-flight", func(*testing.B) *replay { return bulkReplay(4096, 100000) }},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			rp := c.rp(b)
			a := New(Options{})
			var r Result
			rp.run(a, &r)
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; i++ {
				j := i % len(rp.recs)
				a.Packet(rp.frames[j], rp.ts[j], &rp.recs[j], &rp.conns[j], &r)
			}
			// CPU time, which other work on a shared machine does not inflate
			// as it does the wall time of ns/op.
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// TestPacketNoAllocs: once its tables have grown, the analyzer allocates
// nothing per packet, on a real capture and on a bulk transfer with many
// segments in flight.
func TestPacketNoAllocs(t *testing.T) {
	for _, rp := range []*replay{
		loadReplay(t, filepath.Join(testcorpus.TCPDir(t), "pcap", "local-problems-v4.pcap")),
		bulkReplay(3000, 20000),
	} {
		a := New(Options{})
		var r Result
		rp.run(a, &r)
		buf := make([]byte, 0, 512)
		texts := 0
		allocs := testing.AllocsPerRun(3, func() {
			for i := range rp.recs {
				a.Packet(rp.frames[i], rp.ts[i], &rp.recs[i], &rp.conns[i], &r)
				if r.Flags != 0 {
					buf = AppendInfo(AppendFlags(buf[:0], r.Flags), &r)
					texts++
				}
			}
		})
		if texts == 0 && len(rp.recs) > 10000 {
			t.Log("no flags to format")
		}
		if allocs != 0 {
			t.Errorf("%v allocations per pass over %d packets", allocs, len(rp.recs))
		}
	}
}

// cpuTime is the process's user and system CPU time in nanoseconds.
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkPipeline is the per-packet cost of the whole single pass that
// export --analysis will run, reading from memory: reader, decode,
// ConnTracker, and with "analysis" the Analyzer too, so the difference is what
// the analysis adds in context (its state warm in cache as it will be).
func BenchmarkPipeline(b *testing.B) {
	data, err := os.ReadFile(filepath.Join(testcorpus.TCPDir(b), "pcap", "local-problems-v4.pcap"))
	if err != nil {
		b.Fatal(err)
	}
	for _, withAnalysis := range []bool{false, true} {
		name := "track"
		if withAnalysis {
			name = "track+analysis"
		}
		b.Run(name, func(b *testing.B) {
			var rec decode.Record
			var r Result
			packets := 0
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := cpuTime()
			for i := 0; i < b.N; {
				rd, err := reader.NewReader(bytes.NewReader(data), "mem")
				if err != nil {
					b.Fatal(err)
				}
				ct := decode.NewConnTracker(decode.DefaultConnOptions)
				a := New(Options{})
				ct.OnForget(func(slot int32, _ uint64, _ decode.ForgetReason) { a.Forget(slot) })
				for ; i < b.N; i++ {
					p, err := rd.Next()
					if err != nil {
						break
					}
					packets++
					decode.Decode(p.LinkType, p.Data, p.WireLen, &rec)
					c, ok := ct.Track(&rec, p.Timestamp)
					if ok && withAnalysis {
						a.Packet(p.Number, p.Timestamp, &rec, &c, &r)
					}
				}
			}
			b.ReportMetric(float64(cpuTime()-cpu0)/float64(max(packets, 1)), "cpu-ns/packet")
		})
	}
}
