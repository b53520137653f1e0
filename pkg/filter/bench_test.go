package filter

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcap"

	"github.com/pcaptk/pcaptk/pkg/reader"
)

// benchExprs go from a one-comparison test to a filter that walks the TCP header.
var benchExprs = []struct{ name, expr string }{
	{"tcp", "tcp"},
	{"port", "tcp port 80 or tcp port 443"},
	{"payload", "tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420"},
}

// benchPackets loads the packets of one Ethernet capture: the one named by
// $PCAPTK_BENCH_CAPTURE (e.g. the 1.2M-packet capture from make-capture.sh, first
// 200k packets), else a corpus file of mixed protocols.
func benchPackets(b *testing.B) []reader.Packet {
	path := os.Getenv("PCAPTK_BENCH_CAPTURE")
	if path == "" {
		path = filepath.Join(corpusDir(b), "pcap", "pcpp-many-protocols.pcap")
	}
	r, err := reader.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	var pkts []reader.Packet
	for len(pkts) < 200000 {
		p, err := r.Next()
		if err != nil {
			break
		}
		if p.LinkType == 1 {
			pkts = append(pkts, p.Clone())
		}
	}
	if len(pkts) == 0 {
		b.Fatalf("no Ethernet packets in %s to benchmark with", path)
	}
	return pkts
}

// BenchmarkMatch: Filter.Match, per packet, on real packets: the Go interpreter.
func BenchmarkMatch(b *testing.B) {
	pkts := benchPackets(b)
	for _, e := range benchExprs {
		b.Run(e.name, func(b *testing.B) {
			f, err := Compile(e.expr)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			n := 0
			for i := 0; i < b.N; i++ {
				if f.Match(&pkts[i%len(pkts)]) {
					n++
				}
			}
		})
	}
}

// BenchmarkMatchCgo: the same packets and expressions through gopacket's
// pcap.BPF.Matches, i.e. libpcap's pcap_offline_filter over cgo. This is the
// alternative the Go interpreter was measured against.
func BenchmarkMatchCgo(b *testing.B) {
	pkts := benchPackets(b)
	for _, e := range benchExprs {
		b.Run(e.name, func(b *testing.B) {
			bpf, err := pcap.NewBPF(layers.LinkTypeEthernet, MaxSnaplen, e.expr)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			n := 0
			for i := 0; i < b.N; i++ {
				p := &pkts[i%len(pkts)]
				ci := gopacket.CaptureInfo{CaptureLength: len(p.Data), Length: int(p.WireLen)}
				if bpf.Matches(ci, p.Data) {
					n++
				}
			}
		})
	}
}
