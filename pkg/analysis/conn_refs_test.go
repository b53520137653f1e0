package analysis

import (
	"bufio"
	"cmp"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pcaptk/pcaptk/internal/testcorpus"
)

// convRow is one line of tshark's -z conv,tcp: frames and bytes each way
// between A and B, bytes in tshark 4.0's human units.
type convRow struct {
	a, b               netip.AddrPort
	framesAB, framesBA int
	bytesAB, bytesBA   string
	start              float64 // seconds from the capture's first frame
}

func readConv(t *testing.T, path string) []convRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []convRow
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		w := strings.Fields(sc.Text())
		if len(w) != 14 || w[1] != "<->" {
			continue
		}
		a, err1 := netip.ParseAddrPort(bracket(w[0]))
		b, err2 := netip.ParseAddrPort(bracket(w[2]))
		fba, err3 := strconv.Atoi(w[3])
		fab, err4 := strconv.Atoi(w[6])
		start, err5 := strconv.ParseFloat(w[12], 64)
		if err := cmp.Or(err1, err2, err3, err4, err5); err != nil {
			t.Fatalf("%s: %q: %v", path, sc.Text(), err)
		}
		out = append(out, convRow{a: a, b: b, framesBA: fba, bytesBA: w[4] + " " + w[5],
			framesAB: fab, bytesAB: w[7] + " " + w[8], start: start})
	}
	return out
}

// bracket turns tshark's addr:port (IPv6 too) into a form netip parses.
func bracket(s string) string {
	i := strings.LastIndexByte(s, ':')
	if strings.Count(s, ":") > 1 {
		return "[" + s[:i] + "]" + s[i:]
	}
	return s
}

// humanBytes formats a byte count as tshark 4.0's conversation table does:
// the largest SI unit that leaves at least 10 of it, truncated.
func humanBytes(v uint64) string {
	for _, u := range []struct {
		p    uint64
		name string
	}{{1e12, "TB"}, {1e9, "GB"}, {1e6, "MB"}, {1e3, "kB"}} {
		if v/u.p >= 10 {
			return fmt.Sprintf("%d %s", v/u.p, u.name)
		}
	}
	return fmt.Sprintf("%d bytes", v)
}

func addrPort(ip [16]byte, v uint8, port uint16) netip.AddrPort {
	a := netip.AddrFrom16(ip)
	if v == 4 {
		a = netip.AddrFrom4([4]byte(ip[:4]))
	}
	return netip.AddrPortFrom(a, port)
}

func sameEnds(a, b, c, d netip.AddrPort) bool { return (a == c && b == d) || (a == d && b == c) }

