package writer

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/pcaptk/pcaptk/pkg/reader"
)

// testPackets are packets with odd lengths (padding), truncation (CapLen < WireLen),
// an empty one, nanosecond digits and two interfaces.
func testPackets() []reader.Packet {
	var ps []reader.Packet
	base := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC).UnixNano()
	for i, n := range []int{60, 61, 62, 63, 0, 1514, 9000} {
		d := make([]byte, n)
		for j := range d {
			d[j] = byte(i*31 + j)
		}
		ps = append(ps, reader.Packet{
			Data: d, CapLen: uint32(n), WireLen: uint32(n + i*7),
			Timestamp: base + int64(i)*1_234_567_891, Iface: i % 2, LinkType: 1, Snaplen: 65535,
			Number: uint64(i + 1),
		})
	}
	return ps
}

func TestPcapRoundTrip(t *testing.T) {
	for _, nano := range []bool{false, true} {
		var buf bytes.Buffer
		w, err := NewPcap(&buf, 1, 65535, nano)
		if err != nil {
			t.Fatal(err)
		}
		ps := testPackets()
		for i := range ps {
			if err := w.WritePacket(&ps[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		if int64(buf.Len()) != w.Size() {
			t.Errorf("Size %d, wrote %d", w.Size(), buf.Len())
		}
		r, err := pcapgo.NewReader(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if r.LinkType() != 1 || r.Snaplen() != 65535 {
			t.Errorf("header: link %d snaplen %d", r.LinkType(), r.Snaplen())
		}
		for i, p := range ps {
			data, ci, err := r.ReadPacketData()
			if err != nil {
				t.Fatalf("nano=%v packet %d: %v", nano, i+1, err)
			}
			want := p.Timestamp
			if !nano {
				want -= want % 1000
			}
			if ci.Timestamp.UnixNano() != want || ci.CaptureLength != len(p.Data) ||
				ci.Length != int(p.WireLen) || !bytes.Equal(data, p.Data) {
				t.Errorf("nano=%v packet %d differs: %v %d %d", nano, i+1, ci.Timestamp, ci.CaptureLength, ci.Length)
			}
		}
		if _, _, err := r.ReadPacketData(); err != io.EOF {
			t.Errorf("after the last packet: %v, want EOF", err)
		}
	}
}

func TestPcapngRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	ifs := []reader.Interface{
		{LinkType: 1, Snaplen: 65535, Name: "eth0", Filter: "tcp port 80", TSResol: 1e9},
		{LinkType: 1, Snaplen: 262144, Name: "eth1", TSResol: 1e6},
	}
	w, err := NewPcapng(&buf, PcapngOptions{AppName: "pcaptk test", Interfaces: ifs})
	if err != nil {
		t.Fatal(err)
	}
	ps := testPackets()
	for i := range ps {
		if err := w.WritePacket(&ps[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WriteStats(0, 10, 3, ps[len(ps)-1].Timestamp); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	raw := buf.Bytes()
	if !bytes.Contains(raw, []byte("pcaptk test")) {
		t.Error("shb_userappl missing")
	}
	r, err := pcapgo.NewNgReader(bytes.NewReader(raw), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range ps {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			t.Fatalf("packet %d: %v", i+1, err)
		}
		want := p.Timestamp
		if p.Iface == 1 { // microsecond interface
			want -= want % 1000
		}
		if ci.Timestamp.UnixNano() != want || ci.CaptureLength != len(p.Data) || ci.Length != int(p.WireLen) ||
			ci.InterfaceIndex != p.Iface || !bytes.Equal(data, p.Data) {
			t.Errorf("packet %d differs: %v %d %d iface %d", i+1, ci.Timestamp, ci.CaptureLength, ci.Length, ci.InterfaceIndex)
		}
	}
	if n := r.NInterfaces(); n != 2 {
		t.Errorf("%d interfaces, want 2", n)
	}
	if ifc, _ := r.Interface(0); ifc.Name != "eth0" || ifc.Filter != "tcp port 80" || ifc.SnapLength != 65535 {
		t.Errorf("interface 0: %+v", ifc)
	}
}

// TestLazyInterface: a packet on an undeclared interface gets a block from its own fields.
func TestLazyInterface(t *testing.T) {
	var buf bytes.Buffer
	w, _ := NewPcapng(&buf, PcapngOptions{})
	p := testPackets()[1] // Iface 1
	if err := w.WritePacket(&p); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if w.Interfaces() != 2 {
		t.Fatalf("%d interfaces declared, want 2", w.Interfaces())
	}
	r, err := pcapgo.NewNgReader(&buf, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	_, ci, err := r.ReadPacketData()
	if err != nil || ci.InterfaceIndex != 1 || ci.Timestamp.UnixNano() != p.Timestamp {
		t.Fatalf("got %+v, %v", ci, err)
	}
}

type failWriter struct{ n int }

func (f *failWriter) Write(b []byte) (int, error) {
	f.n++
	return 0, io.ErrShortWrite
}

// TestStickyError: the first write error comes back from every later call.
func TestStickyError(t *testing.T) {
	fw := &failWriter{}
	w, _ := NewPcap(fw, 1, 0, false)
	p := testPackets()[5]
	var err error
	for i := 0; i < 2000 && err == nil; i++ { // enough to overflow the buffer
		err = w.WritePacket(&p)
	}
	if err != io.ErrShortWrite {
		t.Fatalf("got %v", err)
	}
	if w.WritePacket(&p) != io.ErrShortWrite || w.Close() != io.ErrShortWrite || fw.n != 1 {
		t.Errorf("error not kept, writes %d", fw.n)
	}
}

func TestWritePacketAllocs(t *testing.T) {
	ps := testPackets()
	pw, _ := NewPcap(io.Discard, 1, 0, true)
	nw, _ := NewPcapng(io.Discard, PcapngOptions{Interfaces: []reader.Interface{{LinkType: 1}, {LinkType: 1}}})
	for name, w := range map[string]Sink{"pcap": pw, "pcapng": nw} {
		i := 0
		if a := testing.AllocsPerRun(1000, func() { w.WritePacket(&ps[i%len(ps)]); i++ }); a != 0 {
			t.Errorf("%s: %v allocations per packet", name, a)
		}
	}
}

// TestToolsRead: capinfos and tshark read what the writers write without complaint.
func TestToolsRead(t *testing.T) {
	dir := t.TempDir()
	ps := testPackets()
	write := func(name string, mk func(io.Writer) Sink) string {
		path := filepath.Join(dir, name)
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		w := mk(f)
		for i := range ps {
			if err := w.WritePacket(&ps[i]); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		return path
	}
	files := []string{
		write("u.pcap", func(w io.Writer) Sink { s, _ := NewPcap(w, 1, 65535, false); return s }),
		write("n.pcap", func(w io.Writer) Sink { s, _ := NewPcap(w, 1, 65535, true); return s }),
		write("x.pcapng", func(w io.Writer) Sink { s, _ := NewPcapng(w, PcapngOptions{AppName: "pcaptk"}); return s }),
	}
	checkWithTools(t, files...)
}

func BenchmarkPcapWritePacket(b *testing.B) {
	p := testPackets()[5]
	w, _ := NewPcap(io.Discard, 1, 0, false)
	b.ReportAllocs()
	b.SetBytes(int64(len(p.Data)))
	for b.Loop() {
		w.WritePacket(&p)
	}
}

func BenchmarkPcapngWritePacket(b *testing.B) {
	p := testPackets()[4]
	p.Data = make([]byte, 1514)
	w, _ := NewPcapng(io.Discard, PcapngOptions{})
	b.ReportAllocs()
	b.SetBytes(int64(len(p.Data)))
	for b.Loop() {
		w.WritePacket(&p)
	}
}

// checkWithTools runs capinfos and tshark on each file and fails the test if either
// exits non-zero or prints to stderr. It skips a tool that is not installed.
func checkWithTools(t *testing.T, files ...string) {
	t.Helper()
	for _, tool := range [][]string{{"capinfos"}, {"tshark", "-n", "-r"}} {
		if _, err := exec.LookPath(tool[0]); err != nil {
			t.Logf("%s not installed: not checked", tool[0])
			continue
		}
		for _, f := range files {
			var stderr bytes.Buffer
			cmd := exec.Command(tool[0], append(tool[1:], f)...)
			cmd.Stdout = io.Discard
			cmd.Stderr = &stderr
			err := cmd.Run()
			msg := rootWarning.ReplaceAllString(stderr.String(), "")
			if err != nil || strings.TrimSpace(msg) != "" {
				t.Errorf("%s %s: %v %s", tool[0], f, err, msg)
			}
		}
	}
}

// rootWarning is tshark's notice when run as root (as CI does); not a complaint about the file.
var rootWarning = regexp.MustCompile(`(?m)^Running as user .* This could be dangerous\.\n?`)
