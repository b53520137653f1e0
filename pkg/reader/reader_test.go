package reader

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

var (
	le = binary.LittleEndian
	be = binary.BigEndian
)

// want is what a test expects of one packet.
type want struct {
	ts       int64
	data     []byte
	wirelen  uint32
	iface    int
	linkType uint16
	snaplen  uint32
}

func readAll(t *testing.T, r *Reader) ([]Packet, error) {
	t.Helper()
	var ps []Packet
	for {
		p, err := r.NextCopy()
		if err != nil {
			if err == io.EOF {
				return ps, nil
			}
			return ps, err
		}
		ps = append(ps, p)
	}
}

func checkPackets(t *testing.T, got []Packet, wants []want) {
	t.Helper()
	if len(got) != len(wants) {
		t.Fatalf("got %d packets, want %d", len(got), len(wants))
	}
	for i, w := range wants {
		p := got[i]
		if p.Number != uint64(i+1) {
			t.Errorf("packet %d: Number %d", i+1, p.Number)
		}
		if p.Timestamp != w.ts {
			t.Errorf("packet %d: Timestamp %d, want %d", i+1, p.Timestamp, w.ts)
		}
		if !bytes.Equal(p.Data, w.data) || p.CapLen != uint32(len(w.data)) {
			t.Errorf("packet %d: data %x (caplen %d), want %x", i+1, p.Data, p.CapLen, w.data)
		}
		if p.WireLen != w.wirelen {
			t.Errorf("packet %d: WireLen %d, want %d", i+1, p.WireLen, w.wirelen)
		}
		if p.Iface != w.iface || p.LinkType != w.linkType || p.Snaplen != w.snaplen {
			t.Errorf("packet %d: iface %d linktype %d snaplen %d, want %d %d %d",
				i+1, p.Iface, p.LinkType, p.Snaplen, w.iface, w.linkType, w.snaplen)
		}
	}
}

func TestPcap(t *testing.T) {
	d1, d2, d3 := payload(60, 1), payload(1514, 7), payload(0, 0)
	for _, tc := range []struct {
		name     string
		bo       order
		nano     bool
		snaplen  uint32
		linkType uint32 // as written, FCS bits included
		wantLT   uint16
	}{
		{"micro-le", le, false, 65535, 1, 1},
		{"micro-be", be, false, 65535, 1, 1},
		{"nano-le", le, true, 262144, 113, 113},
		{"nano-be", be, true, 262144, 276, 276},
		{"snaplen-0", le, false, 0, 1, 1},
		{"caplen-above-snaplen", be, false, 64, 1, 1},
		{"fcs-bits-masked", le, false, 65535, 0x300000e5, 229},
	} {
		t.Run(tc.name, func(t *testing.T) {
			scale := int64(1000)
			frac2 := uint32(999999)
			if tc.nano {
				scale, frac2 = 1, 999999999
			}
			b := newPcap(tc.bo, tc.nano, tc.snaplen, tc.linkType).
				add(1700000000, 5, d1, 60).
				add(1700000001, frac2, d2, 9000).
				add(0, 0, d3, 0).b
			r, err := NewReader(bytes.NewReader(b), tc.name)
			if err != nil {
				t.Fatal(err)
			}
			if r.Format() != FormatPcap || r.Nanosecond() != tc.nano {
				t.Errorf("format %v nano %v", r.Format(), r.Nanosecond())
			}
			ifs := r.Interfaces()
			if len(ifs) != 1 || ifs[0].LinkType != tc.wantLT || ifs[0].Snaplen != tc.snaplen {
				t.Errorf("interfaces %+v", ifs)
			}
			got, err := readAll(t, r)
			if err != nil {
				t.Fatal(err)
			}
			checkPackets(t, got, []want{
				{1700000000*1e9 + 5*scale, d1, 60, 0, tc.wantLT, tc.snaplen},
				{1700000001*1e9 + int64(frac2)*scale, d2, 9000, 0, tc.wantLT, tc.snaplen},
				{0, d3, 0, 0, tc.wantLT, tc.snaplen},
			})
			if got[0].Offset != 24 || got[1].Offset != 24+16+60 {
				t.Errorf("offsets %d %d", got[0].Offset, got[1].Offset)
			}
			if r.Offset() != int64(len(b)) {
				t.Errorf("Offset() %d, want %d", r.Offset(), len(b))
			}
		})
	}
}

