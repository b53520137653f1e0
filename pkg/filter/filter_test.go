package filter

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pcaptk/pcaptk/pkg/reader"
)

// TestSyntaxErrorQuotesLibpcap: a refused expression is a *SyntaxError whose
// message is what tcpdump prints for it (after libpcap's "can't parse filter
// expression: " preamble).
func TestSyntaxErrorQuotesLibpcap(t *testing.T) {
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Skip("tcpdump not installed: it is the reference (apt-get install tcpdump)")
	}
	file := filepath.Join(corpusDir(t), "pcap", "ssh.pcap")
	for _, expr := range []string{
		"tcp prot 80",
		"(tcp",
		"port 99999",
		"len / 0 = 1",
		"len % 0 = 1",
		"ip[0] << 40 = 0",
		"ether host 1:2:3",
		"vlan 5000",
		"net 10.0.0.1/8",
		"frobnicate",
		"tcp[tcpflags] & tcp-frob != 0",
	} {
		_, err := Compile(expr)
		var se *SyntaxError
		if !errors.As(err, &se) {
			t.Errorf("Compile(%q) = %v, want a *SyntaxError", expr, err)
			continue
		}
		out, _ := exec.Command(tcpdump, "-r", file, expr).CombinedOutput()
		var complaint string
		for _, l := range strings.Split(string(out), "\n") {
			if strings.HasPrefix(l, "tcpdump: ") {
				complaint = strings.TrimPrefix(l, "tcpdump: ")
			}
		}
		if complaint == "" || !strings.HasSuffix(complaint, se.Msg) || se.Expr != expr {
			t.Errorf("Compile(%q): %v; tcpdump says %q", expr, err, complaint)
		}
		if want := `filter "` + expr + `": ` + se.Msg; err.Error() != want {
			t.Errorf("Compile(%q) error = %q, want %q", expr, err.Error(), want)
		}
	}
	if _, err := Compile("tcp\x00 and garbage"); !errors.As(err, new(*SyntaxError)) {
		t.Errorf("an expression with a NUL byte: %v", err)
	}
	_, err = Compile("tcp prot 80")
	if err == nil || err.Error() != `filter "tcp prot 80": syntax error` {
		t.Errorf("Compile(tcp prot 80) = %v", err)
	}
}

func TestEmptyMatchesEverything(t *testing.T) {
	for _, expr := range []string{"", "  ", "\n"} {
		f, err := Compile(expr)
		if err != nil {
			t.Fatal(err)
		}
		// Even an unknown link type and an empty packet.
		if !f.MatchData(65000, 0, nil, 0) || !f.Match(&reader.Packet{LinkType: 1}) || f.Err() != nil {
			t.Errorf("Compile(%q) does not match everything", expr)
		}
	}
}

// ethTCP is an Ethernet/IPv4/TCP SYN from 10.0.0.1:1234 to 10.0.0.2:80.
var ethTCP = []byte{
	0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0x08, 0x00, // ethernet
	0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2, // ipv4
	0x04, 0xd2, 0, 80, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0, // tcp
}

func TestMatchLinkTypes(t *testing.T) {
	f, err := Compile("tcp dst port 80")
	if err != nil {
		t.Fatal(err)
	}
	raw := ethTCP[14:]
	cases := []struct {
		name     string
		linkType uint16
		snaplen  uint32
		data     []byte
		want     bool
	}{
		{"ethernet", 1, 65535, ethTCP, true},
		{"ethernet snaplen 0", 1, 0, ethTCP, true},
		{"LINKTYPE_RAW 101 (DLT_RAW 12 on Linux)", 101, 65535, raw, true},
		{"LINKTYPE_IPV4 228", 228, 65535, raw, true},
		{"ethernet data on raw", 101, 65535, ethTCP, false},
		{"cut before the port", 1, 65535, ethTCP[:36], false},
		// libpcap cuts a packet at its file's snaplen before filtering.
		{"snaplen hides the port", 1, 36, ethTCP, false},
	}
	for _, c := range cases {
		p := &reader.Packet{Data: c.data, CapLen: uint32(len(c.data)), WireLen: uint32(len(c.data)), LinkType: c.linkType, Snaplen: c.snaplen}
		if got := f.Match(p); got != c.want {
			t.Errorf("%s: Match = %v, want %v", c.name, got, c.want)
		}
	}
	if f.Err() != nil {
		t.Errorf("Err = %v", f.Err())
	}
	if len(f.cache) != 3 {
		t.Errorf("%d compiled programs cached, want one per link type: 3", len(f.cache))
	}
}

func TestLenIsWireLength(t *testing.T) {
	f, err := Compile("greater 1000")
	if err != nil {
		t.Fatal(err)
	}
	if !f.MatchData(1, 96, ethTCP, 1500) || f.MatchData(1, 96, ethTCP, 54) {
		t.Error("len must be the wire length, not the captured length")
	}
}

