package reader

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"
)

// benchCapture is the large capture made by bench/make-capture.sh when it has been
// recorded completely, else the biggest corpus file.
func benchCapture(b *testing.B) string {
	if log, err := os.ReadFile("/work/bench/make.log"); err == nil && strings.Contains(string(log), "rc=0") {
		if _, err := os.Stat("/work/bench/cap.pcap"); err == nil {
			return "/work/bench/cap.pcap"
		}
	}
	return filepath.Join(corpusDir(b), "pcap", "pcpp-many-protocols.pcap")
}

// benchRead reads packets from path in a loop, reopening it at the end, and reports
// packets and bytes per second.
func benchRead(b *testing.B, path string) {
	r, err := Open(path)
	if err != nil {
		b.Fatal(err)
	}
	var bytes int64
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := r.Next()
		if err == io.EOF {
			r.Close()
			if r, err = Open(path); err != nil {
				b.Fatal(err)
			}
			p, err = r.Next()
		}
		if err != nil {
			b.Fatal(err)
		}
		bytes += int64(len(p.Data)) + 16
	}
	b.StopTimer()
	r.Close()
	s := b.Elapsed().Seconds()
	b.ReportMetric(float64(b.N)/s, "pkts/s")
	b.ReportMetric(float64(bytes)/s/1e6, "MB/s")
}

func BenchmarkReadPcap(b *testing.B) { benchRead(b, benchCapture(b)) }

// BenchmarkReadPcapng reads the same capture converted to pcapng by editcap (kept
// in the temporary directory between runs).
func BenchmarkReadPcapng(b *testing.B) {
	src := benchCapture(b)
	st, err := os.Stat(src)
	if err != nil {
		b.Fatal(err)
	}
	dst := filepath.Join(os.TempDir(), "pcaptk-bench-"+filepath.Base(src)+"ng")
	if dt, err := os.Stat(dst); err != nil || dt.ModTime().Before(st.ModTime()) {
		if _, err := exec.LookPath("editcap"); err != nil {
			b.Skip("editcap not installed: cannot make a pcapng copy")
		}
		if out, err := exec.Command("editcap", "-F", "pcapng", src, dst).CombinedOutput(); err != nil {
			b.Fatalf("editcap: %v\n%s", err, out)
		}
	}
	benchRead(b, dst)
}

// BenchmarkReadPcapGopacket is the same loop over gopacket's pcapgo reader, for
// comparison only.
func BenchmarkReadPcapGopacket(b *testing.B) {
	path := benchCapture(b)
	open := func() (*os.File, *pcapgo.Reader) {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		r, err := pcapgo.NewReader(bufio.NewReaderSize(f, 1<<20))
		if err != nil {
			b.Fatal(err)
		}
		return f, r
	}
	f, r := open()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_, _, err := r.ZeroCopyReadPacketData()
		if err == io.EOF {
			f.Close()
			f, r = open()
			_, _, err = r.ZeroCopyReadPacketData()
		}
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	f.Close()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pkts/s")
}
