package reader

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/csv"
	"errors"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pcaptk/pcaptk/internal/testcorpus"
)

// corpusDir is the general reference corpus (see internal/testcorpus).
func corpusDir(t testing.TB) string {
	t.Helper()
	return testcorpus.Dir(t)
}

type corpusFile struct {
	name    string
	path    string
	packets int // MANIFEST.tsv "packets"
}

func corpusFiles(t testing.TB) []corpusFile {
	dir := corpusDir(t)
	f, err := os.Open(filepath.Join(dir, "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []corpusFile
	sc := bufio.NewScanner(f)
	col := -1
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if col < 0 {
			for i, h := range fields {
				if h == "packets" {
					col = i
				}
			}
			if col < 0 {
				t.Fatal("MANIFEST.tsv has no packets column")
			}
			continue
		}
		n, err := strconv.Atoi(fields[col])
		if err != nil {
			t.Fatalf("MANIFEST.tsv: %q: %v", sc.Text(), err)
		}
		out = append(out, corpusFile{fields[0], filepath.Join(dir, "pcap", fields[0]), n})
	}
	if len(out) == 0 {
		t.Fatal("empty MANIFEST.tsv")
	}
	return out
}

func expectedPath(cf corpusFile, suffix string) string {
	return filepath.Join(filepath.Dir(filepath.Dir(cf.path)), "expected", cf.name+suffix)
}

// wsTime is a time as Wireshark holds it: seconds and a signed nanosecond part
// that is not always normalised (see pcapView).
type wsTime struct{ sec, nsec int64 }

// less orders times as Wireshark 4.0's nstime_cmp does, which is what capinfos
// uses for its first and last times: equal seconds compare by the difference of
// the nanosecond parts, computed in a C int (32 bits), which can overflow.
func (w wsTime) less(o wsTime) bool {
	return w.sec < o.sec || w.sec == o.sec && int32(w.nsec-o.nsec) < 0
}

func (w wsTime) ns() *big.Int {
	ns := new(big.Int).Mul(big.NewInt(w.sec), big.NewInt(1e9))
	return ns.Add(ns, big.NewInt(w.nsec))
}

// capinfos holds what the test uses from `capinfos -M` output.
type capinfos struct {
	packets     int
	prec        int // timestamp precision digits, -1 per packet
	first, last wsTime
	shbOS       string
	ifaces      []capinfosIface
}

// capinfosIface is one "Interface #N info:" section.
type capinfosIface struct {
	fields  map[string]string // "Name", "Capture length", "Encapsulation", ...
	packets int
}

func readCapinfos(t *testing.T, path string) capinfos {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ci capinfos
	prec := -1
	var first, last string
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "Interface #") {
			ci.ifaces = append(ci.ifaces, capinfosIface{fields: map[string]string{}})
			continue
		}
		if k, v, ok := strings.Cut(strings.TrimSpace(line), " = "); ok && len(ci.ifaces) > 0 && strings.HasPrefix(line, " ") {
			ifc := &ci.ifaces[len(ci.ifaces)-1]
			ifc.fields[k] = v
			if k == "Number of packets" {
				ifc.packets, err = strconv.Atoi(v)
			}
			if err != nil {
				t.Fatalf("%s: %q: %v", path, line, err)
			}
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "Number of packets":
			ci.packets, err = strconv.Atoi(v)
		case "File timestamp precision":
			// "microseconds (6)", "nanoseconds (9)", "per-packet (-1)"
			if i := strings.LastIndex(v, "("); i >= 0 {
				prec, _ = strconv.Atoi(strings.TrimSuffix(v[i+1:], ")"))
			}
		case "First packet time":
			first = v
		case "Last packet time":
			last = v
		case "Capture oper-sys":
			ci.shbOS = v
		}
		if err != nil {
			t.Fatalf("%s: %q: %v", path, line, err)
		}
	}
	ci.prec = prec
	ci.first = parseCapinfosTime(t, first, prec)
	ci.last = parseCapinfosTime(t, last, prec)
	return ci
}

