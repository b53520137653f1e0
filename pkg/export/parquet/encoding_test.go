package parquet

import (
	"bytes"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// TestZstdStoredFrame: the stored frames written for pages zstd cannot shrink
// decode to the page, across the 128 KiB block limit.
func TestZstdStoredFrame(t *testing.T) {
	dec, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	rng := rand.New(rand.NewPCG(7, 7))
	for _, n := range []int{0, 1, 4096, 128 << 10, 128<<10 + 1, 3<<17 + 5} {
		page := make([]byte, n)
		for i := range page {
			page[i] = byte(rng.Uint32())
		}
		got, err := dec.DecodeAll(appendZstdStored(nil, page), nil)
		if err != nil || !bytes.Equal(got, page) {
			t.Errorf("%d bytes: decoded %d bytes, err %v", n, len(got), err)
		}
	}
}

// TestHybridAndDelta decodes the encoders' output by the specification, for
// widths and runs at their limits.
func TestHybridAndDelta(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	for _, width := range []uint{1, 2, 3, 7, 8, 9, 16, 20, 32} {
		var vals []uint32
		for len(vals) < 3000 {
			v := uint32(rng.Uint64() & (1<<width - 1))
			run := 1
			if rng.IntN(4) == 0 {
				run = rng.IntN(100)
			}
			for range run {
				vals = append(vals, v)
			}
		}
		got := decodeHybrid(t, appendHybrid(nil, vals, width), width, len(vals))
		for i := range vals {
			if got[i] != vals[i] {
				t.Fatalf("width %d: value %d is %d, want %d", width, i, got[i], vals[i])
			}
		}
	}
	for _, n := range []int{0, 1, 2, 127, 128, 129, 1000} {
		v32 := make([]int32, n)
		v64 := make([]int64, n)
		for i := range v32 {
			v32[i] = int32(rng.Uint32())
			v64[i] = int64(rng.Uint64())
			if i%3 == 0 {
				v32[i], v64[i] = math.MinInt32, math.MaxInt64
			}
		}
		if got := decodeDelta(t, appendDelta32(nil, v32), 32); !equalInts(got, v32) {
			t.Errorf("delta32 n=%d differs", n)
		}
		if got := decodeDelta(t, appendDelta64(nil, v64), 64); !equalInts(got, v64) {
			t.Errorf("delta64 n=%d differs", n)
		}
	}
}

func equalInts[T int32 | int64](a []int64, b []T) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if T(a[i]) != b[i] {
			return false
		}
	}
	return true
}

type bitReader struct {
	b   []byte
	pos uint // bit position
}

func (r *bitReader) read(width uint) uint64 {
	var v uint64
	for i := range width {
		bit := (r.b[(r.pos+i)/8] >> ((r.pos + i) % 8)) & 1
		v |= uint64(bit) << i
	}
	r.pos += width
	return v
}

func uvarint(t *testing.T, b []byte, at *int) uint64 {
	var v uint64
	for s := uint(0); ; s += 7 {
		c := b[*at]
		*at++
		v |= uint64(c&0x7f) << s
		if c < 0x80 {
			return v
		}
	}
}

func decodeHybrid(t *testing.T, b []byte, width uint, n int) []uint32 {
	var out []uint32
	at := 0
	for len(out) < n {
		h := uvarint(t, b, &at)
		if h&1 == 0 {
			var v uint32
			for k := uint(0); k < (width+7)/8; k++ {
				v |= uint32(b[at]) << (8 * k)
				at++
			}
			for range h >> 1 {
				out = append(out, v)
			}
			continue
		}
		groups := int(h >> 1)
		r := bitReader{b: b[at:]}
		for range groups * 8 {
			out = append(out, uint32(r.read(width)))
		}
		at += groups * int(width)
	}
	if at != len(b) {
		t.Fatalf("hybrid: %d bytes left", len(b)-at)
	}
	return out[:n]
}

func decodeDelta(t *testing.T, b []byte, bitsize uint) []int64 {
	at := 0
	block := int(uvarint(t, b, &at))
	minis := int(uvarint(t, b, &at))
	n := int(uvarint(t, b, &at))
	z := uvarint(t, b, &at)
	v := int64(z>>1) ^ -int64(z&1)
	if n == 0 {
		return nil
	}
	out := []int64{v}
	per := block / minis
	for len(out) < n {
		z := uvarint(t, b, &at)
		minD := int64(z>>1) ^ -int64(z&1)
		widths := b[at : at+minis]
		at += minis
		for m := 0; m < minis && len(out) < n; m++ {
			r := bitReader{b: b[at:]}
			for range per {
				d := int64(r.read(uint(widths[m])))
				if len(out) < n {
					v += minD + d
					if bitsize == 32 {
						v = int64(int32(v))
					}
					out = append(out, v)
				}
			}
			at += per * int(widths[m]) / 8
		}
	}
	if at != len(b) {
		t.Fatalf("delta: %d bytes left", len(b)-at)
	}
	return out
}
