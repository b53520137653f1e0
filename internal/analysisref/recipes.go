package analysisref

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"time"
)

// Recipes is what the recipes of docs/analysis.md find in a capture, computed
// here from the CSV of `export --analysis` without DuckDB or pandas, so that
// the tests of both (test/duckdb, test/pandas) hold the recipes to it.
type Recipes struct {
	// Retrans: the ten connections with the most retransmissions, most first
	// (ties by stream).
	Retrans []RetransRow
	// RTT: per server port (the SYN's destination port), the percentiles of
	// ack_rtt over the ACKs the server sent, by descending sample count.
	RTT []RTTRow
	// ZeroWindow: the zero-window episodes, by start.
	ZeroWindow []Episode
}

// RetransRow is one connection's retransmission count.
type RetransRow struct {
	Stream                       uint64
	DataPackets, Retransmissions int
}

// RTTRow holds one server port's RTT percentiles, in seconds.
type RTTRow struct {
	Port          int
	Samples       int
	P50, P90, P99 float64
}

// Episode is one zero-window episode: a run of a sender's packets with the
// zero_window flag, from its first to the sender's next packet without it.
type Episode struct {
	Stream   uint64
	Src      string // src_ip:src_port, the side whose window closed
	Start    int64  // ns since the epoch
	Packets  int    // packets in the run
	Stalled  int64  // ns from Start to the next packet without the flag
	Reopened bool   // there was such a packet
}

// ComputeRecipes reads an export's CSV (default time format, the analysis
// columns) and computes the recipes' results.
func ComputeRecipes(r io.Reader) (*Recipes, error) {
	cr := csv.NewReader(r)
	head, err := cr.Read()
	if err != nil {
		return nil, err
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	for _, c := range []string{"frame", "ts", "stream", "src_ip", "src_port", "dst_port", "syn", "ack_flag",
		"payload_len", "retransmission", "zero_window", "ack_rtt"} {
		if _, ok := col[c]; !ok {
			return nil, fmt.Errorf("no column %s", c)
		}
	}
	type pkt struct {
		ts                int64
		stream            uint64
		src               string
		srcPort, dstPort  int
		syn, ack, zw, rtx bool
		payload           int
		rtt               float64
		hasRTT            bool
	}
	var pkts []pkt
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		ts, err := time.Parse(time.RFC3339Nano, rec[col["ts"]])
		if err != nil {
			return nil, err
		}
		var p pkt
		p.ts = ts.UnixNano()
		p.stream, _ = strconv.ParseUint(rec[col["stream"]], 10, 64)
		p.srcPort, _ = strconv.Atoi(rec[col["src_port"]])
		p.dstPort, _ = strconv.Atoi(rec[col["dst_port"]])
		p.src = rec[col["src_ip"]] + ":" + rec[col["src_port"]]
		p.syn, p.ack = rec[col["syn"]] == "true", rec[col["ack_flag"]] == "true"
		p.zw, p.rtx = rec[col["zero_window"]] == "true", rec[col["retransmission"]] == "true"
		p.payload, _ = strconv.Atoi(rec[col["payload_len"]])
		if v := rec[col["ack_rtt"]]; v != "" {
			p.hasRTT = true
			if p.rtt, err = strconv.ParseFloat(v, 64); err != nil {
				return nil, err
			}
		}
		pkts = append(pkts, p)
	}
	out := &Recipes{}

	// Retransmissions per connection.
	per := map[uint64]*RetransRow{}
	server := map[uint64]int{}
	for _, p := range pkts {
		c := per[p.stream]
		if c == nil {
			c = &RetransRow{Stream: p.stream}
			per[p.stream] = c
		}
		if p.payload > 0 {
			c.DataPackets++
		}
		if p.rtx {
			c.Retransmissions++
		}
		if p.syn && !p.ack {
			server[p.stream] = p.dstPort
		}
	}
	for _, c := range per {
		out.Retrans = append(out.Retrans, *c)
	}
	sort.Slice(out.Retrans, func(i, j int) bool {
		a, b := out.Retrans[i], out.Retrans[j]
		if a.Retransmissions != b.Retransmissions {
			return a.Retransmissions > b.Retransmissions
		}
		return a.Stream < b.Stream
	})
	out.Retrans = out.Retrans[:min(10, len(out.Retrans))]

	// RTT per server port, from the server's ACKs.
	samples := map[int][]float64{}
	for _, p := range pkts {
		if port, ok := server[p.stream]; ok && p.hasRTT && p.srcPort == port {
			samples[port] = append(samples[port], p.rtt)
		}
	}
	for port, s := range samples {
		sort.Float64s(s)
		out.RTT = append(out.RTT, RTTRow{Port: port, Samples: len(s), P50: quantile(s, 0.5), P90: quantile(s, 0.9), P99: quantile(s, 0.99)})
	}
	sort.Slice(out.RTT, func(i, j int) bool {
		if out.RTT[i].Samples != out.RTT[j].Samples {
			return out.RTT[i].Samples > out.RTT[j].Samples
		}
		return out.RTT[i].Port < out.RTT[j].Port
	})

	// Zero-window episodes.
	type side struct {
		stream uint64
		src    string
	}
	open := map[side]int{} // index in out.ZeroWindow
	for _, p := range pkts {
		k := side{p.stream, p.src}
		i, inEpisode := open[k]
		switch {
		case p.zw && inEpisode:
			out.ZeroWindow[i].Packets++
		case p.zw:
			open[k] = len(out.ZeroWindow)
			out.ZeroWindow = append(out.ZeroWindow, Episode{Stream: p.stream, Src: p.src, Start: p.ts, Packets: 1})
		case inEpisode:
			out.ZeroWindow[i].Stalled = p.ts - out.ZeroWindow[i].Start
			out.ZeroWindow[i].Reopened = true
			delete(open, k)
		}
	}
	sort.SliceStable(out.ZeroWindow, func(i, j int) bool { return out.ZeroWindow[i].Start < out.ZeroWindow[j].Start })
	return out, nil
}

// quantile is DuckDB's quantile_cont and pandas' default quantile: linear
// interpolation between the sorted samples around (n-1)q.
func quantile(sorted []float64, q float64) float64 {
	pos := float64(len(sorted)-1) * q
	lo := math.Floor(pos)
	hi := math.Ceil(pos)
	return sorted[int(lo)] + (pos-lo)*(sorted[int(hi)]-sorted[int(lo)])
}