// parseCapinfosTime reads "2022-07-26 06:26:07.794026". The fraction has the file's
// precision in digits (per-packet precision: as many as printed) and is Wireshark's
// signed nanosecond part scaled down, printed unnormalised ("10.1000000",
// "10.-2147483648").
func parseCapinfosTime(t *testing.T, s string, prec int) wsTime {
	t.Helper()
	date, frac, ok := strings.Cut(s, ".")
	if !ok {
		t.Fatalf("capinfos time %q", s)
	}
	dp := strings.FieldsFunc(date, func(r rune) bool { return r == '-' || r == ' ' || r == ':' })
	if len(dp) != 6 {
		t.Fatalf("capinfos time %q", s)
	}
	var n [6]int
	for i, p := range dp {
		var err error
		if n[i], err = strconv.Atoi(p); err != nil {
			t.Fatalf("capinfos time %q", s)
		}
	}
	sec := time.Date(n[0], time.Month(n[1]), n[2], n[3], n[4], n[5], 0, time.UTC).Unix()
	f, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		t.Fatalf("capinfos time %q", s)
	}
	if prec < 0 {
		prec = len(strings.TrimPrefix(frac, "-"))
	}
	for i := prec; i < 9; i++ {
		f *= 10
	}
	return wsTime{sec, f}
}

// parseEpoch reads tshark's frame.time_epoch: seconds, a dot and nine digits of
// nanoseconds, more where Wireshark's nanosecond part is out of range. A negative
// nanosecond part is printed as a leading minus and its absolute value
// ("-1418145370.2147483648" is 1418145370 s and -2147483648 ns).
func parseEpoch(t *testing.T, s string) wsTime {
	t.Helper()
	neg := strings.HasPrefix(s, "-")
	secStr, fracStr, _ := strings.Cut(strings.TrimPrefix(s, "-"), ".")
	sec, err1 := strconv.ParseInt(secStr, 10, 64)
	frac, err2 := strconv.ParseInt(fracStr, 10, 64)
	if err1 != nil || err2 != nil || len(fracStr) < 9 {
		t.Fatalf("tshark time %q", s)
	}
	switch {
	case neg && frac >= 1e9: // only the nanosecond part is negative
		frac = -frac
	case neg:
		sec, frac = -sec, -frac
	}
	return wsTime{sec, frac}
}

// sameNs compares a reference time with a reader timestamp modulo 2^64: times
// beyond the int64 nanosecond range (years before 1678 or after 2262) wrap.
func sameNs(ref *big.Int, ts int64) bool {
	m := new(big.Int).And(ref, new(big.Int).SetUint64(^uint64(0)))
	return m.Uint64() == uint64(ts)
}

// pcapRecord is a pcap record header as read by the test's own walk of the file.
type pcapRecord struct {
	sec, frac uint32
	nano      bool
}

// spec is the time the pcap format defines: both fields unsigned (tcpdump agrees).
func (p pcapRecord) spec() int64 {
	if p.nano {
		return int64(p.sec)*1e9 + int64(p.frac)
	}
	return int64(p.sec)*1e9 + int64(p.frac)*1e3
}

// view is the time Wireshark (capinfos, tshark) shows for the record: it keeps the
// fraction in a signed 32-bit nanosecond field, so a µs field of 2^31 (×1000)
// overflows to 0 and a ns field of 2^31 becomes negative.
func (p pcapRecord) view() wsTime {
	if p.nano {
		return wsTime{int64(p.sec), int64(int32(p.frac))}
	}
	return wsTime{int64(p.sec), int64(int32(p.frac * 1000))}
}

// pcapRecords walks a pcap file's record headers without the Reader.
func pcapRecords(b []byte) []pcapRecord {
	var bo binary.ByteOrder = binary.LittleEndian
	m := binary.BigEndian.Uint32(b)
	if m == pcapMagicMicro || m == pcapMagicNano {
		bo = binary.BigEndian
	}
	nano := bo.Uint32(b) == pcapMagicNano
	var out []pcapRecord
	for off := 24; off+16 <= len(b); off += 16 + int(bo.Uint32(b[off+8:])) {
		out = append(out, pcapRecord{bo.Uint32(b[off:]), bo.Uint32(b[off+4:]), nano})
	}
	return out
}

type tsharkRow struct {
	epoch           string
	wirelen, caplen uint32
}

