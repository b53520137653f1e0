package analysis

import (
	"bufio"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pcaptk/pcaptk/internal/testcorpus"
	"github.com/pcaptk/pcaptk/pkg/decode"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// manifestEntry is one line of corpus-tcp's MANIFEST.tsv.
type manifestEntry struct {
	file      string
	baseline  string // the Zeek baseline's path, "-" for none
	zeekFlags string
}

func readManifest(t *testing.T) []manifestEntry {
	t.Helper()
	f, err := os.Open(filepath.Join(testcorpus.TCPDir(t), "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []manifestEntry
	sc := bufio.NewScanner(f)
	for first := true; sc.Scan(); first = false {
		c := strings.Split(sc.Text(), "\t")
		if first || len(c) < 8 {
			continue
		}
		out = append(out, manifestEntry{file: c[0], baseline: c[6], zeekFlags: c[7]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// stem is a capture's name without its extension, as expected/ names it.
func stem(file string) string {
	return strings.TrimSuffix(strings.TrimSuffix(file, ".pcapng"), ".pcap")
}

// capture is a corpus capture run through decode, ConnTracker and Conns.
type capture struct {
	rows  []ConnRow // in stream order
	first int64     // the capture's first timestamp
	// cut counts, by stream and sending end, the TCP packets whose header
	// the capture cut short (tracked, but not counted in a row).
	cut map[uint64]map[netip.AddrPort]uint64
}

// runConns runs a capture through decode, ConnTracker and Conns. verify drops
// and flags packets with wrong checksums as Zeek does when it verifies them.
func runConns(t *testing.T, path string, verify bool) capture {
	t.Helper()
	r, err := reader.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var rows []ConnRow
	emit := func(row *ConnRow) { rows = append(rows, *row) }
	// Without checksum verification, the Engine as pcaptk conns runs it (rows
	// with the analyzer's counts); with it, the tracker and the table alone,
	// so that a bad packet can be kept from the analysis.
	var eng *Engine
	var tr *decode.ConnTracker
	var conns *Conns
	if verify {
		tr = decode.NewConnTracker(decode.DefaultConnOptions)
		conns = NewConns(emit)
		tr.OnForget(conns.Forget)
	} else {
		eng = NewEngine(EngineOptions{Rows: emit})
		tr = eng.Tracker()
	}
	var res Result
	var rec decode.Record
	out := capture{cut: map[uint64]map[netip.AddrPort]uint64{}}
	for n := 0; ; n++ {
		p, err := r.Next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Logf("%s: reading stopped: %v", filepath.Base(path), err)
			}
			break
		}
		if n == 0 {
			out.first = p.Timestamp
		}
		decode.Decode(p.LinkType, p.Data, p.WireLen, &rec)
		var c decode.Conn
		var ok bool
		if eng != nil {
			ok = eng.Packet(p.Number, p.Timestamp, p.WireLen, &rec, &c, &res)
		} else {
			c, ok = tr.Track(&rec, p.Timestamp)
		}
		if !ok {
			continue
		}
		if rec.Truncated == decode.LayerOptions {
			m := out.cut[c.Stream]
			if m == nil {
				m = map[netip.AddrPort]uint64{}
				out.cut[c.Stream] = m
			}
			m[addrPort(rec.SrcIP, rec.IPVersion, rec.SrcPort)]++
		}
		if !verify {
			continue
		}
		switch CheckTCPChecksums(&rec, p.Data) {
		case ChecksumBadIP:
			continue
		case ChecksumBadTCP:
			conns.Corrupt(&rec, &c, p.Timestamp)
			continue
		}
		conns.Packet(&rec, &c, p.Timestamp, p.WireLen)
	}
	tr.Close()
	// Rows come out as connections are forgotten; order them by stream.
	out.rows = make([]ConnRow, len(rows))
	for _, row := range rows {
		if int(row.Stream) < len(out.rows) {
			out.rows[row.Stream] = row
		}
	}
	return out
}

// endpoints names a connection's two ends without regard to direction.
type endpoints struct{ a, b string }

func endpointsOf(ip1, port1, ip2, port2 string) endpoints {
	x, y := ip1+"|"+port1, ip2+"|"+port2
	if y < x {
		x, y = y, x
	}
	return endpoints{x, y}
}

func rowIP(ip [16]byte, v uint8) string { return string(decode.AppendIP(nil, ip, v)) }
