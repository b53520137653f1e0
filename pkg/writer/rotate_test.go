package writer

import (
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"testing"
	"time"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/pcaptk/pcaptk/pkg/reader"
)

// ipPacket builds an Ethernet/IPv4 packet with a TCP (proto 6) or UDP (17) header.
func ipPacket(proto byte, src, dst [4]byte, sport, dport uint16, ts int64, n uint64) reader.Packet {
	d := make([]byte, 14+20+20)
	binary.BigEndian.PutUint16(d[12:], 0x0800)
	ip := d[14:]
	ip[0] = 0x45
	binary.BigEndian.PutUint16(ip[2:], uint16(len(ip)))
	ip[8], ip[9] = 64, proto
	copy(ip[12:], src[:])
	copy(ip[16:], dst[:])
	binary.BigEndian.PutUint16(ip[20:], sport)
	binary.BigEndian.PutUint16(ip[22:], dport)
	if proto == 6 {
		ip[32] = 5 << 4
	} else {
		binary.BigEndian.PutUint16(ip[24:], 20)
	}
	return reader.Packet{Data: d, CapLen: uint32(len(d)), WireLen: uint32(len(d)), Timestamp: ts,
		LinkType: 1, Snaplen: 65535, Number: n}
}

// readAll returns the packets of a pcap or pcapng file as (timestamp, first data byte pattern).
func readAll(t *testing.T, path string) []reader.Packet {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ps []reader.Packet
	var next func() ([]byte, int64, error)
	if filepath.Ext(path) == ".pcapng" {
		r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		next = func() ([]byte, int64, error) {
			d, ci, err := r.ReadPacketData()
			return d, ci.Timestamp.UnixNano(), err
		}
	} else {
		r, err := pcapgo.NewReader(f)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		next = func() ([]byte, int64, error) {
			d, ci, err := r.ReadPacketData()
			return d, ci.Timestamp.UnixNano(), err
		}
	}
	for {
		d, ts, err := next()
		if err == io.EOF {
			return ps
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		ps = append(ps, reader.Packet{Data: d, Timestamp: ts})
	}
}

func TestRotatingPackets(t *testing.T) {
	dir := t.TempDir()
	base := time.Date(2024, 3, 1, 12, 0, 0, 0, time.Local).UnixNano()
	var closed []string
	r, err := NewRotating(RotateOptions{Path: filepath.Join(dir, "out.pcap"), MaxPackets: 10, Nano: true,
		OnClose: func(p string) { closed = append(closed, p) }})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 25; i++ {
		p := ipPacket(6, [4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}, 1000, 80, base+int64(i)*int64(time.Second), uint64(i+1))
		if err := r.WritePacket(&p); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	files := r.Files()
	want := []string{"out_00001_20240301120000.pcap", "out_00002_20240301120010.pcap", "out_00003_20240301120020.pcap"}
	if len(files) != 3 || fmt.Sprint(closed) != fmt.Sprint(files) {
		t.Fatalf("files %v, closed %v", files, closed)
	}
	for i, f := range files {
		if filepath.Base(f) != want[i] {
			t.Errorf("file %d named %s, want %s", i, filepath.Base(f), want[i])
		}
		ps := readAll(t, f)
		if n := []int{10, 10, 5}[i]; len(ps) != n {
			t.Errorf("%s: %d packets, want %d", f, len(ps), n)
		}
		if ps[0].Timestamp != base+int64(i*10)*int64(time.Second) {
			t.Errorf("%s: first packet at %d", f, ps[0].Timestamp)
		}
	}
	checkWithTools(t, files...)
}

func TestRotatingRingBytesInterval(t *testing.T) {
	dir := t.TempDir()
	base := time.Date(2024, 3, 1, 12, 0, 0, 0, time.Local).UnixNano()
	pkt := func(i int, sec float64) reader.Packet {
		return ipPacket(17, [4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}, 53, 53, base+int64(sec*1e9), uint64(i))
	}
	// 54-byte packets: a 24-byte header + 3 records of 70 = 234 bytes fits 240, a 4th does not.
	r, _ := NewRotating(RotateOptions{Path: filepath.Join(dir, "b.pcap"), MaxBytes: 240, Ring: 2})
	for i := 0; i < 10; i++ {
		p := pkt(i, float64(i))
		r.WritePacket(&p)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	left, _ := filepath.Glob(filepath.Join(dir, "b_*.pcap"))
	sort.Strings(left)
	if fmt.Sprint(left) != fmt.Sprint(r.Files()) || len(left) != 2 || filepath.Base(left[0]) != "b_00003_20240301120006.pcap" {
		t.Fatalf("ring kept %v (Files %v)", left, r.Files())
	}
	for _, f := range left {
		if st, _ := os.Stat(f); st.Size() > 240 {
			t.Errorf("%s: %d bytes > 240", f, st.Size())
		}
	}

	// Interval 10 s, aligned: packets at 5, 9.9 | 10, 19 | (Tick at 31 closes) | 45.
	var closed []string
	r, _ = NewRotating(RotateOptions{Path: filepath.Join(dir, "t-%H%M%S.pcapng"), Format: reader.FormatPcapNG,
		Interval: 10 * time.Second, OnClose: func(p string) { closed = append(closed, filepath.Base(p)) }})
	for i, s := range []float64{5, 9.9, 10, 19} {
		p := pkt(i, s)
		r.WritePacket(&p)
	}
	r.Tick(time.Unix(0, base+31e9))
	if len(closed) != 2 || r.Current() != "" {
		t.Fatalf("after Tick closed %v, current %q", closed, r.Current())
	}
	p := pkt(9, 45)
	r.WritePacket(&p)
	r.Close()
	if fmt.Sprint(closed) != "[t-120005.pcapng t-120010.pcapng t-120045.pcapng]" {
		t.Errorf("closed %v", closed)
	}
	if n := len(readAll(t, filepath.Join(dir, "t-120005.pcapng"))); n != 2 {
		t.Errorf("first interval holds %d packets", n)
	}
	checkWithTools(t, filepath.Join(dir, "t-120010.pcapng"))
}

func TestFlows(t *testing.T) {
	for _, format := range []reader.Format{reader.FormatPcap, reader.FormatPcapNG} {
		dir := t.TempDir()
		ext := map[reader.Format]string{reader.FormatPcap: ".pcap", reader.FormatPcapNG: ".pcapng"}[format]
		fl, err := NewFlows(FlowOptions{Path: filepath.Join(dir, "f"+ext), Format: format, MaxOpen: 2})
		if err != nil {
			t.Fatal(err)
		}
		a, b := [4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}
		var ps []reader.Packet
		// 5 connections interleaved (more than MaxOpen), replies in the other direction,
		// TCP and UDP on the same ports, and a non-IP packet.
		for i := 0; i < 40; i++ {
			c := i % 5
			proto := byte(6)
			if c == 4 {
				proto = 17
			}
			sport := uint16(40000 + c%4)
			p := ipPacket(proto, a, b, sport, 80, int64(i)*1e9, uint64(i+1))
			if i%2 == 1 {
				p = ipPacket(proto, b, a, 80, sport, int64(i)*1e9, uint64(i+1))
			}
			ps = append(ps, p)
		}
		arp := reader.Packet{Data: make([]byte, 42), CapLen: 42, WireLen: 60, LinkType: 1, Timestamp: 50e9}
		binary.BigEndian.PutUint16(arp.Data[12:], 0x0806)
		ps = append(ps, arp)
		for i := range ps {
			if err := fl.WritePacket(&ps[i]); err != nil {
				t.Fatal(err)
			}
			if fl.open > 2 {
				t.Fatalf("%d files open", fl.open)
			}
		}
		if err := fl.Close(); err != nil {
			t.Fatal(err)
		}
		files := fl.Files()
		if len(files) != 6 || fl.Connections() != 5 {
			t.Fatalf("files %v, %d connections", files, fl.Connections())
		}
		// named for the direction of each connection's first packet (odd ones start with a reply)
		re := regexp.MustCompile(`^f_0000[135]_10\.0\.0\.1\.4000[0-3]-10\.0\.0\.2\.80` + ext +
			`$|^f_0000[24]_10\.0\.0\.2\.80-10\.0\.0\.1\.4000[0-3]` + ext + `$|^f_other` + ext + `$`)
		total := 0
		for _, f := range files {
			if !re.MatchString(filepath.Base(f)) {
				t.Errorf("bad name %s", filepath.Base(f))
			}
			got := readAll(t, f)
			total += len(got)
			if filepath.Base(f) != "f_other"+ext && len(got) != 8 {
				t.Errorf("%s: %d packets, want 8", f, len(got))
			}
			for j := 1; j < len(got); j++ {
				if got[j].Timestamp != got[j-1].Timestamp+5e9 && filepath.Base(f) != "f_other"+ext {
					t.Errorf("%s: packet %d out of sequence", f, j)
				}
			}
		}
		if total != len(ps) {
			t.Errorf("%d packets written, %d read back", len(ps), total)
		}
		checkWithTools(t, files[0], files[len(files)-1]) // a reopened flow file and the other file
	}
}

func TestFlowsAllocs(t *testing.T) {
	fl, _ := NewFlows(FlowOptions{Path: filepath.Join(t.TempDir(), "f.pcap")})
	p := ipPacket(6, [4]byte{1, 2, 3, 4}, [4]byte{5, 6, 7, 8}, 1, 2, 0, 1)
	fl.WritePacket(&p)
	if a := testing.AllocsPerRun(1000, func() { fl.WritePacket(&p) }); a != 0 {
		t.Errorf("%v allocations per packet of a known flow", a)
	}
	fl.Close()
}

// TestRotatingNoOverwrite: a strftime pattern coarser than the interval gets a number
// instead of overwriting the previous file.
func TestRotatingNoOverwrite(t *testing.T) {
	dir := t.TempDir()
	base := time.Date(2024, 3, 1, 12, 0, 0, 0, time.Local).UnixNano()
	r, _ := NewRotating(RotateOptions{Path: filepath.Join(dir, "m-%H%M.pcap"), Interval: 10 * time.Second})
	for i := 0; i < 3; i++ {
		p := ipPacket(6, [4]byte{1, 1, 1, 1}, [4]byte{2, 2, 2, 2}, 1, 2, base+int64(i)*15e9, uint64(i+1))
		r.WritePacket(&p)
	}
	r.Close()
	var names []string
	for _, f := range r.Files() {
		names = append(names, filepath.Base(f))
		if n := len(readAll(t, f)); n != 1 {
			t.Errorf("%s holds %d packets", f, n)
		}
	}
	if fmt.Sprint(names) != "[m-1200.pcap m-1200_00002.pcap m-1200_00003.pcap]" {
		t.Errorf("names %v", names)
	}
}

// MayCut says whether more packets could start a new file: by size, by count
// (each packet at least minRecord bytes), by the time they may carry, or
// because no file is open.
func TestRotatingMayCut(t *testing.T) {
	dir := t.TempDir()
	base := time.Date(2024, 3, 1, 12, 0, 0, 0, time.Local).UnixNano()
	at := func(sec float64) time.Time { return time.Unix(0, base+int64(sec*1e9)) }
	pkt := func(i int, sec float64) reader.Packet {
		return ipPacket(17, [4]byte{10, 0, 0, 1}, [4]byte{10, 0, 0, 2}, 53, 53, base+int64(sec*1e9), uint64(i))
	}
	// 24-byte header, 70-byte records; 1,000 bytes at most.
	r, _ := NewRotating(RotateOptions{Path: filepath.Join(dir, "b.pcap"), MaxBytes: 1000})
	if !r.MayCut(0, 1, at(0)) {
		t.Error("no file open: the next packet opens one, so it may cut")
	}
	p := pkt(0, 0)
	r.WritePacket(&p) // 94 bytes
	if r.MayCut(906, 1, at(0)) || !r.MayCut(907, 1, at(0)) {
		t.Errorf("size: MayCut(906) %v, MayCut(907) %v, want false, true", r.MayCut(906, 1, at(0)), r.MayCut(907, 1, at(0)))
	}
	r.Close()

	r, _ = NewRotating(RotateOptions{Path: filepath.Join(dir, "n.pcap"), MaxPackets: 10})
	p = pkt(0, 0)
	r.WritePacket(&p) // 1 of 10: 9 more fit, the 10th more starts a file
	if r.MayCut(9*68+67, 68, at(0)) || !r.MayCut(10*68, 68, at(0)) {
		t.Errorf("packets: room for 9 more says %v, for 10 %v, want false, true", r.MayCut(9*68+67, 68, at(0)), r.MayCut(10*68, 68, at(0)))
	}
	r.Close()

	r, _ = NewRotating(RotateOptions{Path: filepath.Join(dir, "t.pcap"), Interval: 10 * time.Second})
	p = pkt(0, 5)
	r.WritePacket(&p)
	if r.MayCut(0, 1, at(9.9)) || !r.MayCut(0, 1, at(10)) {
		t.Errorf("interval: until 9.9 s %v, until 10 s %v, want false, true", r.MayCut(0, 1, at(9.9)), r.MayCut(0, 1, at(10)))
	}
	r.Close()
}
