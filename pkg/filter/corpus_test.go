package filter

import (
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pcaptk/pcaptk/internal/testcorpus"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// corpusDir is the general reference corpus (see internal/testcorpus).
func corpusDir(t testing.TB) string {
	t.Helper()
	return testcorpus.Dir(t)
}

// corpusExprs exercise every kind of code libpcap generates: protocol tests,
// ports (with fragment checks), packet-relative loads through X (tcp[...] after a
// variable IP header), arithmetic (sub, shifts by X, mod, div by X), length tests,
// VLAN offsets, protochain's backward jumps, link-layer and broadcast tests.
// "%HOST%" is replaced by an address from the capture.
var corpusExprs = []string{
	"",
	"tcp",
	"udp",
	"tcp port 80",
	"tcp[tcpflags] & tcp-syn != 0",
	"ip6",
	"vlan and tcp",
	"host %HOST%",
	"greater 100",
	"less 64",
	"tcp and not port 22",
	"icmp or icmp6 or arp",
	"ip[8] > 60",
	"tcp[13] = 0x18",
	"ip6 and tcp dst portrange 1-1023",
	"(tcp or udp) and portrange 1000-60000",
	"tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420",
	"ip[2:2] - ((ip[0] & 0xf) << 2) - ((tcp[12] & 0xf0) >> 2) != 0",
	"len % 7 = 3",
	"ip[0] / (len - len) = 0",
	"ip[0] >> (len - len + 33) = 0",
	"ip[6] & 0x20 != 0 or ip[6:2] & 0x1fff != 0",
	"ip6 protochain 6",
	"ip protochain 6",
	"ether broadcast or ether multicast",
	"ip broadcast",
	"net 10.0.0.0/8 or net 192.168.0.0/16",
	"tcp[tcpflags] & (tcp-rst|tcp-fin) != 0 and not ip6",
	"inbound and tcp",
	"ifindex 1",
}

type testPacket struct {
	num      uint64
	iface    int
	linkType uint16
	snaplen  uint32
	ts       int64
	wireLen  uint32
	data     []byte
}

// readCapture reads every packet pkg/reader can read from r; readErr is the error
// that ended the capture early, if any.
func readCapture(r *reader.Reader) (pkts []testPacket, readErr error) {
	for {
		p, err := r.Next()
		if err == io.EOF {
			return pkts, nil
		}
		if err != nil {
			return pkts, err
		}
		c := p.Clone()
		pkts = append(pkts, testPacket{c.Number, c.Iface, c.LinkType, c.Snaplen, c.Timestamp, c.WireLen, c.Data})
	}
}

// tcpdumpSelect runs tcpdump -r file -w - expr and returns the packets it wrote,
// or tcpdump's complaint if it refused the expression or file.
func tcpdumpSelect(t *testing.T, tcpdump, file, expr string) ([]testPacket, string) {
	t.Helper()
	args := []string{"-r", file, "-w", "-"}
	if expr != "" {
		args = append(args, expr)
	}
	cmd := exec.Command(tcpdump, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var complaint string
	for _, l := range strings.Split(stderr.String(), "\n") {
		if strings.HasPrefix(l, "tcpdump: ") {
			complaint = strings.TrimPrefix(l, "tcpdump: ")
		}
	}
	if runErr != nil && complaint == "" {
		t.Fatalf("tcpdump %q: %v: %s", args, runErr, stderr.String())
	}
	if stdout.Len() == 0 {
		return nil, complaint
	}
	r, err := reader.NewReader(&stdout, "tcpdump output")
	if err != nil {
		t.Fatalf("tcpdump %q wrote an unreadable capture: %v", args, err)
	}
	pkts, err := readCapture(r)
	if err != nil {
		t.Fatalf("tcpdump %q wrote an unreadable capture: %v", args, err)
	}
	return pkts, complaint
}

// hostOf returns an address of a TCP packet in the capture, from its tshark
// reference CSV (frame.number,frame.time_epoch,ip.src,ipv6.src,...); "" when
// it has none.
func hostOf(t *testing.T, dir, name string) string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "expected", name+".tshark.csv"))
	if err != nil {
		t.Fatalf("reference missing: %v", err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s.tshark.csv: %v", name, err)
	}
	for _, row := range rows[min(1, len(rows)):] {
		for _, col := range []int{2, 3, 5, 6} {
			if col < len(row) && row[col] != "" {
				return strings.Split(row[col], ",")[0] // tunnels list several
			}
		}
	}
	return ""
}

