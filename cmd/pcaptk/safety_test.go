package main

// Data safety (the guarantees in the README): an output never overwrites an
// input, outputs are complete or absent, a signal completes them, memory stays
// bounded, and a write error stops rotation.

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pcaptk/pcaptk/pkg/reader"
	"github.com/pcaptk/pcaptk/pkg/writer"
)

// synthPackets builds n Ethernet/IPv4/TCP packets spread over conns connections,
// step ns apart from start, each with payload bytes of data.
func synthPackets(n, conns int, start, step int64, payload int) []reader.Packet {
	ps := make([]reader.Packet, n)
	for i := range ps {
		c := i % conns
		b := make([]byte, 14+20+20+payload)
		binary.BigEndian.PutUint16(b[12:], 0x0800)
		ip := b[14:]
		ip[0], ip[8], ip[9] = 0x45, 64, 6
		binary.BigEndian.PutUint16(ip[2:], uint16(40+payload))
		copy(ip[12:], []byte{10, 0, byte(c >> 8), byte(c)})
		copy(ip[16:], []byte{10, 1, 0, 1})
		tcp := ip[20:]
		binary.BigEndian.PutUint16(tcp[0:], uint16(10000+c))
		binary.BigEndian.PutUint16(tcp[2:], 80)
		binary.BigEndian.PutUint32(tcp[4:], uint32(1000+i/conns*payload))
		tcp[12], tcp[13] = 5<<4, 0x18
		binary.BigEndian.PutUint16(tcp[14:], 65535)
		ps[i] = reader.Packet{Data: b, CapLen: uint32(len(b)), WireLen: uint32(len(b)),
			Timestamp: start + int64(i)*step, LinkType: 1, Snaplen: 262144, Number: uint64(i + 1)}
	}
	return ps
}

// writeSynth writes n synthetic packets to a pcap file.
func writeSynth(t *testing.T, path string, n, conns int, payload int) []reader.Packet {
	t.Helper()
	ps := synthPackets(n, conns, 1700000000e9, 1e6, payload)
	writePcapFile(t, path, ps)
	return ps
}

func fileSum(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// noTemporaries fails if a temporary output is left in dir (recursively).
func noTemporaries(t *testing.T, dir string) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasSuffix(p, ".pcaptk-tmp") {
			t.Errorf("temporary left behind: %s", p)
		}
		return nil
	})
}