func TestPcapng(t *testing.T) {
	d := func(n int, s byte) []byte { return payload(n, s) }
	// Section 1, little-endian: two interfaces with different link types, one in
	// nanoseconds with an offset; an unknown block; EPB, SPB and obsolete PB.
	// Section 2, big-endian: an interface in 2^-20 s units.
	b := newPcapng().section(le, "TestOS 1").
		iface(1, 0, strOpt(optIfName, "eth0"), strOpt(optIfDesc, "first"),
			ngOpt{optIfFilter, append([]byte{0}, "tcp port 80"...)}).
		block(0x0bad, []byte("an unknown block")).
		iface(113, 96, ngOpt{optIfTSResol, []byte{9}}, newPcapng().section(le, "").u64Opt(optIfTSOffset, 10)).
		epb(0, 1700000000_123456, d(60, 1), 60).
		epb(1, 1700000000_123456789, d(80, 2), 80).
		spb(d(70, 3), 1000). // interface 0 has snaplen 0: caplen = block data = 70? see below
		opb(1, 5_000000000, d(10, 4), 10).
		block(0x40000bad, []byte("custom block")).
		section(be, "TestOS 2").
		iface(276, 128, ngOpt{optIfTSResol, []byte{0x80 | 20}}).
		spb(d(200, 5), 1500). // snaplen 128 cuts it
		epb(0, 3<<20|1<<19, d(4, 6), 4).b
	r, err := NewReader(bytes.NewReader(b), "ng")
	if err != nil {
		t.Fatal(err)
	}
	if r.Format() != FormatPcapNG || !r.Nanosecond() {
		t.Errorf("format %v nano %v", r.Format(), r.Nanosecond())
	}
	if n := len(r.Interfaces()); n != 2 {
		t.Errorf("%d interfaces known at open, want the 2 before the first packet", n)
	}
	got, err := readAll(t, r)
	if err != nil {
		t.Fatal(err)
	}
	// SPB of section 1: 70 data bytes, wirelen 1000 and no snaplen. A simple packet
	// block has no captured length, so its 2 bytes of padding cannot be told from data:
	// caplen is the whole 72-byte data area, as the pcapng spec (and Wireshark) read it.
	checkPackets(t, got, []want{
		{1700000000_123456000, d(60, 1), 60, 0, 1, 0},
		{1700000000_123456789 + 10e9, d(80, 2), 80, 1, 113, 96},
		{0, append(d(70, 3), 0, 0), 1000, 0, 1, 0},
		{5e9 + 10e9, d(10, 4), 10, 1, 113, 96},
		{0, d(128, 5), 1500, 2, 276, 128},
		{3_500000000, d(4, 6), 4, 2, 276, 128},
	})
	ifs := r.Interfaces()
	if len(ifs) != 3 {
		t.Fatalf("interfaces %+v", ifs)
	}
	w0 := Interface{LinkType: 1, Name: "eth0", Description: "first", Filter: "tcp port 80", OS: "TestOS 1", TSResol: 1e6}
	w1 := Interface{LinkType: 113, Snaplen: 96, OS: "TestOS 1", TSResol: 1e9, TSOffset: 10, SectionID: 1}
	w2 := Interface{LinkType: 276, Snaplen: 128, OS: "TestOS 2", TSResol: 1 << 20, Section: 1}
	for i, w := range []Interface{w0, w1, w2} {
		if ifs[i] != w {
			t.Errorf("interface %d: %+v, want %+v", i, ifs[i], w)
		}
	}
}

func TestPcapngSPBPadding(t *testing.T) {
	// wirelen smaller than the padded block data: caplen must not include padding.
	b := newPcapng().section(le, "").iface(1, 0).spb(payload(61, 0), 61).b
	r, err := NewReader(bytes.NewReader(b), "spb")
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, r)
	if err != nil {
		t.Fatal(err)
	}
	checkPackets(t, got, []want{{0, payload(61, 0), 61, 0, 1, 0}})
}

func TestTimestampUnits(t *testing.T) {
	for _, tc := range []struct {
		resol byte
		raw   uint64
		want  int64
	}{
		{6, 1_500000, 1_500000000},
		{9, 1_500000001, 1_500000001},
		{3, 1_500, 1_500000000},
		{0, 7, 7e9},
		{12, 1_500000000001, 1_500000000},      // picoseconds: truncated to ns
		{0x80 | 10, 3*1024 + 512, 3_500000000}, // 2^-10
		{0x80 | 0, 2, 2e9},
		{0x80 | 63, 1 << 62, 500000000},
		{19, 10000000000000000000, 1e9},
	} {
		u, ok := tsResolUnits(tc.resol)
		if !ok {
			t.Errorf("resol %#x rejected", tc.resol)
			continue
		}
		c := tsConv{units: u}
		if got := c.nanos(tc.raw); got != tc.want {
			t.Errorf("resol %#x raw %d: %d ns, want %d", tc.resol, tc.raw, got, tc.want)
		}
	}
	for _, bad := range []byte{20, 127} {
		if _, ok := tsResolUnits(bad); ok {
			t.Errorf("resol %#x accepted", bad)
		}
	}
}

