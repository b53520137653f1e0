package analysis

import (
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