// wholeCapture reads every packet of path and fails if the file is not a valid
// capture cut at a packet boundary.
func wholeCapture(t *testing.T, path string) int {
	t.Helper()
	ps, err := capturePackets(t, path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return len(ps)
}

func TestOutputIsNeverAnInput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "a.pcap")
	ps := writeSynth(t, in, 300, 5, 100)
	os.Symlink("a.pcap", filepath.Join(dir, "link.pcap"))
	os.Link(in, filepath.Join(dir, "hard.pcap"))
	// An input named like split's parts: --flows' catch-all file, and the first
	// --packets part (named for its first packet's local time).
	other := filepath.Join(dir, "x_other.pcap")
	arp := reader.Packet{Data: make([]byte, 60), CapLen: 60, WireLen: 60, LinkType: 1, Timestamp: ps[0].Timestamp}
	binary.BigEndian.PutUint16(arp.Data[12:], 0x0806) // not IP: split --flows puts it in x_other
	writePcapFile(t, other, append([]reader.Packet{arp}, ps...))
	sumOther := fileSum(t, other)
	part := filepath.Join(dir, "p_00001_"+time.Unix(0, ps[0].Timestamp).Format("20060102150405")+".pcap")
	os.Link(in, part)
	// An input named like its own dataset output.
	ds := filepath.Join(dir, "ds")
	os.Mkdir(ds, 0o755)
	dsIn := filepath.Join(ds, "cap.pcap")
	os.Link(in, dsIn)
	os.Link(in, filepath.Join(ds, "cap.csv")) // where the dataset's output would go
	sum := fileSum(t, in)

	stdinFile := func() *os.File {
		f, err := os.Open(in)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	stdoutFile := func() *os.File {
		f, err := os.OpenFile(in, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	l := func(n string) string { return filepath.Join(dir, n) }
	cases := []struct {
		name   string
		args   []string
		stdin  bool // standard input is the input file
		stdout bool // standard output is the input file, appended to
	}{
		{"export-parquet-same", []string{"export", "-r", in, "--format", "parquet", "-o", in}, false, false},
		{"export-csv-symlink", []string{"export", "-r", in, "--format", "csv", "-o", l("link.pcap")}, false, false},
		{"export-json-hardlink", []string{"export", "-r", in, "--format", "json", "-o", l("hard.pcap")}, false, false},
		{"export-text-same", []string{"export", "-r", in, "--format", "text", "-o", in}, false, false},
		{"export-second-input", []string{"export", "-r", l("hard.pcap"), "-r", other, "--format", "csv", "-o", other}, false, false},
		{"export-dataset", []string{"export", "-r", dsIn, "--format", "csv", "-o", ds + "/"}, false, false},
		{"export-stdout", []string{"export", "-r", in, "--format", "csv"}, false, true},
		{"filter-same", []string{"filter", "-r", in, "-w", in}, false, false},
		{"filter-hardlink", []string{"filter", "-r", in, "-w", l("hard.pcap")}, false, false},
		{"filter-stdin", []string{"filter", "-r", "-", "-w", in}, true, false},
		{"filter-stdout", []string{"filter", "-r", in, "-w", "-"}, false, true},
		{"merge-symlink", []string{"merge", "-w", l("link.pcap"), other, in}, false, false},
		{"merge-stdin", []string{"merge", "-w", in, "-"}, true, false},
		{"split-flows-other", []string{"split", "-r", other, "-w", l("x.pcap"), "--flows"}, false, false},
		{"split-packets-part", []string{"split", "-r", part, "-w", l("p.pcap"), "--packets", "100"}, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := &streams{In: strings.NewReader(""), Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}}
			if c.stdin {
				s.In = stdinFile()
			}
			if c.stdout {
				s.Out = stdoutFile()
			}
			code := run(c.args, s)
			stderr := s.ErrOut.(*bytes.Buffer).String()
			if code != exitUsage || !strings.Contains(stderr, "refusing to overwrite") || strings.Count(stderr, "\n") != 1 {
				t.Errorf("exit %d, want %d with one line saying why; stderr:\n%s", code, exitUsage, stderr)
			}
			if fileSum(t, in) != sum || fileSum(t, other) != sumOther {
				t.Fatalf("an input changed")
			}
			noTemporaries(t, dir)
		})
	}
}

