package filter

import (
	"encoding/binary"
	"math"
	"testing"
)

func encodeProgram(ins []insn) []byte {
	b := make([]byte, 0, 8*len(ins))
	for _, in := range ins {
		b = binary.LittleEndian.AppendUint16(b, in.Op)
		b = append(b, in.Jt, in.Jf)
		b = binary.LittleEndian.AppendUint32(b, in.K)
	}
	return b
}

func decodeProgram(b []byte) []insn {
	var ins []insn
	for ; len(b) >= 8 && len(ins) < 256; b = b[8:] {
		ins = append(ins, insn{binary.LittleEndian.Uint16(b), b[2], b[3], binary.LittleEndian.Uint32(b[4:])})
	}
	return ins
}

// FuzzVM runs random programs through the Go validator and interpreter and
// through libpcap's bpf_validate and bpf_filter: the Go side never accepts a
// program libpcap rejects, never panics, and returns what libpcap returns.
// Seeds: libpcap's own programs for the corpus expressions, on an Ethernet frame.
func FuzzVM(f *testing.F) {
	for _, e := range corpusExprs {
		if e == "" || e == "host %HOST%" {
			continue
		}
		ins, _, err := compileLibpcap(1, MaxSnaplen, e)
		if err != nil {
			continue // an expression for other link types
		}
		f.Add(encodeProgram(ins), ethTCP, uint32(len(ethTCP)))
		f.Add(encodeProgram(ins), ethTCP[:30], uint32(1500))
	}
	for _, c := range vmCases {
		f.Add(encodeProgram(c.prog), c.data, c.wireLen)
	}
	// Scratch memory starts as garbage in libpcap and zero here; libpcap's
	// compiler never reads a slot it has not written, so the comparison
	// starts every program with all slots written.
	prefix := []insn{stmt(ldImm, 0)}
	for i := uint32(0); i < memWords; i++ {
		prefix = append(prefix, stmt(st, i))
	}
	f.Fuzz(func(t *testing.T, code, data []byte, wireLen uint32) {
		ins := append(append([]insn(nil), prefix...), decodeProgram(code)...)
		prog, err := load(ins)
		if err != nil {
			return
		}
		if !libpcapValidate(ins) {
			t.Fatalf("load accepts a program bpf_validate refuses: %v", ins)
		}
		got := prog.run(data, wireLen)
		for _, v := range prog {
			if v.op == opJaBack {
				return // libpcap would spin forever on an endless loop
			}
		}
		if want := libpcapFilter(ins, data, wireLen); got != want {
			t.Fatalf("run = %#x, libpcap's bpf_filter = %#x for %v on %x (wire %d)", got, want, ins[len(prefix):], data, wireLen)
		}
	})
}

// FuzzRanges: ParseRanges never panics; what it accepts prints in a canonical
// form that parses back to the same set; Contains agrees with the spans; and
// Done(n) means no number above n is contained.
func FuzzRanges(f *testing.F) {
	for _, s := range []string{"1-100,200-,7", "7", "-50", "3,1", "5-9,1-4", "18446744073709551615", "0", "a-b", "1,,2"} {
		f.Add(s, uint64(7))
	}
	f.Fuzz(func(t *testing.T, s string, n uint64) {
		rs, err := ParseRanges(s)
		if err != nil {
			return
		}
		again, err := ParseRanges(rs.String())
		if err != nil || again.String() != rs.String() {
			t.Fatalf("%q → %q → %q, %v", s, rs.String(), again.String(), err)
		}
		in := false
		for i, sp := range rs {
			if sp.First == 0 || sp.Last < sp.First || (i > 0 && sp.First <= rs[i-1].Last+1) {
				t.Fatalf("%q: spans not sorted, disjoint and apart: %v", s, rs)
			}
			in = in || (sp.First <= n && n <= sp.Last)
		}
		if rs.Contains(n) != in {
			t.Fatalf("%q: Contains(%d) = %v", s, n, !in)
		}
		if rs.Done(n) && n < math.MaxUint64 && rs.Contains(n+1) {
			t.Fatalf("%q: Done(%d) but %d is contained", s, n, n+1)
		}
	})
}

// FuzzParseTime: never panics, and an accepted epoch value prints back.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"1700000000.5", "2023-11-14T22:13:20.5+01:00", "2023-11-14 22:13:20", "-1.5", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ParseTime(s)
	})
}
