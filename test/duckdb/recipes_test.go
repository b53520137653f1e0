package duckdb

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pcaptk/pcaptk/internal/analysisref"
	"github.com/pcaptk/pcaptk/internal/testcorpus"
)

// docRecipes returns the SQL blocks of docs/analysis.md's DuckDB recipes, as
// the page shows them.
func docRecipes(t *testing.T) []string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "analysis.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, part, ok := strings.Cut(string(doc), "\n### DuckDB\n")
	if !ok {
		t.Fatal("docs/analysis.md has no DuckDB recipes")
	}
	part, _, _ = strings.Cut(part, "\n### ")
	var blocks []string
	for _, m := range regexp.MustCompile("(?s)\n```sql\n(.*?)\n```\n").FindAllStringSubmatch(part, -1) {
		blocks = append(blocks, m[1])
	}
	if len(blocks) != 3 {
		t.Fatalf("docs/analysis.md: %d DuckDB recipes, want 3", len(blocks))
	}
	return blocks
}

// num reads a number DuckDB's JSON rows give as a number or a string (BIGINT).
func num(t *testing.T, v any) float64 {
	t.Helper()
	switch x := v.(type) {
	case float64:
		return x
	case string:
		f, err := strconv.ParseFloat(x, 64)
		if err != nil {
			t.Fatalf("not a number: %q", x)
		}
		return f
	}
	t.Fatalf("not a number: %v (%T)", v, v)
	return 0
}

// TestDuckDBRecipes runs docs/analysis.md's DuckDB recipes on the Parquet
// export (with --analysis) of two captures recorded with loss, zero windows
// and keep-alives, and compares what they find with the same figures computed
// in Go from the CSV export; DuckDB also reads the analysis columns with the
// types the docs give.
func TestDuckDBRecipes(t *testing.T) {
	setupNode(t)
	bin := buildPcaptk(t)
	dir := t.TempDir()
	recipes := docRecipes(t)
	for _, name := range []string{"local-problems-v4.pcap", "local-problems-v6.pcap"} {
		in := filepath.Join(testcorpus.TCPDir(t), "pcap", name)
		pq, cs := filepath.Join(dir, name+".parquet"), filepath.Join(dir, name+".csv")
		pcaptk(t, bin, "export", "-r", in, "--format", "parquet", "--analysis", "-o", pq)
		pcaptk(t, bin, "export", "-r", in, "--format", "csv", "--analysis", "-o", cs)
		var sqls []string
		for _, r := range recipes {
			sqls = append(sqls, strings.ReplaceAll(r, "'cap.parquet'", "'"+strings.ReplaceAll(pq, "'", "''")+"'"))
		}
		sqls = append(sqls, "SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM '"+pq+"')")
		js, _ := json.Marshal(sqls)
		qf := filepath.Join(dir, "q.json")
		if err := os.WriteFile(qf, js, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("node", "recipes.mjs", qf)
		cmd.Env = append(os.Environ(), "TZ=UTC")
		out, err := cmd.Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("node recipes.mjs: %v\n%s", err, stderr)
		}
		var res [][]map[string]any
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		f, err := os.Open(cs)
		if err != nil {
			t.Fatal(err)
		}
		want, err := analysisref.ComputeRecipes(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(want.Retrans) == 0 || want.Retrans[0].Retransmissions == 0 || len(want.RTT) == 0 || len(want.ZeroWindow) == 0 {
			t.Fatalf("%s: the capture gives the recipes nothing to find", name)
		}

		retrans, rtt, zw, types := res[0], res[1], res[2], res[3]
		if len(retrans) != len(want.Retrans) {
			t.Fatalf("%s: %d connections ranked, want %d", name, len(retrans), len(want.Retrans))
		}
		for i, w := range want.Retrans {
			g := retrans[i]
			if num(t, g["stream"]) != float64(w.Stream) || num(t, g["data_packets"]) != float64(w.DataPackets) ||
				num(t, g["retransmissions"]) != float64(w.Retransmissions) {
				t.Errorf("%s: retransmissions row %d: %v, want %+v", name, i, g, w)
			}
		}
		if len(rtt) != len(want.RTT) {
			t.Fatalf("%s: %d server ports, want %d", name, len(rtt), len(want.RTT))
		}
		for i, w := range want.RTT {
			g := rtt[i]
			ok := num(t, g["server_port"]) == float64(w.Port) && num(t, g["samples"]) == float64(w.Samples)
			for k, q := range map[string]float64{"p50_ms": w.P50, "p90_ms": w.P90, "p99_ms": w.P99} {
				ok = ok && math.Abs(num(t, g[k])-q*1e3) <= 1e-6
			}
			if !ok {
				t.Errorf("%s: RTT row %d: %v, want %+v (seconds)", name, i, g, w)
			}
		}
		if len(zw) != len(want.ZeroWindow) {
			t.Fatalf("%s: %d zero-window episodes, want %d: %v", name, len(zw), len(want.ZeroWindow), zw)
		}
		for i, w := range want.ZeroWindow {
			g := zw[i]
			start, err := time.Parse("2006-01-02 15:04:05.999999-07", g["start"].(string))
			if err != nil {
				t.Fatalf("%s: start %v: %v", name, g["start"], err)
			}
			var stalled int64 = -1
			if iv, ok := g["stalled"].(map[string]any); ok {
				stalled = int64(num(t, iv["micros"])) * 1000
			}
			wantStalled := int64(-1)
			if w.Reopened {
				wantStalled = w.Stalled
			}
			src := g["src_ip"].(string) + ":" + strconv.Itoa(int(num(t, g["src_port"])))
			if num(t, g["stream"]) != float64(w.Stream) || src != w.Src || start.UnixNano() != w.Start ||
				num(t, g["packets"]) != float64(w.Packets) || stalled != wantStalled {
				t.Errorf("%s: episode %d: %v, want %+v", name, i, g, w)
			}
		}
		// The analysis columns' types, as docs/export.md and SCHEMA.md give them.
		got := map[string]string{}
		for _, r := range types {
			got[r["column_name"].(string)] = r["column_type"].(string)
		}
		for col, typ := range map[string]string{
			"retransmission": "BOOLEAN", "dup_ack": "BOOLEAN", "reused_ports": "BOOLEAN", "analysis": "VARCHAR",
			"dup_ack_num": "UINTEGER", "dup_ack_frame": "UBIGINT", "acks_frame": "UBIGINT", "ack_rtt": "BIGINT",
			"irtt": "BIGINT", "bytes_in_flight": "UINTEGER", "push_bytes_sent": "UINTEGER", "rto": "BIGINT",
			"rto_frame": "UBIGINT", "time_relative": "BIGINT", "time_delta": "BIGINT",
		} {
			if got[col] != typ {
				t.Errorf("%s: DuckDB reads %s as %q, want %s", name, col, got[col], typ)
			}
		}
		t.Logf("%s: %d retransmissions in stream %d; p50 RTT %.3f ms on port %d; %d zero-window episodes",
			name, want.Retrans[0].Retransmissions, want.Retrans[0].Stream, want.RTT[0].P50*1e3, want.RTT[0].Port, len(want.ZeroWindow))
	}
}