func readTshark(t *testing.T, path string) map[uint64]tsharkRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cr := csv.NewReader(f)
	cr.FieldsPerRecord = -1
	recs, err := cr.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	rows := map[uint64]tsharkRow{}
	for _, rec := range recs[1:] {
		num, err1 := strconv.ParseUint(rec[col["frame.number"]], 10, 64)
		wl, err2 := strconv.ParseUint(rec[col["frame.len"]], 10, 32)
		cl, err3 := strconv.ParseUint(rec[col["frame.cap_len"]], 10, 32)
		if err := errors.Join(err1, err2, err3); err != nil {
			t.Fatalf("%s: %v: %v", path, rec, err)
		}
		rows[num] = tsharkRow{rec[col["frame.time_epoch"]], uint32(wl), uint32(cl)}
	}
	return rows
}

// TestCorpus reads every corpus capture and checks it against the references made
// by capinfos and tshark: packet count, first and last (earliest and latest)
// timestamps, and for every TCP packet its timestamp, captured and wire length.
func TestCorpus(t *testing.T) {
	for _, cf := range corpusFiles(t) {
		t.Run(cf.name, func(t *testing.T) {
			r, err := Open(cf.path)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			type seen struct {
				ts              int64
				caplen, wirelen uint32
			}
			var pkts []seen
			perIface := map[int]int{}
			for {
				p, err := r.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("after %d packets: %v", len(pkts), err)
				}
				if p.Number != uint64(len(pkts)+1) || len(p.Data) != int(p.CapLen) {
					t.Fatalf("packet %d: Number %d, %d bytes for caplen %d", len(pkts)+1, p.Number, len(p.Data), p.CapLen)
				}
				if p.Iface < 0 || p.Iface >= len(r.Interfaces()) || r.Interfaces()[p.Iface].LinkType != p.LinkType {
					t.Fatalf("packet %d: iface %d link type %d, interfaces %+v", p.Number, p.Iface, p.LinkType, r.Interfaces())
				}
				pkts = append(pkts, seen{p.Timestamp, p.CapLen, p.WireLen})
				perIface[p.Iface]++
			}
			if len(pkts) != cf.packets {
				t.Errorf("%d packets, MANIFEST.tsv says %d", len(pkts), cf.packets)
			}
			if r.Offset() != r.Size() {
				t.Errorf("consumed %d bytes of %d", r.Offset(), r.Size())
			}

			ci := readCapinfos(t, expectedPath(cf, ".capinfos.txt"))
			if ci.packets != len(pkts) {
				t.Errorf("%d packets, capinfos says %d", len(pkts), ci.packets)
			}
			checkInterfaces(t, r, ci, perIface)
			rows := readTshark(t, expectedPath(cf, ".tshark.csv"))
			for num := range rows {
				if num < 1 || num > uint64(len(pkts)) {
					t.Fatalf("tshark frame %d beyond our %d packets", num, len(pkts))
				}
				if row, p := rows[num], pkts[num-1]; p.caplen != row.caplen || p.wirelen != row.wirelen {
					t.Errorf("packet %d: caplen %d len %d, tshark says %d %d", num, p.caplen, p.wirelen, row.caplen, row.wirelen)
				}
			}
			if len(pkts) == 0 {
				return
			}

			if r.Format() == FormatPcap {
				// Check our time against the format's definition, and Wireshark's
				// view of the same record against capinfos and tshark.
				b, err := os.ReadFile(cf.path)
				if err != nil {
					t.Fatal(err)
				}
				recs := pcapRecords(b)
				if len(recs) != len(pkts) {
					t.Fatalf("own walk finds %d records, reader %d", len(recs), len(pkts))
				}
				lo, hi := recs[0].view(), recs[0].view()
				for i, rec := range recs {
					if pkts[i].ts != rec.spec() {
						t.Errorf("packet %d: time %d, want %d", i+1, pkts[i].ts, rec.spec())
					}
					if v := rec.view(); v.less(lo) {
						lo = v
					} else if hi.less(v) {
						hi = v
					}
				}
				if lo != ci.first || hi != ci.last {
					t.Errorf("first/last time %v %v, capinfos says %v %v", lo, hi, ci.first, ci.last)
				}
				for num, row := range rows {
					if v := recs[num-1].view(); v != parseEpoch(t, row.epoch) {
						t.Errorf("packet %d: time %v, tshark says %s", num, v, row.epoch)
					}
				}
				return
			}

			// pcapng: Wireshark's times are normalised; compare nanoseconds.
			lo, hi := pkts[0].ts, pkts[0].ts
			for _, p := range pkts {
				lo, hi = min(lo, p.ts), max(hi, p.ts)
			}
			for _, c := range []struct {
				what string
				ref  *big.Int
				ours int64
			}{{"first", ci.first.ns(), lo}, {"last", ci.last.ns(), hi}} {
				if c.ref.IsInt64() {
					if !sameNs(c.ref, c.ours) {
						t.Errorf("%s packet time %d, capinfos says %s", c.what, c.ours, c.ref)
					}
					continue
				}
				// Beyond int64 nanoseconds our timestamps wrap, so earliest and
				// latest differ from capinfos'; the time must still be some packet's.
				found := false
				for _, p := range pkts {
					found = found || sameNs(c.ref, p.ts)
				}
				if !found {
					t.Errorf("capinfos %s time %s (beyond int64 ns) matches no packet", c.what, c.ref)
				}
			}
			for num, row := range rows {
				if ref := parseEpoch(t, row.epoch).ns(); !sameNs(ref, pkts[num-1].ts) {
					t.Errorf("packet %d: time %d, tshark says %s", num, pkts[num-1].ts, row.epoch)
				}
			}
		})
	}
}