func TestGzip(t *testing.T) {
	raw := newPcap(le, false, 65535, 1).add(1, 2, payload(100, 0), 100).add(3, 4, payload(50, 1), 50).b
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(raw)
	zw.Close()
	dir := t.TempDir()
	path := filepath.Join(dir, "x.pcap.gz")
	if err := os.WriteFile(path, z.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if r.Size() != -1 {
		t.Errorf("Size %d for gzip input, want -1", r.Size())
	}
	got, err := readAll(t, r)
	if err != nil || len(got) != 2 || !bytes.Equal(got[1].Data, payload(50, 1)) {
		t.Fatalf("got %d packets, err %v", len(got), err)
	}
	// A cut gzip stream is a truncated capture, not a clean end.
	r2, err := NewReader(bytes.NewReader(z.Bytes()[:z.Len()-20]), "cut.gz")
	if err != nil {
		t.Fatal(err)
	}
	_, err = readAll(t, r2)
	if !errors.Is(err, ErrTruncated) {
		t.Errorf("cut gzip: %v, want ErrTruncated", err)
	}
}

func TestOpenFile(t *testing.T) {
	raw := newPcap(le, false, 65535, 1).add(1, 2, payload(100, 0), 100).b
	path := filepath.Join(t.TempDir(), "a.pcap")
	os.WriteFile(path, raw, 0o644)
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if r.Size() != int64(len(raw)) || r.Name() != path {
		t.Errorf("Size %d Name %q", r.Size(), r.Name())
	}
	if err := r.Close(); err != nil {
		t.Error(err)
	}

	missing := filepath.Join(t.TempDir(), "nope.pcap")
	_, err = Open(missing)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), missing) {
		t.Errorf("missing file: %v", err)
	}
}

func TestBigRecordAndSmallReads(t *testing.T) {
	big := payload(300000, 9)
	pc := newPcap(le, true, 0, 1).add(1, 1, payload(10, 0), 10).add(2, 2, big, 300000).add(3, 3, payload(20, 1), 20).b
	ng := newPcapng().section(be, "").iface(1, 0).epb(0, 1, payload(10, 0), 10).epb(0, 2, big, 300000).epb(0, 3, payload(20, 1), 20).b
	for name, b := range map[string][]byte{"pcap": pc, "pcapng": ng} {
		for _, src := range []struct {
			how string
			r   io.Reader
		}{
			{"whole", bytes.NewReader(b)},
			{"one-byte", iotest.OneByteReader(bytes.NewReader(b))},
			{"half", iotest.HalfReader(bytes.NewReader(b))},
		} {
			r, err := NewReaderWith(src.r, name, Options{MaxRecord: 1 << 20, BufferSize: 4096})
			if err != nil {
				t.Fatal(err)
			}
			got, err := readAll(t, r)
			if err != nil || len(got) != 3 || !bytes.Equal(got[1].Data, big) || !bytes.Equal(got[2].Data, payload(20, 1)) {
				t.Errorf("%s %s: %d packets, err %v", name, src.how, len(got), err)
			}
		}
	}
}