// TestOutputsCompleteOnBadInput: an input that turns bad midway leaves complete
// outputs (Parquet with its footer, dataset parts) holding every row before it.
func TestOutputsCompleteOnBadInput(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.pcap")
	writeSynth(t, good, 5000, 20, 200)
	cut := filepath.Join(dir, "cut.pcap")
	st, _ := os.Stat(good)
	truncateCopy(t, good, cut, st.Size()/2+7)
	n := wholeCaptureUntilError(t, cut)

	pq := filepath.Join(dir, "out.parquet")
	code, _, stderr := pcaptkRun(t, nil, "export", "-r", cut, "--format", "parquet", "-o", pq)
	if code != exitFailure || !strings.Contains(stderr, "cut.pcap") {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if got := parquetColumn(t, pq, "frame"); len(got) != n {
		t.Fatalf("parquet holds %d rows, the input %d whole packets", len(got), n)
	}
	ds := filepath.Join(dir, "ds") + "/"
	code, _, stderr = pcaptkRun(t, nil, "export", "-r", cut, "-r", good, "--format", "parquet", "--partition", "date", "-o", ds)
	if code != exitFailure {
		t.Fatalf("dataset: exit %d: %s", code, stderr)
	}
	parts, _ := filepath.Glob(filepath.Join(ds, "*", "*.parquet"))
	rows := 0
	for _, p := range parts {
		rows += len(parquetColumn(t, p, "frame"))
	}
	if len(parts) < 2 || rows != n+5000 {
		t.Fatalf("dataset: %d parts holding %d rows, want %d", len(parts), rows, n+5000)
	}
	noTemporaries(t, dir)
}

// wholeCaptureUntilError counts the packets readable before a capture's damage.
func wholeCaptureUntilError(t *testing.T, path string) int {
	t.Helper()
	ps, err := capturePackets(t, path)
	if err == nil {
		t.Fatalf("%s: no damage", path)
	}
	return len(ps)
}

// smallDisk mounts a tmpfs of size bytes (root only) and returns its path.
func smallDisk(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root to mount a small tmpfs (a full disk)")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "pcaptk-test", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	return dir
}

// TestFullDisk: on a full disk, export outputs are absent, pcap outputs are cut
// back to their last whole packet and named in the one error line, and split
// opens no more parts.
func TestFullDisk(t *testing.T) {
	disk := smallDisk(t, "256k")
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pcap")
	ps := writeSynth(t, in, 60000, 50, 100) // about 9 MB
	in2 := filepath.Join(dir, "in2.pcap")
	writeSynth(t, in2, 100, 5, 10)

	for _, f := range []string{"parquet", "csv", "json"} {
		out := filepath.Join(disk, "out."+f)
		code, _, stderr := pcaptkRun(t, nil, "export", "-r", in, "--format", f, "-o", out, "--compression", "none")
		if code != exitFailure || !strings.Contains(stderr, "no space left on device") || strings.Count(stderr, "\n") != 1 {
			t.Errorf("export %s: exit %d: %s", f, code, stderr)
		}
		if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("export %s: the output exists after a write error (%v)", f, err)
			os.Remove(out)
		}
	}
	code, _, stderr := pcaptkRun(t, nil, "export", "-r", in, "--format", "csv", "-o", filepath.Join(disk, "ds")+"/", "--partition", "hour")
	if code != exitFailure || !strings.Contains(stderr, "no space left on device") {
		t.Errorf("dataset: exit %d: %s", code, stderr)
	}
	filepath.WalkDir(filepath.Join(disk, "ds"), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			t.Errorf("dataset: part %s left after a write error", p)
		}
		return nil
	})
	noTemporaries(t, disk)

	for _, c := range [][]string{
		{"filter", "-r", in, "-w", filepath.Join(disk, "f.pcap")},
		{"merge", "-w", filepath.Join(disk, "m.pcap"), in, in2},
	} {
		out := c[len(c)-1]
		if c[0] == "merge" {
			out = c[2]
		}
		code, _, stderr := pcaptkRun(t, nil, c...)
		if code != exitFailure || !strings.HasPrefix(stderr, "pcaptk: "+out+": ") || strings.Count(stderr, "\n") != 1 ||
			!strings.Contains(stderr, "no space left on device") {
			t.Errorf("%s: exit %d, want 1 and one line naming %s: %s", c[0], code, out, stderr)
		}
		n := wholeCapture(t, out)
		if n == 0 || n >= len(ps) || !strings.Contains(stderr, fmt.Sprintf("holds the first %d packets", n)) {
			t.Errorf("%s: output holds %d packets; stderr: %s", c[0], n, stderr)
		}
		os.Remove(out)
	}
	noTemporaries(t, disk)

	code, stdout, stderr := pcaptkRun(t, nil, "split", "-r", in, "-w", filepath.Join(disk, "p.pcap"), "--packets", "1000")
	if code != exitFailure || !strings.Contains(stderr, "no space left on device") || !strings.Contains(stderr, "no more files written") {
		t.Fatalf("split: exit %d: %s", code, stderr)
	}
	listed := strings.Fields(stdout)
	files, _ := filepath.Glob(filepath.Join(disk, "p_*.pcap"))
	if len(listed) < 2 || strings.Join(listed, " ") != strings.Join(files, " ") {
		t.Fatalf("split printed %v, the disk holds %v", listed, files)
	}
	total := 0
	for i, f := range files {
		n := wholeCapture(t, f)
		if n == 0 || (i < len(files)-1 && n != 1000) {
			t.Errorf("%s holds %d packets", f, n)
		}
		total += n
	}
	if !strings.Contains(stderr, fmt.Sprintf("holds its first %d packets", total-1000*(len(files)-1))) {
		t.Errorf("split's message does not say what the last part kept: %s", stderr)
	}
	noTemporaries(t, disk)
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// pcaptkBinary builds pcaptk once for the tests that need a real process.
func pcaptkBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "pcaptk-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "pcaptk")
		if out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// fifoFeeder writes a pcap stream into a named pipe until stopped (or stalls