// capinfosLinkTypes maps capinfos' short encapsulation names to the LINKTYPE_
// values (or BSD DLT_ values) a file may carry for them.
var capinfosLinkTypes = map[string][]uint16{
	"ether":        {1},
	"null":         {0},
	"rawip":        {101, 12, 14},
	"rawip4":       {228},
	"rawip6":       {229},
	"linux-sll":    {113},
	"linux-sll2":   {276},
	"chdlc":        {104},
	"arcnet_linux": {129},
}

// checkInterfaces compares the reader's interfaces with capinfos' per-interface
// sections: link type, snapshot length, resolution, name, filter, OS, and how
// many packets each interface carried.
func checkInterfaces(t *testing.T, r *Reader, ci capinfos, perIface map[int]int) {
	t.Helper()
	ifs := r.Interfaces()
	if len(ifs) != len(ci.ifaces) {
		t.Errorf("%d interfaces, capinfos lists %d", len(ifs), len(ci.ifaces))
		return
	}
	switch ci.prec {
	case 6, 9:
		if r.Nanosecond() != (ci.prec == 9) {
			t.Errorf("Nanosecond() %v, capinfos precision %d digits", r.Nanosecond(), ci.prec)
		}
	}
	for i, c := range ci.ifaces {
		ifc, f := ifs[i], c.fields
		enc := f["Encapsulation"] // "Ethernet (1 - ether)"
		short := strings.TrimSuffix(enc[strings.LastIndex(enc, " - ")+3:], ")")
		lts, known := capinfosLinkTypes[short]
		if !known {
			t.Errorf("interface %d: capinfos encapsulation %q not in the test's table", i, enc)
		} else if !slices.Contains(lts, ifc.LinkType) {
			t.Errorf("interface %d: link type %d, capinfos says %q", i, ifc.LinkType, enc)
		}
		if got := strconv.FormatUint(uint64(ifc.Snaplen), 10); got != f["Capture length"] {
			t.Errorf("interface %d: snaplen %s, capinfos says %s", i, got, f["Capture length"])
		}
		if got := strconv.FormatUint(ifc.TSResol, 10); got != f["Time ticks per second"] {
			t.Errorf("interface %d: %s ticks a second, capinfos says %s", i, got, f["Time ticks per second"])
		}
		wantOS := ci.shbOS
		if wantOS == "" {
			wantOS = f["Operating system"]
		}
		for _, c := range []struct{ what, got, want string }{
			{"name", ifc.Name, f["Name"]},
			{"description", ifc.Description, f["Description"]},
			{"filter", ifc.Filter, f["Filter string"]},
			{"OS", ifc.OS, wantOS},
		} {
			if c.got != c.want {
				t.Errorf("interface %d: %s %q, capinfos says %q", i, c.what, c.got, c.want)
			}
		}
		if perIface[i] != c.packets {
			t.Errorf("interface %d: %d packets, capinfos says %d", i, perIface[i], c.packets)
		}
	}
}

