// Package pandas checks that pandas loads what pcaptk export writes as CSV and
// JSON, as the README's examples do. (Debian has no Parquet reader for pandas:
// neither pyarrow nor fastparquet is packaged, so read_parquet is left to the
// arrow-go and DuckDB tests.)
package pandas

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/pcaptk/pcaptk/internal/testcorpus"
)

// python returns the Python that has pandas (scripts/setup.sh installs
// Debian's python3-pandas); the test skips without it, and fails in CI.
func python(t *testing.T) string {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if err := exec.Command(py, "-c", "import pandas").Run(); err == nil {
			return py
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no python3 with pandas (apt-get install python3-pandas)")
	}
	t.Skip("no python3 with pandas (apt-get install python3-pandas): pandas integration not run")
	return ""
}

// script loads the exports the README's way and reports what it sees.
const script = `
import json, sys
import pandas as pd
c = pd.read_csv(sys.argv[1], parse_dates=["ts"])
j = pd.read_json(sys.argv[2], lines=True)
top = c.groupby(["src_ip", "dst_port"]).payload_len.sum().nlargest(3)
print(json.dumps({
    "rows": len(c),
    "json_rows": len(j),
    "ts_dtype": str(c.ts.dtype),
    "first_ts_ns": int(c.ts.iloc[0].value),
    "payload_sum": int(c.payload_len.sum()),
    "json_payload_sum": int(j.payload_len.sum()),
    "seq_sum": int(c.seq.sum()),
    "seq_rel_nulls": int(c.seq_rel.isna().sum()),
    "syn_count": int(c.syn.sum()),
    "top": [[k[0], int(k[1]), int(v)] for k, v in top.items()],
}))
`

type seen struct {
	Rows           int     `json:"rows"`
	JSONRows       int     `json:"json_rows"`
	TSDtype        string  `json:"ts_dtype"`
	FirstTSNs      int64   `json:"first_ts_ns"`
	PayloadSum     int64   `json:"payload_sum"`
	JSONPayloadSum int64   `json:"json_payload_sum"`
	SeqSum         int64   `json:"seq_sum"`
	SeqRelNulls    int     `json:"seq_rel_nulls"`
	SYNCount       int     `json:"syn_count"`
	Top            [][]any `json:"top"`
}

// TestPandasReadsExports: pandas reads the CSV and JSON of a corpus capture
// with the row count, sums, nulls, UTC timestamps and group-by the CSV itself
// gives when read in Go.
func TestPandasReadsExports(t *testing.T) {
	py := python(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "pcaptk")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/pcaptk").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	in := testcorpus.Pcap(t, "pcpp-http-packets2.pcap")
	cpath, jpath := filepath.Join(dir, "cap.csv"), filepath.Join(dir, "cap.json")
	for _, o := range [][]string{{"csv", cpath}, {"json", jpath}} {
		if out, err := exec.Command(bin, "export", "-r", in, "--format", o[0], "-o", o[1]).CombinedOutput(); err != nil {
			t.Fatalf("export %s: %v\n%s", o[0], err, out)
		}
	}
	out, err := exec.Command(py, "-c", script, cpath, jpath).CombinedOutput()
	if err != nil {
		t.Fatalf("pandas: %v\n%s", err, out)
	}
	var got seen
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("pandas output: %v\n%s", err, out)
	}

	// The same figures from the CSV, read in Go.
	f, err := os.Open(cpath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, name := range recs[0] {
		col[name] = i
	}
	want := seen{Rows: len(recs) - 1, JSONRows: len(recs) - 1, TSDtype: "datetime64[ns, UTC]"}
	sums := map[[2]string]int64{}
	for i, r := range recs[1:] {
		n := func(name string) int64 {
			v, err := strconv.ParseInt(r[col[name]], 10, 64)
			if err != nil {
				t.Fatalf("row %d %s: %v", i+1, name, err)
			}
			return v
		}
		want.PayloadSum += n("payload_len")
		want.SeqSum += n("seq")
		if r[col["seq_rel"]] == "" {
			want.SeqRelNulls++
		}
		if r[col["syn"]] == "true" {
			want.SYNCount++
		}
		sums[[2]string{r[col["src_ip"]], r[col["dst_port"]]}] += n("payload_len")
	}
	want.JSONPayloadSum = want.PayloadSum
	first, err := time.Parse(time.RFC3339Nano, recs[1][col["ts"]])
	if err != nil {
		t.Fatal(err)
	}
	want.FirstTSNs = first.UnixNano()
	type kv struct {
		k [2]string
		v int64
	}
	var all []kv
	for k, v := range sums {
		all = append(all, kv{k, v})
	}
	sort.Slice(all, func(a, b int) bool { return all[a].v > all[b].v })
	for _, e := range all[:min(3, len(all))] {
		port, _ := strconv.Atoi(e.k[1])
		want.Top = append(want.Top, []any{e.k[0], float64(port), float64(e.v)})
	}
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if string(gj) != string(wj) {
		t.Errorf("pandas sees\n%s\nthe CSV says\n%s", gj, wj)
	}
	if got.Rows < 100 {
		t.Errorf("only %d rows: the capture should have more TCP packets", got.Rows)
	}
}