// when told to), so that a command reading it is caught in the middle.
type fifoFeeder struct {
	path    string
	written chan int
	stall   chan struct{}
	done    chan struct{}
}

func newFifoFeeder(t *testing.T, dir string) *fifoFeeder {
	t.Helper()
	ff := &fifoFeeder{path: filepath.Join(dir, "in.fifo"), written: make(chan int, 1),
		stall: make(chan struct{}), done: make(chan struct{})}
	if err := syscall.Mkfifo(ff.path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	go func() {
		f, err := os.OpenFile(ff.path, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer f.Close()
		w, _ := writer.NewPcap(f, 1, 262144, false)
		ps := synthPackets(1000, 10, 1700000000e9, 1e6, 100)
		sent := 0
		for round := 0; ; round++ {
			for i := range ps {
				ps[i].Timestamp += 1e9
				if w.WritePacket(&ps[i]) != nil {
					return
				}
			}
			if w.Flush() != nil {
				return
			}
			sent += len(ps)
			select {
			case ff.written <- sent:
			default:
			}
			select {
			case <-ff.done:
				return
			case <-ff.stall:
				<-ff.done
				return
			default:
			}
		}
	}()
	t.Cleanup(func() { close(ff.done) })
	return ff
}

// waitWritten waits until the feeder has written at least n packets.
func (ff *fifoFeeder) waitWritten(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case got := <-ff.written:
			if got >= n {
				return
			}
		case <-deadline:
			t.Fatal("the command does not read its input")
		}
	}
}

func startBin(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(pcaptkBinary(t), args...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return cmd, &out, &errOut
}

func waitExit(t *testing.T, cmd *exec.Cmd) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(30 * time.Second):
		t.Fatalf("%v did not end", cmd.Args)
	}
	return -1
}

// TestSignalsCompleteOutputs: SIGINT or SIGTERM in the middle of an offline
// command (twice at once, as timeout(1) sends them) completes its outputs with
// what was read; a second signal after the grace period removes them instead.
func TestSignalsCompleteOutputs(t *testing.T) {
	cases := []struct {
		name  string
		sig   syscall.Signal
		args  func(in, dir string) []string
		check func(t *testing.T, dir string)
	}{
		{"export-parquet-SIGINT", syscall.SIGINT,
			func(in, dir string) []string {
				return []string{"export", "-r", in, "--format", "parquet", "-o", filepath.Join(dir, "o.parquet")}
			},
			func(t *testing.T, dir string) {
				if n := len(parquetColumn(t, filepath.Join(dir, "o.parquet"), "frame")); n < 10000 {
					t.Errorf("%d rows", n)
				}
			}},
		{"conns-SIGTERM", syscall.SIGTERM,
			func(in, dir string) []string {
				return []string{"conns", "-r", in, "--format", "csv", "-o", filepath.Join(dir, "c.csv")}
			},
			func(t *testing.T, dir string) {
				b, err := os.ReadFile(filepath.Join(dir, "c.csv"))
				if rows := csvRows(t, string(b)); err != nil || len(rows) < 2 || rows[1][0] == "" {
					t.Errorf("%v: %d rows", err, len(rows))
				}
			}},
		{"filter-SIGTERM", syscall.SIGTERM,
			func(in, dir string) []string { return []string{"filter", "-r", in, "-w", filepath.Join(dir, "o.pcap")} },
			func(t *testing.T, dir string) {
				if n := wholeCapture(t, filepath.Join(dir, "o.pcap")); n < 10000 {
					t.Errorf("%d packets", n)
				}
			}},
		{"split-SIGINT", syscall.SIGINT,
			func(in, dir string) []string {
				return []string{"split", "-r", in, "-w", filepath.Join(dir, "p.pcap"), "--packets", "5000"}
			},
			func(t *testing.T, dir string) {
				files, _ := filepath.Glob(filepath.Join(dir, "p_*.pcap"))
				n := 0
				for _, f := range files {
					n += wholeCapture(t, f)
				}
				if n < 10000 {
					t.Errorf("%d packets in %d parts", n, len(files))
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			ff := newFifoFeeder(t, dir)
			cmd, _, stderr := startBin(t, c.args(ff.path, dir)...)
			ff.waitWritten(t, 20000)
			cmd.Process.Signal(c.sig)
			cmd.Process.Signal(c.sig) // an echo within the grace period changes nothing
			code := waitExit(t, cmd)
			if code != 128+int(c.sig) || !strings.Contains(stderr.String(), "interrupted by") {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, 128+int(c.sig), stderr)
			}
			c.check(t, dir)
			noTemporaries(t, dir)
		})
	}
	t.Run("second-signal-aborts", func(t *testing.T) {
		dir := t.TempDir()
		ff := newFifoFeeder(t, dir)
		out := filepath.Join(dir, "o.parquet")
		cmd, _, stderr := startBin(t, "export", "-r", ff.path, "--format", "parquet", "-o", out)
		ff.waitWritten(t, 5000)
		close(ff.stall) // the command now waits for input it will not get
		time.Sleep(200 * time.Millisecond)
		cmd.Process.Signal(syscall.SIGINT)
		time.Sleep(signalGrace + 500*time.Millisecond)
		cmd.Process.Signal(syscall.SIGINT)
		if code := waitExit(t, cmd); code != 130 || !strings.Contains(stderr.String(), "again") {
			t.Fatalf("exit %d; stderr:\n%s", code, stderr)
		}
		if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("an unfinished output exists: %v", err)
		}
		noTemporaries(t, dir)
	})
}

