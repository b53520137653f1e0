package tcpdump

import (
	"io"
	"testing"
	"time"

	"github.com/pcaptk/pcaptk/internal/testcorpus/packets"
	"github.com/pcaptk/pcaptk/pkg/decode"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// TestTextAllocatesNothing: once the per-connection state has seen the
// connections, printing a packet allocates nothing, whatever flags are set.
func TestPrinterAllocatesNothing(t *testing.T) {
	ps := packets.Load(t)
	for _, o := range []Options{
		{NoPortNames: true},
		{Verbose: 1, Link: true, HexASCII: 1, TimeFormat: TimeDate, Nano: true},
		{AbsoluteSeq: true, ASCII: 2, TimeFormat: TimeDelta, Number: true, NoChecksums: true},
	} {
		o.Location = time.UTC
		o.IfName = func(uint32) string { return "lo" }
		enc := NewPrinter(io.Discard, o)
		var rec decode.Record
		pass := func() {
			for i := range ps {
				decode.Decode(ps[i].LinkType, ps[i].Data, ps[i].WireLen, &rec)
				enc.Print(&ps[i], &rec)
			}
		}
		pass() // warm up: connections, buffer growth
		if a := testing.AllocsPerRun(3, pass); a != 0 {
			t.Errorf("%+v: %.1f allocations per corpus pass", o, a)
		}
	}
}

func BenchmarkPrinter(b *testing.B) {
	ps := packets.Load(b)
	enc := NewPrinter(io.Discard, Options{NoPortNames: true, Location: time.UTC})
	recs := make([]decode.Record, len(ps))
	for i := range ps {
		decode.Decode(ps[i].LinkType, ps[i].Data, ps[i].WireLen, &recs[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % len(ps)
		enc.Print(&ps[j], &recs[j])
	}
}

// FuzzPrinter decodes and prints arbitrary bytes under every link type pcaptk
// decodes, with the most demanding flags: it must never panic.
func FuzzPrinter(f *testing.F) {
	for i, p := range packets.Load(f) {
		if i%7 == 0 {
			f.Add(p.LinkType, p.Data)
		}
	}
	enc := NewPrinter(io.Discard, Options{Verbose: 2, Link: true, HexASCII: 1, Location: time.UTC,
		IfName: func(uint32) string { return "?" }})
	f.Fuzz(func(t *testing.T, lt uint16, data []byte) {
		var rec decode.Record
		p := reader.Packet{Data: data, CapLen: uint32(len(data)), WireLen: uint32(len(data)), LinkType: lt, Timestamp: 1e18}
		decode.Decode(lt, data, p.WireLen, &rec)
		if err := enc.Print(&p, &rec); err != nil {
			t.Fatal(err)
		}
	})
}
