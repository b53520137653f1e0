package reader

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"testing"
	"testing/iotest"

	"github.com/pcaptk/pcaptk/internal/testcorpus"
)

// FuzzReader feeds arbitrary bytes to the reader: it must never panic, must keep
// its buffer within the limits it promises, hand out consistent packets, end with
// io.EOF or a *PacketError, and read the same whatever the read sizes are.
//
//	go test ./pkg/reader -run '^$' -fuzz FuzzReader -fuzztime 10s
func FuzzReader(f *testing.F) {
	for _, p := range testcorpus.Captures(f) {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:min(len(b), 4096)])
	}
	f.Add(newPcap(be, true, 0, 1).add(1, 2, payload(30, 0), 30).b)
	ng := newPcapng().section(le, "os").iface(1, 0, ngOpt{optIfTSResol, []byte{0x80 | 10}}).
		epb(0, 1, payload(30, 0), 30).spb(payload(5, 1), 5).opb(0, 2, payload(3, 2), 3).
		section(be, "").iface(113, 64).epb(0, 3, payload(70, 3), 70).b
	f.Add(ng)
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	zw.Write(ng)
	zw.Close()
	f.Add(z.Bytes())

	opts := Options{MaxRecord: 1 << 20, BufferSize: 4096}
	f.Fuzz(func(t *testing.T, in []byte) {
		whole := fuzzRead(t, bytes.NewReader(in), opts, len(in))
		bytewise := fuzzRead(t, iotest.OneByteReader(bytes.NewReader(in)), opts, len(in))
		if whole != bytewise {
			t.Fatalf("read whole: %s\nread byte by byte: %s", whole, bytewise)
		}
	})
}

// fuzzRead reads everything, checks invariants and returns a summary to compare.
func fuzzRead(t *testing.T, src io.Reader, o Options, size int) string {
	r, err := NewReaderWith(src, "fuzz", o)
	if err != nil {
		checkErr(t, err)
		return "open: " + err.Error()
	}
	var sum bytes.Buffer
	last := int64(-1)
	for n := uint64(1); ; n++ {
		p, err := r.Next()
		if err != nil {
			if err != io.EOF {
				checkErr(t, err)
			}
			if _, again := r.Next(); again != err {
				t.Fatalf("Next after %v gave %v", err, again)
			}
			sum.WriteString(err.Error())
			break
		}
		if p.Number != n || len(p.Data) != int(p.CapLen) || p.Offset <= last || p.Iface >= len(r.Interfaces()) {
			t.Fatalf("inconsistent packet %+v (want number %d, after offset %d, %d interfaces)", p, n, last, len(r.Interfaces()))
		}
		last = p.Offset
		sum.Write(p.Data)
		sum.WriteByte(byte(p.Timestamp))
	}
	// The buffer never exceeds the record limit, and grows only with data present
	// (decompressed gzip can legitimately be larger than the input).
	limit := max(o.BufferSize, int(o.MaxRecord)+minBufferSize)
	if len(r.buf) > limit {
		t.Fatalf("buffer grew to %d, limit %d", len(r.buf), limit)
	}
	if _, gz := r.src.(*gzip.Reader); !gz && len(r.buf) > max(o.BufferSize, 2*size+minBufferSize) {
		t.Fatalf("buffer grew to %d for %d bytes of input", len(r.buf), size)
	}
	return sum.String()
}

func checkErr(t *testing.T, err error) {
	var pe *PacketError
	if !errors.As(err, &pe) || pe.File != "fuzz" {
		t.Fatalf("error %v (%T) is not a *PacketError naming the input", err, err)
	}
}