// TestHugeRecordsBoundedMemory: many inputs with one 60 MB record each (sparse
// files) stay within the shared read budget; records beyond it are refused with
// the file, packet and offset, and the rest is merged.
func TestHugeRecordsBoundedMemory(t *testing.T) {
	dir := t.TempDir()
	// hugeInput writes a pcap with a 60 MB record (a sparse file) at time bigTS and
	// a small packet at time smallTS, in time order.
	hugeInput := func(name string, bigTS, smallTS int64) string {
		p := filepath.Join(dir, name)
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		w, _ := writer.NewPcap(f, 1, 262144, false)
		small := reader.Packet{Data: make([]byte, 60), WireLen: 60, Timestamp: smallTS * 1e9}
		const big = 60_000_000
		var hdr [16]byte
		binary.LittleEndian.PutUint32(hdr[0:], uint32(bigTS))
		binary.LittleEndian.PutUint32(hdr[8:], big)
		binary.LittleEndian.PutUint32(hdr[12:], big)
		if smallTS < bigTS {
			w.WritePacket(&small)
		}
		w.Flush()
		f.Write(hdr[:])
		f.Seek(big, 1)
		if smallTS > bigTS {
			w.WritePacket(&small)
		}
		w.Flush()
		st, _ := f.Stat()
		if want := int64(24 + 16 + 60 + 16 + big); st.Size() < want {
			f.Truncate(want)
		}
		return p
	}
	// Simultaneous: every input starts with its big record, so all would be held
	// at once. Sequential: each input's big record comes after the previous one's.
	var simul, seq []string
	for i := range 40 {
		simul = append(simul, hugeInput(fmt.Sprintf("s%02d.pcap", i), 999, int64(1000+i)))
		if i < 16 {
			seq = append(seq, hugeInput(fmt.Sprintf("q%02d.pcap", i), int64(2000+2*i+1), int64(2000+2*i)))
		}
	}
	exportArgs := func(out string, ins []string) []string {
		a := []string{"export", "--format", "csv", "--columns", "frame", "-o", out}
		for _, in := range ins {
			a = append(a, "-r", in)
		}
		return a
	}
	for _, c := range []struct {
		name    string
		args    []string
		refused bool
	}{
		{"merge-simultaneous", append([]string{"merge", "-w", filepath.Join(dir, "m1.pcap")}, simul[:16]...), true},
		{"merge-sequential", append([]string{"merge", "-w", filepath.Join(dir, "m2.pcap")}, seq...), false},
		{"export-simultaneous", exportArgs(filepath.Join(dir, "e1.csv"), simul[:16]), true},
		{"export-sequential", exportArgs(filepath.Join(dir, "e2.csv"), seq), false},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, rss, stderr := peakRSS(t, c.args...)
			t.Logf("exit %d, peak RSS %d MB", code, rss>>20)
			if rss > 256<<20 {
				t.Errorf("peak RSS %d MB", rss>>20)
			}
			refusal := "packet 1 at offset 24: record length exceeds the limit (record of 60000016 bytes: read memory shared by the inputs"
			if c.refused && (code != exitFailure || !strings.Contains(stderr.String(), refusal)) {
				t.Errorf("exit %d; stderr:\n%s", code, stderr)
			}
			if !c.refused && code != 0 {
				t.Errorf("exit %d; stderr:\n%s", code, stderr)
			}
		})
	}
	t.Run("merge-40-ulimit-v", func(t *testing.T) {
		out40 := filepath.Join(dir, "out40.pcap")
		sh := "ulimit -v 2500000 && exec " + pcaptkBinary(t) + " merge -w " + out40 + " " + strings.Join(simul, " ")
		out, err := exec.Command("sh", "-c", sh).CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitFailure || bytes.Contains(out, []byte("fatal error")) ||
			!bytes.Contains(out, []byte("s39.pcap: packet 1")) {
			t.Fatalf("%v\n%s", err, out)
		}
		// The inputs whose big record fit the budget are merged whole.
		if n := wholeCapture(t, out40); n < 4 || n%2 != 0 {
			t.Errorf("merged %d packets", n)
		}
	})
}