// blockBoundaries walks a well-formed capture independently of the Reader and
// returns every offset at which a record or block ends (where a cut is a clean end).
func blockBoundaries(t *testing.T, b []byte) []int {
	t.Helper()
	var out []int
	if binary.LittleEndian.Uint32(b) == blockSHB {
		var bo binary.ByteOrder = binary.LittleEndian
		for off := 0; off < len(b); {
			if binary.LittleEndian.Uint32(b[off:]) == blockSHB {
				if binary.LittleEndian.Uint32(b[off+8:]) == byteOrderMagic {
					bo = binary.LittleEndian
				} else {
					bo = binary.BigEndian
				}
			}
			off += int(bo.Uint32(b[off+4:]))
			out = append(out, off)
		}
		return out
	}
	var bo binary.ByteOrder = binary.LittleEndian
	if binary.BigEndian.Uint32(b) == pcapMagicMicro || binary.BigEndian.Uint32(b) == pcapMagicNano {
		bo = binary.BigEndian
	}
	for off := 24; ; {
		out = append(out, off)
		if off >= len(b) {
			return out
		}
		off += 16 + int(bo.Uint32(b[off+8:]))
	}
}

// TestCorpusTruncated cuts every corpus file at many offsets (each record boundary,
// one byte either side, the middle of records and headers) and checks that the
// reader returns exactly the packets that are complete, then a clean EOF if the cut
// falls on a boundary and ErrTruncated otherwise, naming the next packet number.
func TestCorpusTruncated(t *testing.T) {
	total := 0
	defer func() { t.Logf("%d cuts", total) }()
	for _, cf := range corpusFiles(t) {
		b, err := os.ReadFile(cf.path)
		if err != nil {
			t.Fatal(err)
		}
		// Packet ends, as the full read sees them.
		var ends []int64
		r, err := NewReader(bytes.NewReader(b), cf.name)
		if err != nil {
			t.Fatal(err)
		}
		for {
			if _, err := r.Next(); err != nil {
				break
			}
			ends = append(ends, r.Offset())
		}
		bounds := blockBoundaries(t, b)
		isBound := map[int]bool{}
		for _, x := range bounds {
			isBound[x] = true
		}
		cuts := map[int]bool{0: true, 1: true, 3: true, 4: true, 7: true, 12: true, 20: true, 23: true}
		step := max(1, len(bounds)/40) // bound the work on big files
		for i, x := range bounds {
			if i%step != 0 && i != len(bounds)-1 {
				continue
			}
			for _, c := range []int{x - 1, x, x + 1, x + 5, x + 12} {
				cuts[c] = true
			}
			if i+1 < len(bounds) {
				cuts[(x+bounds[i+1])/2] = true
			}
		}
		for c := range cuts {
			if c < 0 || c > len(b) {
				continue
			}
			total++
			complete := 0
			for _, e := range ends {
				if e <= int64(c) {
					complete++
				}
			}
			n := 0
			var err error
			r, err := NewReaderWith(bytes.NewReader(b[:c]), cf.name, Options{BufferSize: 8192})
			if err == nil {
				for {
					if _, err = r.Next(); err != nil {
						break
					}
					n++
				}
			}
			if n != complete {
				t.Errorf("%s cut at %d: %d packets, want %d (%v)", cf.name, c, n, complete, err)
			}
			switch {
			case c < 4:
				if !errors.Is(err, ErrNotCapture) {
					t.Errorf("%s cut at %d: %v, want ErrNotCapture", cf.name, c, err)
				}
			case isBound[c]:
				if err != io.EOF {
					t.Errorf("%s cut at boundary %d: %v, want io.EOF", cf.name, c, err)
				}
			default:
				var pe *PacketError
				if !errors.Is(err, ErrTruncated) || !errors.As(err, &pe) {
					t.Errorf("%s cut at %d: %v, want ErrTruncated", cf.name, c, err)
					continue
				}
				if pe.Offset > int64(c) || (pe.Packet != 0 && pe.Packet != uint64(complete+1)) {
					t.Errorf("%s cut at %d: error names packet %d offset %d (%d complete)", cf.name, c, pe.Packet, pe.Offset, complete)
				}
			}
		}
	}
}
