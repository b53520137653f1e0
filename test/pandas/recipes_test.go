package pandas

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pcaptk/pcaptk/internal/analysisref"
	"github.com/pcaptk/pcaptk/internal/testcorpus"
)

// docBlock returns the first fenced block of language lang after the heading
// in docs/analysis.md: the recipe exactly as the docs show it.
func docBlock(t *testing.T, heading, lang string) string {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "analysis.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(doc), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("docs/analysis.md has no heading %q", heading)
	}
	m := regexp.MustCompile("(?s)\n```" + lang + "\n(.*?)\n```\n").FindStringSubmatch(after)
	if m == nil {
		t.Fatalf("docs/analysis.md: no %s block after %q", lang, heading)
	}
	return m[1]
}

// dump prints what the recipes found, for the comparison below.
const dump = `
import json
print(json.dumps({
    "retrans": [[int(s), int(r.data_packets), int(r.retransmissions)] for s, r in top.iterrows()],
    "rtt": [[int(p), int(r.samples), r[0.5], r[0.9], r[0.99]] for p, r in rtt.iterrows()],
    "episodes": [[int(e.stream), "%s:%d" % (e.src_ip, e.src_port), int(e.start.value), int(e.packets),
                  None if pd.isna(e.stalled) else int(e.stalled.value)] for e in episodes.itertuples()],
}))
`

type recipeResults struct {
	Retrans  [][3]int64 `json:"retrans"`
	RTT      [][]any    `json:"rtt"`
	Episodes [][]any    `json:"episodes"`
}

// TestPandasRecipes runs docs/analysis.md's pandas recipes on the CSV export of
// two captures recorded with loss, zero windows and keep-alives, and compares
// what they find with the same figures computed in Go.
func TestPandasRecipes(t *testing.T) {
	py := python(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "pcaptk")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/pcaptk").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	recipe := docBlock(t, "### pandas", "python")
	for _, name := range []string{"local-problems-v4.pcap", "local-problems-v6.pcap"} {
		in := filepath.Join(testcorpus.TCPDir(t), "pcap", name)
		cpath := filepath.Join(dir, name+".csv")
		if out, err := exec.Command(bin, "export", "-r", in, "--format", "csv", "--analysis", "-o", cpath).CombinedOutput(); err != nil {
			t.Fatalf("export: %v\n%s", err, out)
		}
		script := strings.ReplaceAll(recipe, `"cap.csv"`, `"`+cpath+`"`) + dump
		out, err := exec.Command(py, "-c", script).Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("%s: pandas: %v\n%s", name, err, stderr)
		}
		var got recipeResults
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%s: pandas output: %v\n%s", name, err, out)
		}
		f, err := os.Open(cpath)
		if err != nil {
			t.Fatal(err)
		}
		want, err := analysisref.ComputeRecipes(f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		checkRecipes(t, name, got, want, 1e3) // pandas works in seconds, the recipe prints ms
	}
}

// checkRecipes compares the recipes' results; RTTs are in 1/scale seconds.
func checkRecipes(t *testing.T, name string, got recipeResults, want *analysisref.Recipes, scale float64) {
	t.Helper()
	if len(want.Retrans) == 0 || want.Retrans[0].Retransmissions == 0 || len(want.RTT) == 0 || len(want.ZeroWindow) == 0 {
		t.Fatalf("%s: the capture gives the recipes nothing to find: %+v", name, want)
	}
	if len(got.Retrans) != len(want.Retrans) {
		t.Fatalf("%s: %d connections in the retransmission ranking, want %d", name, len(got.Retrans), len(want.Retrans))
	}
	for i, w := range want.Retrans {
		if g := got.Retrans[i]; g != [3]int64{int64(w.Stream), int64(w.DataPackets), int64(w.Retransmissions)} {
			t.Errorf("%s: retransmissions row %d: %v, want %+v", name, i, g, w)
		}
	}
	if len(got.RTT) != len(want.RTT) {
		t.Fatalf("%s: %d server ports, want %d", name, len(got.RTT), len(want.RTT))
	}
	for i, w := range want.RTT {
		g := got.RTT[i]
		ok := g[0].(float64) == float64(w.Port) && g[1].(float64) == float64(w.Samples)
		for k, q := range []float64{w.P50, w.P90, w.P99} {
			ok = ok && math.Abs(g[2+k].(float64)-q*scale) <= 1e-9*scale
		}
		if !ok {
			t.Errorf("%s: RTT row %d: %v, want %+v (×%g)", name, i, g, w, scale)
		}
	}
	if len(got.Episodes) != len(want.ZeroWindow) {
		t.Fatalf("%s: %d zero-window episodes, want %d: %v", name, len(got.Episodes), len(want.ZeroWindow), got.Episodes)
	}
	for i, w := range want.ZeroWindow {
		g := got.Episodes[i]
		var stalled any
		if w.Reopened {
			stalled = float64(w.Stalled)
		}
		if g[0].(float64) != float64(w.Stream) || g[1] != w.Src || g[2].(float64) != float64(w.Start) ||
			g[3].(float64) != float64(w.Packets) || g[4] != stalled {
			t.Errorf("%s: episode %d: %v, want %+v", name, i, g, w)
		}
	}
	t.Logf("%s: top connection %d retransmissions; %d server ports, p50 %.3f ms; %d zero-window episodes",
		name, want.Retrans[0].Retransmissions, len(want.RTT), want.RTT[0].P50*1e3, len(want.ZeroWindow))
}
