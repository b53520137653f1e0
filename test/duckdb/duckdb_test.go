// Package duckdb checks that DuckDB reads what pcaptk export writes: Parquet with
// the promised column types, CSV and JSON, and a hive-partitioned dataset.
package duckdb

import (
	"encoding/csv"
	"encoding/json"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/pcaptk/pcaptk/internal/testcorpus"
)

// The integration needs node and the npm package @duckdb/node-api; scripts/setup.sh
// installs node and npm, this test runs `npm install` here when node_modules is
// missing. Without node the test skips; in CI a failed install is a failure.
func setupNode(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		t.Skip("node not installed (apt-get install nodejs npm): DuckDB integration not run")
	}
	if _, err := os.Stat("node_modules/@duckdb/node-api"); err == nil {
		return
	}
	if _, err := exec.LookPath("npm"); err != nil {
		t.Skip("npm not installed (apt-get install npm): DuckDB integration not run")
	}
	out, err := exec.Command("npm", "install", "--no-audit", "--no-fund").CombinedOutput()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("npm install: %v\n%s", err, out)
		}
		t.Skipf("npm install failed (offline?): %v\n%s", err, out)
	}
}

func buildPcaptk(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "pcaptk")
	out, err := exec.Command("go", "build", "-o", bin, "../../cmd/pcaptk").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func pcaptk(t *testing.T, bin string, args ...string) {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("pcaptk %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// reference holds what tshark's reference output says about a capture's TCP packets.
type reference struct {
	rows                    int
	payload, seq, ack, strm *big.Int
	syn                     int
}

func tsharkReference(t *testing.T, names ...string) reference {
	t.Helper()
	ref := reference{payload: new(big.Int), seq: new(big.Int), ack: new(big.Int), strm: new(big.Int)}
	for _, name := range names {
		rows := readCSV(t, filepath.Join(testcorpus.Dir(t), "expected", name+".tshark.csv"))
		for _, r := range rows[1:] {
			// columns: frame.number,frame.time_epoch,ip.src,ipv6.src,tcp.srcport,ip.dst,
			// ipv6.dst,tcp.dstport,tcp.flags,tcp.seq_raw,tcp.ack_raw,tcp.window_size_value,tcp.len,...
			ref.rows++
			add(t, ref.payload, r[12])
			add(t, ref.seq, r[9])
			add(t, ref.ack, r[10])
			flags, _ := strconv.ParseUint(strings.TrimPrefix(r[8], "0x"), 16, 16)
			if flags&2 != 0 {
				ref.syn++
			}
		}
		// tcp.stream numbers, from tshark too (pkg/decode keeps them).
		streams := readCSV(t, filepath.Join("..", "..", "pkg", "decode", "testdata", "conntrack", name+".tshark.csv"))
		for _, r := range streams[1:] {
			add(t, ref.strm, r[1])
		}
	}
	return ref
}

func add(t *testing.T, sum *big.Int, s string) {
	t.Helper()
	v, ok := new(big.Int).SetString(s, 10)
	if !ok {
		t.Fatalf("not a number in the reference: %q", s)
	}
	sum.Add(sum, v)
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestDuckDBReadsExports exports two corpus captures (both plain TCP, which
// tshark and pcaptk see alike) and has DuckDB read them.
func TestDuckDBReadsExports(t *testing.T) {
	setupNode(t)
	a := "filesamples-200722_tcp_anon.pcapng"
	b := "pcpp-four_ipv6_http_streams.pcap"
	bin := buildPcaptk(t)
	dir := t.TempDir()
	in := testcorpus.Pcap(t, a)
	pcaptk(t, bin, "export", "-r", in, "--format", "parquet", "-o", filepath.Join(dir, "a.parquet"))
	pcaptk(t, bin, "export", "-r", in, "--format", "csv", "-o", filepath.Join(dir, "a.csv"))
	pcaptk(t, bin, "export", "-r", in, "--format", "json", "-o", filepath.Join(dir, "a.json"))
	pcaptk(t, bin, "export", "-r", in, "-r", testcorpus.Pcap(t, b), "--format", "parquet",
		"--partition", "hour", "-o", filepath.Join(dir, "ds")+"/")

	cmd := exec.Command("node", "check.mjs", filepath.Join(dir, "a.parquet"), filepath.Join(dir, "a.csv"),
		filepath.Join(dir, "a.json"), filepath.Join(dir, "ds", "*", "*", "*.parquet"))
	cmd.Env = append(os.Environ(), "TZ=UTC")
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("node check.mjs: %v\n%s", err, stderr)
	}
	var got map[string]map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}

	// Parquet column types as DuckDB reports them.
	wantTypes := map[string]string{
		"frame": "UBIGINT", "ts": "TIMESTAMP WITH TIME ZONE", "iface": "UINTEGER", "caplen": "UINTEGER",
		"ip_version": "UTINYINT", "src_ip": "VARCHAR", "src_port": "USMALLINT", "dst_port": "USMALLINT",
		"stream": "UBIGINT", "flags": "VARCHAR", "flags_raw": "USMALLINT", "syn": "BOOLEAN",
		"seq": "UINTEGER", "ack": "UINTEGER", "seq_rel": "UINTEGER", "window": "USMALLINT",
		"window_scaled": "UINTEGER", "payload_len": "UINTEGER", "mss": "USMALLINT", "wscale": "UTINYINT",
		"ts_val": "UINTEGER", "sack": "STRUCT(\"left\" UINTEGER, \"right\" UINTEGER)[]", "options": "VARCHAR",
		"truncated": "BOOLEAN",
	}
	types := got["parquet"]["types"].(map[string]any)
	for col, want := range wantTypes {
		if types[col] != want {
			t.Errorf("parquet %s: DuckDB type %v, want %s", col, types[col], want)
		}
	}
	if dt := got["dataset"]["types"].(map[string]any); dt["date"] == nil || dt["hour"] == nil {
		t.Errorf("dataset: no hive partition columns in %v", dt)
	}

	check := func(source string, ref reference) {
		g := got[source]
		want := map[string]string{
			"rows": strconv.Itoa(ref.rows), "sum_payload_len": ref.payload.String(), "sum_seq": ref.seq.String(),
			"sum_ack": ref.ack.String(), "sum_stream": ref.strm.String(), "syn_rows": strconv.Itoa(ref.syn),
		}
		for k, w := range want {
			if g[k] != w {
				t.Errorf("%s: %s = %v, tshark says %s", source, k, g[k], w)
			}
		}
	}
	refA := tsharkReference(t, a)
	for _, s := range []string{"parquet", "csv", "json"} {
		check(s, refA)
		if got[s]["min_ts"] != got["parquet"]["min_ts"] || got[s]["nonnull_seq_rel"] != got["parquet"]["nonnull_seq_rel"] ||
			got[s]["sum_window_scaled"] != got["parquet"]["sum_window_scaled"] {
			t.Errorf("%s and parquet differ: %v / %v", s, got[s], got["parquet"])
		}
	}
	// The dataset holds both captures; stream numbers restart per input, as they
	// do when tshark reads each file.
	check("dataset", tsharkReference(t, a, b))
}

// TestDuckDBJoinsConns: DuckDB joins pcaptk conns' rows (Parquet) with export
// --analysis's packet rows on stream (within a file) and on the input and
// stream (across the files of two datasets): every connection's packet count
// agrees with the packet rows joined to it, and its analysis counts with the
// sums of their flags; the connection that retransmitted most is found, and its
// retransmitted packets are its rows flagged retransmission. The connections'
// types are SCHEMA's.
func TestDuckDBJoinsConns(t *testing.T) {
	setupNode(t)
	bin := buildPcaptk(t)
	dir := t.TempDir()
	a := filepath.Join(testcorpus.TCPDir(t), "pcap", "local-problems-v4.pcap")
	b := filepath.Join(testcorpus.TCPDir(t), "pcap", "local-problems-v6.pcap")
	pq, cpq, cs := filepath.Join(dir, "p.parquet"), filepath.Join(dir, "c.parquet"), filepath.Join(dir, "c.csv")
	pcaptk(t, bin, "export", "-r", a, "--analysis", "--format", "parquet", "-o", pq)
	pcaptk(t, bin, "conns", "-r", a, "-o", cpq)
	pcaptk(t, bin, "conns", "-r", a, "-o", cs)
	pcaptk(t, bin, "export", "-r", a, "-r", b, "--format", "parquet", "--partition", "hour", "-o", filepath.Join(dir, "pk")+"/")
	pcaptk(t, bin, "conns", "-r", a, "-r", b, "--format", "parquet", "--partition", "hour", "-o", filepath.Join(dir, "cn")+"/")

	cmd := exec.Command("node", "conns.mjs", pq, cpq, cs,
		filepath.Join(dir, "pk", "*", "*", "*.parquet"), filepath.Join(dir, "cn", "*", "*", "*.parquet"))
	cmd.Env = append(os.Environ(), "TZ=UTC")
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("node conns.mjs: %v\n%s", err, stderr)
	}
	var got struct {
		Types    map[string]string
		CSVTypes map[string]string
		CSVSame  string
		Join     map[string]string
		Worst    map[string]string
		Flags    map[string]string
		Dataset  map[string]string
	}
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	t.Logf("%s", out)
	for col, want := range map[string]string{"stream": "UBIGINT", "community_id": "VARCHAR", "orig_ip": "VARCHAR",
		"orig_port": "USMALLINT", "ip_version": "UTINYINT", "first_ts": "TIMESTAMP WITH TIME ZONE",
		"duration": "BIGINT", "orig_pkts": "UBIGINT", "conn_state": "VARCHAR", "saw_syn": "BOOLEAN",
		"rtt_samples": "UINTEGER", "rtt_p50": "BIGINT", "orig_mss": "USMALLINT", "orig_wscale": "UTINYINT",
		"orig_max_in_flight": "UINTEGER"} {
		if got.Types[col] != want {
			t.Errorf("conns Parquet %s: DuckDB type %q, want %s", col, got.Types[col], want)
		}
	}
	for col, want := range map[string]string{"stream": "BIGINT", "first_ts": "TIMESTAMP WITH TIME ZONE",
		"duration": "DOUBLE", "conn_state": "VARCHAR", "saw_syn": "BOOLEAN", "rtt_p50": "DOUBLE"} {
		if got.CSVTypes[col] != want {
			t.Errorf("conns CSV %s: DuckDB type %q, want %s", col, got.CSVTypes[col], want)
		}
	}
	if got.CSVSame != "0" {
		t.Errorf("%s Parquet rows are not in the CSV", got.CSVSame)
	}
	// local-problems-v4.pcap: 7 connections (conns' golden table), stream 0
	// retransmitted 428 packets.
	if got.Join["connections"] != "7" || got.Join["agree"] != "7" {
		t.Errorf("join on stream: %v", got.Join)
	}
	if got.Worst["stream"] != "0" || got.Worst["retrans"] != "428" || got.Worst["packets"] != "7938" ||
		got.Worst["from_orig"] != "6317" || got.Worst["retransmitted"] != "428" || got.Worst["first_retransmitted"] == "" {
		t.Errorf("worst connection: %v", got.Worst)
	}
	if got.Flags["connections"] != "7" || got.Flags["agree"] != "7" {
		t.Errorf("analysis counts against the packets' flags: %v", got.Flags)
	}
	if got.Dataset["connections"] != "14" || got.Dataset["agree"] != "14" || got.Dataset["inputs"] != "2" {
		t.Errorf("join of the datasets: %v", got.Dataset)
	}
}
