package analysis

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func TestRTTSketch(t *testing.T) {
	exactQ := func(v []int64, q float64) int64 {
		w := slices.Clone(v)
		slices.Sort(w)
		return w[rank(q, len(w))]
	}
	for seed := range uint64(6) {
		r := rand.New(rand.NewPCG(7, seed))
		for _, n := range []int{1, 2, 15, 16, 17, 100, 5000, 200000} {
			var a ConnAnalysis
			var v []int64
			for range n {
				// log-normal-ish RTTs from 20 µs to a few seconds
				x := int64(20e3 * (1 + r.ExpFloat64()*r.ExpFloat64()*50))
				v = append(v, x)
				a.AddRTT(x)
			}
			for _, q := range []float64{0.5, 0.99} {
				got := a.rtt.quantile(q, a.RTTSamples, a.RTTMin, a.RTTMax)
				want := exactQ(v, q)
				if n <= rttExact && got != want {
					t.Fatalf("n=%d q=%v: %d, want exactly %d", n, q, got, want)
				}
				if d := float64(got-want) / float64(want); d > 0.10 || d < -0.10 {
					t.Errorf("n=%d q=%v: %d, want %d within 10%%", n, q, got, want)
				}
			}
			if a.RTTMin != slices.Min(v) || a.RTTMax != slices.Max(v) {
				t.Errorf("n=%d: min/max %d/%d", n, a.RTTMin, a.RTTMax)
			}
		}
	}
}

// TestRTTBucketIsLog: the bucket from the bit length and the integer edges is
// the logarithmic definition's, over every value up to 3 ms, either side of
// every edge and of every power of two, and random values beyond.
func TestRTTBucketIsLog(t *testing.T) {
	byLog := func(ns int64) int {
		if ns < rttBase {
			return rttFirst
		}
		return min(1+int(math.Log2(float64(ns)/rttBase+rttMinSpan)*rttPerOct), rttLast)
	}
	r := rand.New(rand.NewPCG(1, 2))
	check := func(ns int64) {
		if got, want := rttBucket(ns), byLog(ns); got != want {
			t.Fatalf("%d ns: bucket %d, log2 gives %d", ns, got, want)
		}
	}
	for ns := int64(0); ns < 3e6; ns++ {
		check(ns)
	}
	for range 1_000_000 {
		check(r.Int64N(1 << 40))
		check(r.Int64N(math.MaxInt64))
	}
	for b := 1; b < rttBuckets; b++ { // either side of every edge
		for d := int64(-2); d <= 2; d++ {
			check(rttEdges[b] + d)
		}
	}
	for n := range 63 {
		check(1<<n - 1)
		check(1 << n)
	}
	check(math.MaxInt64)
}

// BenchmarkRTTBucket: the bucket of RTTs spread over 20 µs to 2 s.
func BenchmarkRTTBucket(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	v := make([]int64, 1024)
	for i := range v {
		v[i] = int64(20e3 * math.Exp2(r.Float64()*17))
	}
	s := 0
	for i := 0; b.Loop(); i++ {
		s += rttBucket(v[i&1023])
	}
	if s < 0 {
		b.Fatal(s)
	}
}