// TestConnTsharkConv compares packets and frame bytes each way with tshark's
// conversation table for every corpus capture.
func TestConnTsharkConv(t *testing.T) {
	dir := testcorpus.TCPDir(t)
	frames := &agreement{name: "frames"}
	bytes := &agreement{name: "bytes"}
	paired := &agreement{name: "paired"}
	for _, m := range readManifest(t) {
		cap := runConns(t, filepath.Join(dir, "pcap", m.file), false)
		rows, first := cap.rows, cap.first
		conv := readConv(t, filepath.Join(dir, "expected", stem(m.file)+".tshark-conv.txt"))
		slices.SortStableFunc(conv, func(x, y convRow) int { return cmpFloat(x.start, y.start) })
		used := make([]bool, len(rows))
		for _, c := range conv {
			var r *ConnRow
			for i := range rows {
				o := addrPort(rows[i].OrigIP, rows[i].IPVersion, rows[i].OrigPort)
				p := addrPort(rows[i].RespIP, rows[i].IPVersion, rows[i].RespPort)
				if !used[i] && sameEnds(o, p, c.a, c.b) {
					used[i], r = true, &rows[i]
					break
				}
			}
			paired.add(r != nil)
			if r == nil {
				t.Logf("%s: tshark conversation %v <-> %v has no pcaptk row", m.file, c.a, c.b)
				continue
			}
			ab, ba := [2]uint64{r.OrigPkts, r.OrigFrameBytes}, [2]uint64{r.RespPkts, r.RespFrameBytes}
			if addrPort(r.OrigIP, r.IPVersion, r.OrigPort) != c.a {
				ab, ba = ba, ab
			}
			check := func(a *agreement, what string, got, want string) {
				a.add(got == want)
				if got != want {
					t.Logf("%s stream %d (%.6f): %s = %s, tshark %s", m.file, r.Stream, float64(r.FirstTS-first)/1e9, what, got, want)
				}
			}
			check(frames, "frames A->B", strconv.FormatUint(ab[0], 10), strconv.Itoa(c.framesAB))
			check(frames, "frames B->A", strconv.FormatUint(ba[0], 10), strconv.Itoa(c.framesBA))
			check(bytes, "bytes A->B", humanBytes(ab[1]), c.bytesAB)
			check(bytes, "bytes B->A", humanBytes(ba[1]), c.bytesBA)
		}
		for i := range rows {
			if !used[i] {
				paired.add(false)
				t.Logf("%s: stream %d has no tshark conversation", m.file, rows[i].Stream)
			}
		}
	}
	for _, a := range []*agreement{paired, frames, bytes} {
		t.Log(a)
		if a.share() < 1 {
			t.Errorf("%s: not every connection agrees with tshark", a.name)
		}
	}
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ttRow is one connection of tcptrace -l -r -n --csv.
type ttRow struct {
	a, b               netip.AddrPort
	first              int64 // µs
	pktsAB, pktsBA     uint64
	uniqueAB, uniqueBA uint64
	rexmtAB, rexmtBA   uint64 // retransmitted data bytes
}

func readTcptrace(t *testing.T, path string) []ttRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var col map[string]int
	var out []ttRow
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
			continue
		}
		w := strings.Split(line, ",")
		for i := range w {
			w[i] = strings.TrimSpace(w[i])
		}
		if col == nil {
			col = fieldIndex(w)
			continue
		}
		get := func(name string) string { return w[col[name]] }
		num := func(name string) uint64 {
			v, err := strconv.ParseUint(get(name), 10, 64)
			if err != nil {
				t.Fatalf("%s: %s: %v", path, name, err)
			}
			return v
		}
		pa, _ := strconv.Atoi(get("port_a"))
		pb, _ := strconv.Atoi(get("port_b"))
		// tcptrace 6.6.7 prints some IPv6 addresses wrongly (::1 as
		// ":0001"): those stay unknown and pair by ports and time.
		ha, _ := netip.ParseAddr(get("host_a"))
		hb, _ := netip.ParseAddr(get("host_b"))
		// It prints the microseconds as an unpadded integer (.017649 as
		// .17649).
		sec, usec, _ := strings.Cut(get("first_packet"), ".")
		s, err1 := strconv.ParseInt(sec, 10, 64)
		us, err2 := strconv.ParseInt(usec, 10, 64)
		if err := cmp.Or(err1, err2); err != nil {
			t.Fatalf("%s: first_packet: %v", path, err)
		}
		first := s*1e6 + us
		out = append(out, ttRow{
			a: netip.AddrPortFrom(ha, uint16(pa)), b: netip.AddrPortFrom(hb, uint16(pb)), first: first,
			pktsAB: num("total_packets_a2b"), pktsBA: num("total_packets_b2a"),
			uniqueAB: num("unique_bytes_sent_a2b"), uniqueBA: num("unique_bytes_sent_b2a"),
			rexmtAB: num("rexmt_data_bytes_a2b"), rexmtBA: num("rexmt_data_bytes_b2a"),
		})
	}
	return out
}

