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
		rows, first := runConnsFirst(t, filepath.Join(dir, "pcap", m.file), false)
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