// peakRSS runs pcaptk with args under /usr/bin/time and returns its exit code,
// its peak resident memory in bytes and its stderr.
func peakRSS(t *testing.T, args ...string) (int, int64, *bytes.Buffer) {
	t.Helper()
	cmd, peak := timedCommand(t, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.Start()
	code := waitExit(t, cmd)
	return code, peak(), &stderr
}

// timedCommand returns a command running pcaptk with args under /usr/bin/time,
// and a function that reads its peak resident memory (bytes) once it has ended.
// (The rusage that wait4 gives the test for a child it starts directly is no
// use: the child is cloned from the test process, whose resident size its peak
// then includes.)
func timedCommand(t *testing.T, args ...string) (*exec.Cmd, func() int64) {
	t.Helper()
	gnuTime, err := exec.LookPath("/usr/bin/time")
	if err != nil {
		t.Skip("/usr/bin/time not installed (apt-get install time)")
	}
	out := filepath.Join(t.TempDir(), "time")
	cmd := exec.Command(gnuTime, append([]string{"-f", "%M", "-o", out, pcaptkBinary(t)}, args...)...)
	return cmd, func() int64 {
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		f := strings.Fields(string(b))
		kb, err := strconv.ParseInt(f[len(f)-1], 10, 64)
		if err != nil {
			t.Fatalf("/usr/bin/time wrote %q", b)
		}
		return kb << 10
	}
}

// TestSplitFlowsLowFileLimit: under a low ulimit -n, split --flows keeps fewer
// files open, says so, and still writes every connection.
func TestSplitFlowsLowFileLimit(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pcap")
	writeSynth(t, in, 3000, 300, 20)
	sh := "ulimit -n 40 && exec " + pcaptkBinary(t) + " split --flows -r " + in + " -w " + filepath.Join(dir, "f.pcap")
	cmd := exec.Command("sh", "-c", sh)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "files open at once instead of 128") {
		t.Errorf("no note on stderr: %q", stderr.String())
	}
	files := strings.Fields(stdout.String())
	total := 0
	for _, f := range files {
		total += wholeCapture(t, f)
	}
	if len(files) != 300 || total != 3000 {
		t.Fatalf("%d files holding %d packets", len(files), total)
	}
}