// TestConnTcptrace compares packets and unique bytes each way with tcptrace's
// long output for every corpus capture, connections paired by endpoints and
// first packet time. Three differences are known and accounted for: tcptrace
// starts a new connection on some packets after a FIN or RST where pcaptk (and
// tshark) keep one stream, so those endpoints are compared apart; tcptrace counts
// packets whose TCP header the capture cut short, which pcaptk leaves out as Zeek
// and tshark do; and tcptrace's 32-bit view of sequence space mistakes data 4 GiB
// apart for repeats, so unique bytes are not compared for a direction of 2 GiB
// or more.
func TestConnTcptrace(t *testing.T) {
	dir := testcorpus.TCPDir(t)
	pkts := &agreement{name: "packets"}
	unique := &agreement{name: "unique bytes"}
	paired := &agreement{name: "paired"}
	split := &agreement{name: "split"}
	rexmt := &agreement{name: "retrans bytes"}
	for _, m := range readManifest(t) {
		cap := runConns(t, filepath.Join(dir, "pcap", m.file), false)
		rows := cap.rows
		ends := func(r *ConnRow) (netip.AddrPort, netip.AddrPort) {
			return addrPort(r.OrigIP, r.IPVersion, r.OrigPort), addrPort(r.RespIP, r.IPVersion, r.RespPort)
		}
		tt := readTcptrace(t, filepath.Join(dir, "expected", stem(m.file)+".tcptrace.csv"))
		used := make([]bool, len(rows))
		for _, c := range tt {
			nt, nr := 0, 0
			for _, d := range tt {
				if sameTT(d.a, d.b, c.a, c.b) {
					nt++
				}
			}
			for i := range rows {
				if o, p := ends(&rows[i]); sameTT(o, p, c.a, c.b) {
					nr++
				}
			}
			split.add(nt > nr)
			if nt > nr {
				t.Logf("%s: tcptrace has %d connections %v <-> %v, pcaptk %d streams: not compared", m.file, nt, c.a, c.b, nr)
				continue
			}
			var r *ConnRow
			for i := range rows {
				if o, p := ends(&rows[i]); !used[i] && sameTT(o, p, c.a, c.b) && rows[i].FirstTS/1e3 == c.first {
					used[i], r = true, &rows[i]
					break
				}
			}
			paired.add(r != nil)
			if r == nil {
				t.Logf("%s: tcptrace connection %v <-> %v at %d µs has no pcaptk row", m.file, c.a, c.b, c.first)
				continue
			}
			o, p := ends(r)
			ab := [4]uint64{r.OrigPkts + cap.cut[r.Stream][o], r.OrigUniqueBytes, r.OrigBytes, r.OrigRetransBytes}
			ba := [4]uint64{r.RespPkts + cap.cut[r.Stream][p], r.RespUniqueBytes, r.RespBytes, r.RespRetransBytes}
			if o != c.a && !(!c.a.Addr().IsValid() && o.Port() == c.a.Port()) {
				ab, ba = ba, ab
			}
			check := func(a *agreement, what string, got, want uint64) {
				a.add(got == want)
				if got != want {
					t.Logf("%s stream %d: %s = %d, tcptrace %d", m.file, r.Stream, what, got, want)
				}
			}
			check(pkts, "packets a2b", ab[0], c.pktsAB)
			check(pkts, "packets b2a", ba[0], c.pktsBA)
			if ab[2] < 1<<31 {
				check(unique, "unique bytes a2b", ab[1], c.uniqueAB)
			}
			if ba[2] < 1<<31 {
				check(unique, "unique bytes b2a", ba[1], c.uniqueBA)
			}
			check(rexmt, "retrans bytes a2b", ab[3], c.rexmtAB)
			check(rexmt, "retrans bytes b2a", ba[3], c.rexmtBA)
		}
	}
	// Retransmitted bytes are Wireshark's (the payload of the packets its
	// rules flag), so that they sum from export --analysis; tcptrace counts
	// every byte of sequence space it saw before, which takes in segments
	// Wireshark calls out-of-order, keep-alive bytes and repeated SYN and FIN
	// octets. The agreement is measured, not required (docs/conns.md).
	for _, a := range []*agreement{split, paired, pkts, unique, rexmt} {
		t.Log(a)
	}
	for _, a := range []*agreement{paired, pkts, unique} {
		if a.share() < 1 {
			t.Errorf("%s: not every connection agrees with tcptrace", a.name)
		}
	}
}

// sameTT is sameEnds for tcptrace's endpoints, an unknown address matching any.
func sameTT(a, b, c, d netip.AddrPort) bool {
	eq := func(x, y netip.AddrPort) bool {
		return x.Port() == y.Port() && (!y.Addr().IsValid() || x.Addr() == y.Addr())
	}
	return (eq(a, c) && eq(b, d)) || (eq(a, d) && eq(b, c))
}

// TestConnIRTT compares irtt with tshark's tcp.analysis.initial_rtt, the value
// the stream's packets carry after the handshake.
func TestConnIRTT(t *testing.T) {
	dir := testcorpus.TCPDir(t)
	irtt := &agreement{name: "irtt"}
	for _, m := range readManifest(t) {
		rows := runConns(t, filepath.Join(dir, "pcap", m.file), false).rows
		f, err := os.Open(filepath.Join(dir, "expected", stem(m.file)+".tshark-analysis.csv"))
		if err != nil {
			t.Fatal(err)
		}
		want := map[uint64]string{}
		sc := bufio.NewScanner(f)
		var col map[string]int
		for sc.Scan() {
			w := strings.Split(sc.Text(), ",")
			if col == nil {
				col = fieldIndex(w)
				continue
			}
			if len(w) != len(col) {
				continue // a TCP header quoted in an ICMP error: several values
			}
			s, err := strconv.ParseUint(w[col["tcp.stream"]], 10, 64)
			if v := w[col["tcp.analysis.initial_rtt"]]; err == nil && v != "" {
				if _, seen := want[s]; !seen {
					want[s] = v
				}
			}
		}
		f.Close()
		for i := range rows {
			r := &rows[i]
			w, ok := want[r.Stream]
			got := ""
			if r.HasIRTT {
				got = fmt.Sprintf("%.9f", float64(r.IRTT)/1e9)
			}
			if !ok && got == "" {
				continue
			}
			irtt.add(got == w)
			if got != w {
				t.Logf("%s stream %d: irtt %q, tshark %q", m.file, r.Stream, got, w)
			}
		}
	}
	t.Log(irtt)
	if irtt.share() < 1 {
		t.Error("irtt differs from tshark's initial_rtt")
	}
}
