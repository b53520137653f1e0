package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pcaptk/pcaptk/internal/testcap"
)

// TestExportPartitionCycling: a capture whose packets cycle through five hours
// (3,000 packets) makes one file per hour, not one per packet, and the files
// hold every row.
func TestExportPartitionCycling(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "cycle.pcap")
	var recs []testcap.Record
	for i := range 3000 {
		recs = append(recs, testcap.Record{Sec: uint32(1764000000 + i%5*3600), Frac: uint32(i)})
	}
	if err := os.WriteFile(in, testcap.Pcap(false, recs), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, format := range []string{"parquet", "csv"} {
		out := filepath.Join(dir, format) + "/"
		code, _, stderr := pcaptkRun(t, nil, "export", "--format", format, "--partition", "hour", "-o", out, "-r", in)
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", format, code, stderr)
		}
		files, err := filepath.Glob(filepath.Join(out, "date=*", "hour=*", "*."+format))
		if err != nil {
			t.Fatal(err)
		}
		if len(files) != 5 {
			t.Errorf("%s: %d files, want 5: %v", format, len(files), files[:min(len(files), 10)])
		}
		if format != "csv" {
			continue
		}
		rows := 0
		for _, f := range files {
			fh, err := os.Open(f)
			if err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(fh)
			for sc.Scan() {
				if !strings.HasPrefix(sc.Text(), "frame,") {
					rows++
				}
			}
			fh.Close()
		}
		if rows != 3000 {
			t.Errorf("csv: %d rows, want 3000", rows)
		}
	}
}
