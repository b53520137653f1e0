package export

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/pcaptk/pcaptk/internal/testcorpus"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// parquetVariants are the option sets whose files TestParquetGolden pins:
// every codec, both timestamp units, column subsets (with and without the
// dictionary and list columns) and row groups cut inside batches.
var parquetVariants = []struct {
	name string
	cols string
	o    ParquetOptions
}{
	{"default", "", ParquetOptions{}},
	{"cols-text", "ts,src_ip,dst_ip,flags,options,sack,stream", ParquetOptions{}},
	{"cols-nullable", "frame,seq_rel,ack_rel,mss,wscale,syn,sack_ok,truncated,ttl,ip_id,window_scaled,ts_val", ParquetOptions{}},
	{"snappy", "", ParquetOptions{Compression: "snappy"}},
	{"gzip", "", ParquetOptions{Compression: "gzip"}},
	{"none", "", ParquetOptions{Compression: "none"}},
	{"us", "", ParquetOptions{TSMicro: true}},
	{"rg7", "", ParquetOptions{RowGroupSize: 7}},
	{"rg100-snappy-us", "", ParquetOptions{RowGroupSize: 100, Compression: "snappy", TSMicro: true}},
}

// synthGolden are synthetic inputs large enough for what the corpus captures
// are too small for: full and staggered pages, dictionaries that overflow to
// PLAIN, zstd's stored pages, several row groups of thousands of rows.
var synthGolden = []struct {
	name     string
	rows     int
	distinct bool
	o        ParquetOptions
}{
	{"synth-zstd", 70000, false, ParquetOptions{}},
	{"synth-zstd-fallback", 70000, true, ParquetOptions{RowGroupSize: 60000}},
	{"synth-snappy-groups", 9000, false, ParquetOptions{Compression: "snappy", RowGroupSize: 1000}},
	{"synth-gzip-us", 9000, false, ParquetOptions{Compression: "gzip", TSMicro: true, RowGroupSize: 4097}},
	{"synth-none-fallback", 70000, true, ParquetOptions{Compression: "none"}},
	{"synth-pages", 40000, true, ParquetOptions{RowGroupSize: 25000, pageRows: 1000}},
}

const parquetGoldenFile = "testdata/golden/parquet.sha256"

// TestParquetGolden: the Parquet files written for every corpus capture with
// each of parquetVariants, and for the synthetic inputs, have the SHA-256 in
// testdata/golden/parquet.sha256, recorded with the writer as it was before it
// moved to pkg/export/parquet (go test -run ParquetGolden -update rewrites it).
func TestParquetGolden(t *testing.T) {
	got := map[string]string{}
	sum := func(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }
	var captures []string
	for _, path := range testcorpus.Captures(t) {
		captures = append(captures, filepath.Base(path))
		for _, v := range parquetVariants {
			cols, err := ParseColumns(v.cols)
			if err != nil {
				t.Fatal(err)
			}
			o := v.o
			o.Columns = cols
			b, err := runParquet(path, o)
			var pe *reader.PacketError
			if err != nil && !errors.As(err, &pe) {
				t.Fatalf("%s %s: %v", filepath.Base(path), v.name, err)
			}
			got[filepath.Base(path)+" "+v.name] = sum(b)
		}
	}
	for _, s := range synthGolden {
		b := encodeBatches(t, func(w *bytes.Buffer) (Encoder, error) { return NewParquet(w, s.o) }, synthRows(uint64(len(s.name)), s.rows, s.distinct))
		got[s.name+" -"] = sum(b)
	}
	if updating() {
		var out bytes.Buffer
		keys := make([]string, 0, len(got))
		for k := range got {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(&out, "%s  %s\n", got[k], k)
		}
		if err := os.WriteFile(parquetGoldenFile, out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	f, err := os.Open(parquetGoldenFile)
	if err != nil {
		t.Fatalf("%v (run go test -run ParquetGolden -update to create it)", err)
	}
	defer f.Close()
	checked := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		want, key, ok := strings.Cut(sc.Text(), "  ")
		if !ok {
			t.Fatalf("bad line %q", sc.Text())
		}
		g, ok := got[key]
		switch {
		case !ok:
			t.Errorf("%s: no such capture or variant in this run", key)
		case g != want:
			t.Errorf("%s: sha256 %s, want %s", key, g, want)
		}
		checked++
		delete(got, key)
	}
	for k := range got {
		t.Logf("%s: not in %s (a capture added to the corpus since)", k, parquetGoldenFile)
	}
	if checked < len(parquetVariants)*70 {
		t.Errorf("only %d files checked", checked)
	}
	t.Logf("%d files byte for byte as recorded (%d captures)", checked, len(captures))
}

// runParquet exports the capture at path to Parquet with o through Run.
func runParquet(path string, o ParquetOptions) ([]byte, error) {
	r, err := reader.Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	var buf bytes.Buffer
	enc, err := NewParquet(&buf, o)
	if err != nil {
		return nil, err
	}
	_, err = Run(r, enc, RunOptions{Columns: o.Columns})
	return buf.Bytes(), err
}