// TestBadInput checks each kind of damage: which sentinel, which packet number and
// byte offset the error names, and that every complete packet before it came out.
func TestBadInput(t *testing.T) {
	good := payload(40, 0)
	pcap2 := newPcap(le, false, 65535, 1).add(1, 0, good, 40).add(2, 0, good, 40).b // 24 + 2*56 = 136 bytes
	ng := newPcapng().section(le, "").iface(1, 0)
	ngHead := len(ng.b)
	ng2 := ng.epb(0, 1, good, 40).epb(0, 2, good, 40).b // EPB is 12+20+40 = 72 bytes
	cat := func(bs ...[]byte) []byte { return bytes.Join(bs, nil) }
	corruptTrailer := cat(ng2[:len(ng2)-4], []byte{1, 0, 0, 0})
	badLen := cat(ng2[:ngHead+72], le.AppendUint32(le.AppendUint32(nil, blockEPB), 30), make([]byte, 26))
	hugeBlock := cat(ng2[:ngHead+72], le.AppendUint32(le.AppendUint32(nil, blockEPB), 0xfffffff0))
	capOverrun := cat(ng2[:ngHead+72], newPcapng().section(le, "").iface(1, 0).epb(0, 3, good, 40).b[ngHead:])
	binary.LittleEndian.PutUint32(capOverrun[ngHead+72+20:], 100) // caplen 100 in a 40-byte block
	noIface := cat(ng2[:ngHead+72], newPcapng().section(le, "").iface(1, 0).epb(5, 3, good, 40).b[ngHead:])
	for _, tc := range []struct {
		name     string
		in       []byte
		sentinel error
		packets  int // complete packets before the error
		pkt      uint64
		off      int64
	}{
		{"empty", nil, ErrNotCapture, 0, 0, 0},
		{"text", []byte("GET / HTTP/1.1\r\n\r\n"), ErrNotCapture, 0, 0, 0},
		{"pcap-header-cut", pcap2[:20], ErrTruncated, 0, 0, 0},
		{"pcap-record-header-cut", pcap2[:24+56+10], ErrTruncated, 1, 2, 80},
		{"pcap-record-data-cut", pcap2[:len(pcap2)-1], ErrTruncated, 1, 2, 80},
		{"pcap-huge-caplen", newPcap(be, false, 65535, 1).add(1, 0, good, 40).raw(2, 0, 0xfffffff0, 40, good).b, ErrTooLarge, 1, 2, 80},
		{"pcapng-shb-cut", ng2[:20], ErrTruncated, 0, 0, 0},
		{"pcapng-bad-bom", cat(ng2[:8], []byte{1, 2, 3, 4}, ng2[12:]), ErrNotCapture, 0, 0, 0},
		{"pcapng-block-header-cut", ng2[:ngHead+72+5], ErrTruncated, 1, 2, int64(ngHead + 72)},
		{"pcapng-block-cut", ng2[:len(ng2)-4], ErrTruncated, 1, 2, int64(ngHead + 72)},
		{"pcapng-idb-cut", ng2[:ngHead-3], ErrTruncated, 0, 1, 28},
		{"pcapng-trailer-mismatch", corruptTrailer, ErrCorrupt, 1, 2, int64(ngHead + 72)},
		{"pcapng-length-not-multiple-of-4", badLen, ErrCorrupt, 1, 2, int64(ngHead + 72)},
		{"pcapng-huge-block", hugeBlock, ErrTooLarge, 1, 2, int64(ngHead + 72)},
		{"pcapng-caplen-overruns-block", capOverrun, ErrCorrupt, 1, 2, int64(ngHead + 72)},
		{"pcapng-undefined-interface", noIface, ErrCorrupt, 1, 2, int64(ngHead + 72)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []Packet
			r, err := NewReader(bytes.NewReader(tc.in), tc.name)
			if err == nil {
				got, err = readAll(t, r)
			}
			if !errors.Is(err, tc.sentinel) {
				t.Fatalf("error %v, want %v", err, tc.sentinel)
			}
			var pe *PacketError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *PacketError", err)
			}
			if pe.File != tc.name || pe.Packet != tc.pkt || pe.Offset != tc.off {
				t.Errorf("error names file %q packet %d offset %d, want %q %d %d (%v)", pe.File, pe.Packet, pe.Offset, tc.name, tc.pkt, tc.off, err)
			}
			if len(got) != tc.packets {
				t.Errorf("%d packets before the error, want %d", len(got), tc.packets)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error spans lines: %q", err)
			}
			if r != nil {
				if _, err2 := r.Next(); err2 != err {
					t.Errorf("Next after error: %v, want the same error again", err2)
				}
			}
		})
	}
}

func TestMaxRecordNotAllocated(t *testing.T) {
	// A header claiming 60 MiB (under the limit) in a tiny file must not make the
	// reader allocate 60 MiB: the buffer grows only with data actually present.
	b := newPcap(le, false, 65535, 1).raw(1, 0, 60<<20, 60<<20, payload(100, 0)).b
	var before, after runtimeMem
	before.read()
	r, err := NewReaderWith(bytes.NewReader(b), "lie", Options{MaxRecord: 64 << 20, BufferSize: 4096})
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Next()
	after.read()
	if !errors.Is(err, ErrTruncated) {
		t.Fatalf("error %v, want ErrTruncated", err)
	}
	if grew := after.total - before.total; grew > 1<<20 {
		t.Errorf("allocated %d bytes for a 140-byte file", grew)
	}
}