// writePcap writes packets as a nanosecond pcap file with one link type and snaplen.
func writePcap(path string, linkType uint16, snaplen uint32, pkts []testPacket) error {
	var b bytes.Buffer
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b23c4d)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], snaplen)
	binary.LittleEndian.PutUint32(hdr[20:], uint32(linkType))
	b.Write(hdr)
	for _, p := range pkts {
		rec := make([]byte, 16)
		binary.LittleEndian.PutUint32(rec[0:], uint32(p.ts/1e9))
		binary.LittleEndian.PutUint32(rec[4:], uint32(p.ts%1e9))
		binary.LittleEndian.PutUint32(rec[8:], uint32(len(p.data)))
		binary.LittleEndian.PutUint32(rec[12:], p.wireLen)
		b.Write(rec)
		b.Write(p.data)
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// sameSelection compares what Filter selected with what tcpdump wrote: same
// packets in the same order, with the same wire lengths and bytes. Timestamps are
// left out: they identify nothing more here, and tcpdump -w rewrites them (to
// microseconds, and its own way for the corpus's invalid ones), which is the
// reader's and writer's business, tested there.
func sameSelection(ours, theirs []testPacket) error {
	if len(ours) != len(theirs) {
		var nums []uint64
		for _, p := range ours {
			nums = append(nums, p.num)
		}
		return fmt.Errorf("we select %d packets %v, tcpdump %d", len(ours), nums, len(theirs))
	}
	for i := range ours {
		o, th := ours[i], theirs[i]
		if o.wireLen != th.wireLen || !bytes.Equal(o.data, th.data) {
			return fmt.Errorf("selected packet %d (our packet number %d) differs: wire length %d/%d, caplen %d/%d",
				i+1, o.num, o.wireLen, th.wireLen, len(o.data), len(th.data))
		}
	}
	return nil
}

// TestCorpusAgainstTcpdump: for every corpus capture and every expression, the
// packets Filter selects are exactly those tcpdump -r F -w - EXPR writes. A file
// whose interfaces have different link types (which tcpdump refuses) is split
// into one pcap per link type and snaplen, each compared on its own.
func TestCorpusAgainstTcpdump(t *testing.T) {
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Skip("tcpdump not installed: it is the reference (apt-get install tcpdump)")
	}
	dir := corpusDir(t)
	files, _ := filepath.Glob(filepath.Join(dir, "pcap", "*"))
	if len(files) == 0 {
		t.Fatalf("no captures in %s/pcap", dir)
	}
	tmp := t.TempDir()
	compared := 0
	for _, path := range files {
		name := filepath.Base(path)
		r, err := reader.Open(path)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		pkts, readErr := readCapture(r)
		r.Close()
		host := hostOf(t, dir, name)

		type group struct {
			linkType uint16
			snaplen  uint32
		}
		groups := map[group][]testPacket{}
		var order []group
		linkTypes := map[uint16]bool{}
		for _, p := range pkts {
			g := group{p.linkType, p.snaplen}
			if _, ok := groups[g]; !ok {
				order = append(order, g)
			}
			groups[g] = append(groups[g], p)
			linkTypes[p.linkType] = true
		}
		for _, e := range corpusExprs {
			if strings.Contains(e, "%HOST%") {
				if host == "" {
					continue
				}
				e = strings.ReplaceAll(e, "%HOST%", host)
			}
			f, err := Compile(e)
			if err != nil {
				t.Fatalf("Compile(%q): %v", e, err)
			}
			if len(linkTypes) <= 1 {
				theirs, complaint := tcpdumpSelect(t, tcpdump, path, e)
				compareOne(t, name, e, f, pkts, theirs, complaint, readErr)
			} else {
				for _, g := range order {
					part := filepath.Join(tmp, fmt.Sprintf("%s.%d.%d.pcap", name, g.linkType, g.snaplen))
					if err := writePcap(part, g.linkType, g.snaplen, groups[g]); err != nil {
						t.Fatal(err)
					}
					theirs, complaint := tcpdumpSelect(t, tcpdump, part, e)
					f, _ := Compile(e) // a fresh one: Err is per part here
					compareOne(t, fmt.Sprintf("%s (link type %d part)", name, g.linkType), e, f, groups[g], theirs, complaint, nil)
				}
			}
			compared++
		}
	}
	t.Logf("%d (capture, expression) pairs compared with tcpdump, %d of them refused by libpcap for the link type", compared, refusedPairs)
	if refusedPairs == 0 {
		t.Error("no expression was refused for any link type: the Err path went untested")
	}
}

// refusedPairs counts (capture, expression) pairs libpcap refused for a link type.
var refusedPairs int

func compareOne(t *testing.T, name, expr string, f *Filter, pkts, theirs []testPacket, complaint string, readErr error) {
	t.Helper()
	var ours []testPacket
	for _, p := range pkts {
		if f.MatchData(p.linkType, p.snaplen, p.data, p.wireLen) {
			// libpcap cuts packets longer than the file's snapshot length, so
			// tcpdump writes them cut: compare with what the filter saw.
			if snap := Snapshot(p.linkType, p.snaplen); uint32(len(p.data)) > snap {
				p.data = p.data[:snap]
			}
			ours = append(ours, p)
		}
	}
	if err := f.Err(); err != nil {
		// libpcap refused the expression for this link type: so must tcpdump have,
		// with the same message, and nothing may match.
		var le *LinkTypeError
		if !errors.As(err, &le) || complaint == "" || !strings.Contains(complaint, le.Msg) {
			t.Errorf("%s %q: Err() = %v; tcpdump said %q", name, expr, err, complaint)
		}
		if len(ours) != 0 {
			t.Errorf("%s %q: %d packets matched despite Err() = %v", name, expr, len(ours), err)
		}
		refusedPairs++
		return
	}
	if complaint != "" && readErr == nil {
		t.Errorf("%s %q: tcpdump complained %q, we matched %d packets", name, expr, complaint, len(ours))
		return
	}
	if err := sameSelection(ours, theirs); err != nil {
		t.Errorf("%s %q: %v (tcpdump: %q, reader: %v)", name, expr, err, complaint, readErr)
	}
}