// TestErrForLinkType: an expression valid on Ethernet but not on another link
// type met later: those packets do not match, Err keeps the first refusal, and
// other link types go on matching.
func TestErrForLinkType(t *testing.T) {
	f, err := Compile("ether src 06:07:08:09:0a:0b")
	if err != nil {
		t.Fatal(err)
	}
	if !f.MatchData(1, 0, ethTCP, 54) {
		t.Error("ethernet packet does not match")
	}
	if f.MatchData(101, 0, ethTCP[14:], 40) || f.MatchData(228, 0, ethTCP[14:], 40) {
		t.Error("packets of a link type libpcap cannot filter matched")
	}
	var le *LinkTypeError
	if !errors.As(f.Err(), &le) || le.LinkType != 101 || !strings.Contains(le.Error(), "link type 101") ||
		!strings.Contains(le.Msg, "ethernet addresses supported only on") {
		t.Errorf("Err = %v, want the refusal for link type 101", f.Err())
	}
	if !f.MatchData(1, 0, ethTCP, 54) {
		t.Error("ethernet packet no longer matches after another link type was refused")
	}
}

// TestSnapshot: the snapshot length is the one tcpdump reports for a file with
// that link type and snaplen.
func TestSnapshot(t *testing.T) {
	tcpdump, err := exec.LookPath("tcpdump")
	if err != nil {
		t.Skip("tcpdump not installed: it is the reference (apt-get install tcpdump)")
	}
	dir := t.TempDir()
	for _, c := range []struct {
		linkType uint16
		snaplen  uint32
	}{{1, 65535}, {1, 0}, {1, 1 << 30}, {1, 300000}, {1, 1<<31 - 1}, {1, 1<<31 + 5}, {101, 96},
		{113, 0}, {220, 0}, {220, 1<<31 + 5}, {189, 0}, {279, 0}, {231, 0}} {
		file := filepath.Join(dir, "x.pcap")
		if err := writePcap(file, c.linkType, c.snaplen, nil); err != nil {
			t.Fatal(err)
		}
		out, _ := exec.Command(tcpdump, "-r", file).CombinedOutput()
		_, after, ok := strings.Cut(string(out), "snapshot length ")
		want, err := strconv.ParseUint(strings.TrimSpace(after), 10, 32)
		if !ok || err != nil {
			t.Fatalf("tcpdump -r (link type %d, snaplen %d): %s", c.linkType, c.snaplen, out)
		}
		if got := Snapshot(c.linkType, c.snaplen); got != uint32(want) {
			t.Errorf("Snapshot(%d, %d) = %d, tcpdump says %d", c.linkType, c.snaplen, got, want)
		}
	}
	// A link type unknown to libpcap (tcpdump refuses the file): the header's
	// snaplen, or the usual maximum for 0.
	if a, b := Snapshot(65000, 5), Snapshot(65000, 0); a != 5 || b != MaxSnaplen {
		t.Errorf("Snapshot on an unknown link type = %d, %d; want 5, %d", a, b, MaxSnaplen)
	}
}

func TestMatchAllocatesNothing(t *testing.T) {
	f, err := Compile("tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420 or ip6 protochain 6")
	if err != nil {
		t.Fatal(err)
	}
	p := &reader.Packet{Data: ethTCP, WireLen: 54, LinkType: 1, Snaplen: 65535}
	f.Match(p)
	if n := testing.AllocsPerRun(1000, func() { f.Match(p) }); n != 0 {
		t.Errorf("Match allocates %v times a packet", n)
	}
}

// TestCompileOtherLinkTypes: expressions that only some link types take compile,
// and fail per packet (with Err) on the others, as tcpdump fails per file.
func TestCompileOtherLinkTypes(t *testing.T) {
	for _, c := range []struct {
		expr     string
		linkType uint16 // one that takes it
	}{
		{"inbound", 113},
		{"ifindex 2", 276},
		{"wlan type mgt", 127},
		{"vpi 1", 123},
		{"rulenum 3", 117},
	} {
		f, err := Compile(c.expr)
		if err != nil {
			t.Errorf("Compile(%q): %v", c.expr, err)
			continue
		}
		f.MatchData(c.linkType, 0, ethTCP, 54)
		if f.Err() != nil {
			t.Errorf("%q on link type %d: %v", c.expr, c.linkType, f.Err())
		}
		if f.MatchData(1, 0, ethTCP, 54) || f.Err() == nil {
			t.Errorf("%q on Ethernet: matched or no Err", c.expr)
		}
	}
}

// TestSnaplenOnlyInReturns backs the cache's premise: libpcap's program for a
// snaplen differs from its program for snaplen 0 only in the value accepting
// returns give, so one program per link type decides for every snaplen.
func TestSnaplenOnlyInReturns(t *testing.T) {
	for _, lt := range []uint16{1, 101, 113, 276, 0} {
		for _, e := range corpusExprs {
			e = strings.ReplaceAll(e, "%HOST%", "10.1.2.3")
			base, _, err := compileLibpcap(lt, 0, e)
			if err != nil {
				continue
			}
			for _, snaplen := range []uint32{1, 68, 96, 1500, 65535, 1 << 30} {
				ins, _, err := compileLibpcap(lt, snaplen, e)
				if err != nil || len(ins) != len(base) {
					t.Errorf("link type %d %q: snaplen %d gives %d instructions (%v), 0 gives %d", lt, e, snaplen, len(ins), err, len(base))
					continue
				}
				for i := range ins {
					a, b := ins[i], base[i]
					if a.Op == retK && (a.K == 0) == (b.K == 0) {
						continue
					}
					if a != b {
						t.Errorf("link type %d %q snaplen %d: instruction %d is %+v, %+v for snaplen 0", lt, e, snaplen, i, a, b)
						break
					}
				}
			}
		}
	}
}