func TestZeroAllocs(t *testing.T) {
	pc := newPcap(le, false, 65535, 1)
	ng := newPcapng().section(le, "").iface(1, 0, ngOpt{optIfTSResol, []byte{9}}).iface(113, 0)
	for i := 0; i < 3000; i++ {
		pc.add(uint32(i), 0, payload(60+i%1400, byte(i)), 1500)
		ng.epb(uint32(i%2), uint64(i)*1e9, payload(60+i%1400, byte(i)), 1500)
		if i%7 == 0 {
			ng.spb(payload(100, 0), 100)
			ng.block(0x0bad, payload(20, 0))
		}
	}
	for name, b := range map[string][]byte{"pcap": pc.b, "pcapng": ng.b} {
		r, err := NewReaderWith(bytes.NewReader(b), name, Options{BufferSize: 64 << 10})
		if err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(2000, func() {
			if _, err := r.Next(); err != nil {
				t.Fatal(err)
			}
		})
		if allocs != 0 {
			t.Errorf("%s: %v allocations per packet, want 0", name, allocs)
		}
	}
}

func TestStdin(t *testing.T) {
	raw := newPcap(be, true, 65535, 1).add(1, 2, payload(100, 0), 100).b
	path := filepath.Join(t.TempDir(), "in.pcap")
	os.WriteFile(path, raw, 0o644)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	saved := os.Stdin
	os.Stdin = f
	defer func() { os.Stdin = saved }()

	r, err := Open("-")
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, r)
	if err != nil || len(got) != 1 || got[0].Timestamp != 1e9+2 {
		t.Fatalf("%d packets, err %v", len(got), err)
	}
	if r.Name() != "-" || r.Size() != int64(len(raw)) {
		t.Errorf("Name %q Size %d", r.Name(), r.Size())
	}
	r.Close()
	if _, err := f.Stat(); err != nil {
		t.Errorf("Close closed standard input: %v", err)
	}
}

// TestPcapModified reads the "modified" pcap format of Alexey Kuznetzov's patched
// libpcap, whose records carry 8 more header bytes (ifindex, protocol, type).
func TestPcapModified(t *testing.T) {
	for _, bo := range []order{le, be} {
		b := newPcap(bo, false, 65535, 1).b
		bo.PutUint32(b, pcapMagicModified)
		for i, d := range [][]byte{payload(20, 1), payload(30, 2)} {
			b = bo.AppendUint32(b, uint32(i+1))
			b = bo.AppendUint32(b, 7)
			b = bo.AppendUint32(b, uint32(len(d)))
			b = bo.AppendUint32(b, uint32(len(d)))
			b = append(b, 1, 2, 3, 4, 0, 8, 0, 0) // ifindex, protocol, pkt_type, pad
			b = append(b, d...)
		}
		r, err := NewReader(bytes.NewReader(b), "modified")
		if err != nil {
			t.Fatal(err)
		}
		got, err := readAll(t, r)
		if err != nil {
			t.Fatal(err)
		}
		checkPackets(t, got, []want{
			{1e9 + 7000, payload(20, 1), 20, 0, 1, 65535},
			{2e9 + 7000, payload(30, 2), 30, 0, 1, 65535},
		})
	}
}

func TestInterfaceLimits(t *testing.T) {
	ng := newPcapng().section(le, strings.Repeat("o", 5000))
	for i := 0; i < maxInterfaces; i++ {
		ng.iface(1, 0)
	}
	ng.epb(maxInterfaces-1, 1, payload(10, 0), 10)
	ng.iface(1, 0, strOpt(optIfName, strings.Repeat("n", 60000)))
	r, err := NewReader(bytes.NewReader(ng.b), "many")
	if err != nil {
		t.Fatal(err)
	}
	p, err := r.Next()
	if err != nil || p.Iface != maxInterfaces-1 {
		t.Fatalf("packet on the last allowed interface: %v", err)
	}
	if os := r.Interfaces()[0].OS; len(os) != maxOptString {
		t.Errorf("shb_os kept %d bytes, want it cut to %d", len(os), maxOptString)
	}
	if _, err := r.Next(); !errors.Is(err, ErrCorrupt) {
		t.Errorf("interface %d: %v, want ErrCorrupt", maxInterfaces+1, err)
	}
}
