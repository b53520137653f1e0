package analysis

import (
	"encoding/binary"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/pcaptk/pcaptk/internal/testcorpus"
	"github.com/pcaptk/pcaptk/pkg/decode"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// tcpCorpusPackets loads every packet of the TCP corpus into memory.
func tcpCorpusPackets(tb testing.TB) []reader.Packet {
	tb.Helper()
	files, _ := filepath.Glob(filepath.Join(testcorpus.TCPDir(tb), "pcap", "*"))
	var ps []reader.Packet
	for _, f := range files {
		r, err := reader.Open(f)
		if err != nil {
			tb.Fatal(err)
		}
		for {
			p, err := r.Next()
			if err != nil {
				break
			}
			ps = append(ps, p.Clone())
		}
		r.Close()
	}
	if len(ps) == 0 {
		tb.Skip("no packets in the TCP corpus")
	}
	return ps
}

// connPipeline is what pcaptk conns runs per packet.
type connPipeline struct {
	tr    *decode.ConnTracker
	conns *Conns
	rec   decode.Record
	rows  int
}

func newConnPipeline(o decode.ConnOptions) *connPipeline {
	p := &connPipeline{tr: decode.NewConnTracker(o)}
	p.conns = NewConns(func(*ConnRow) { p.rows++ })
	p.tr.OnForget(p.conns.Forget)
	return p
}

func (p *connPipeline) packet(pk *reader.Packet) {
	decode.Decode(pk.LinkType, pk.Data, pk.WireLen, &p.rec)
	if c, ok := p.tr.Track(&p.rec, pk.Timestamp); ok {
		p.conns.Packet(&p.rec, &c, pk.Timestamp, pk.WireLen)
	}
}

// TestConnPacketAllocs: once the tables have grown, a packet costs no
// allocation, rows emitted included.
func TestConnPacketAllocs(t *testing.T) {
	ps := tcpCorpusPackets(t)
	p := newConnPipeline(decode.DefaultConnOptions)
	for i := range ps {
		p.packet(&ps[i])
	}
	n := testing.AllocsPerRun(5, func() {
		for i := range ps {
			p.packet(&ps[i])
		}
		p.tr.Close() // every connection emits its row
	})
	if n != 0 {
		t.Errorf("%v allocations per pass over %d packets", n, len(ps))
	}
	if p.rows == 0 {
		t.Error("no rows emitted")
	}
}

func BenchmarkConnPacket(b *testing.B) {
	ps := tcpCorpusPackets(b)
	p := newConnPipeline(decode.DefaultConnOptions)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		p.packet(&ps[i%len(ps)])
	}
}

// synthConn writes the six packets of a short connection (handshake, 100 bytes
// of request, FIN each way, last ACK) between client k and a server into recs.
func synthConn(k uint32, recs *[6]decode.Record) {
	var cli, srv [16]byte
	binary.BigEndian.PutUint32(cli[:], 0x0a000000|k)
	binary.BigEndian.PutUint32(srv[:], 0xc0a80001)
	cport := uint16(1024 + k%60000)
	type s struct {
		fromSrv  bool
		flags    uint16
		seq, ack uint32
		n        int
	}
	for i, x := range [6]s{
		{false, decode.SYN, 100, 0, 0},
		{true, decode.SYN | decode.ACK, 500, 101, 0},
		{false, decode.ACK | decode.PSH, 101, 501, 100},
		{true, decode.FIN | decode.ACK, 501, 201, 0},
		{false, decode.FIN | decode.ACK, 201, 502, 0},
		{true, decode.ACK, 502, 202, 0},
	} {
		r := &recs[i]
		*r = decode.Record{IPVersion: 4, HasTCP: true, Proto: 6, DataOff: 20, IPHdrLen: 20, Window: 1000}
		r.SrcIP, r.DstIP, r.SrcPort, r.DstPort = cli, srv, cport, 80
		if x.fromSrv {
			r.SrcIP, r.DstIP, r.SrcPort, r.DstPort = srv, cli, 80, cport
		}
		r.Flags, r.Seq, r.Ack = x.flags, x.seq, x.ack
		r.L4Len, r.PayloadLen, r.PayloadCap = 20+x.n, x.n, x.n
		r.IPLen = 20 + r.L4Len
	}
}

// TestConnMemoryBounded drives a million short connections through
// ConnTracker and Conns, one started every millisecond of capture time: rows
// stream out as connections are forgotten, so the live heap stays bounded by
// the connections open at once (closed ones wait out the tracker's grace), not
// by the million.
func TestConnMemoryBounded(t *testing.T) {
	n := uint32(1_000_000)
	if testing.Short() {
		n = 100_000
	}
	p := newConnPipeline(decode.DefaultConnOptions)
	var recs [6]decode.Record
	ts := int64(1e18)
	var peak uint64
	var ms runtime.MemStats
	for k := range n {
		synthConn(k, &recs)
		for i := range recs {
			ts += 166_666
			if c, ok := p.tr.Track(&recs[i], ts); ok {
				p.conns.Packet(&recs[i], &c, ts, uint32(14+recs[i].IPLen))
			}
		}
		if k%100_000 == 99_999 {
			runtime.GC()
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapAlloc)
			t.Logf("%7d connections: heap %5.1f MB, %d rows out, %d tracked", k+1, float64(ms.HeapAlloc)/1e6, p.rows, p.tr.Stats().Active)
		}
	}
	p.tr.Close()
	if p.rows != int(n) {
		t.Errorf("%d rows, want %d", p.rows, n)
	}
	// About 60,000 connections wait out the 60 s grace at once, each
	// about 1 KB in the tracker and the accumulator table.
	const bound = 160e6
	if peak > bound {
		t.Errorf("heap peaked at %.1f MB, over %.0f MB", float64(peak)/1e6, bound/1e6)
	}
}
