package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/pcaptk/pcaptk/internal/testcap"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// Usage errors are found before any interface is opened, so they need no root.
func TestCaptureUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"capture", "-i", "lo", "-w", "x.pcap", "-W", "3"}, "-W needs"},
		{[]string{"capture", "-i", "lo", "-C", "1"}, "need -w"},
		{[]string{"capture", "-i", "lo", "-w", "-", "-G", "10"}, "standard output"},
		{[]string{"capture", "-i", "lo", "-z", "gzip"}, "-z needs"},
		{[]string{"capture", "-i", "lo", "--format", "erf", "-w", "x"}, "unknown --format"},
		{[]string{"capture", "-i", "lo", "tcp", "port"}, "filter"},
		{[]string{"capture", "--no-such-flag"}, "unknown flag"},
	} {
		var out, errOut bytes.Buffer
		code := run(tc.args, &streams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut})
		if code != exitUsage || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and %q", tc.args, code, errOut.String(), tc.want)
		}
	}
}

func TestCaptureList(t *testing.T) {
	var out, errOut bytes.Buffer
	if code := run([]string{"capture", "-D"}, &streams{Out: &out, ErrOut: &errOut}); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !regexp.MustCompile(`(?m)^\d+\.lo \[Up, Running, Loopback`).MatchString(out.String()) {
		t.Errorf("-D does not list lo as tcpdump -D does:\n%s", out.String())
	}
}

func needCaptureRoot(t *testing.T, tools ...string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("live capture tests need root (CAP_NET_RAW); not root")
	}
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (scripts/setup.sh installs it)", tool)
		}
	}
}

// TestCaptureLive runs the pcaptk binary as a subprocess against real traffic on
// loopback (and a veth pair into a network namespace), next to tcpdump.
func TestCaptureLive(t *testing.T) {
	needCaptureRoot(t, "tcpdump")
	bin := filepath.Join(t.TempDir(), "pcaptk")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Run("size-and-count-rotation-equal-tcpdump", func(t *testing.T) { testLiveRotationEqualsTcpdump(t, bin) })
	t.Run("time-rotation-idle", func(t *testing.T) { testLiveTimeRotation(t, bin) })
	t.Run("ring-and-postrotate", func(t *testing.T) { testLiveRing(t, bin) })
	t.Run("count-any", func(t *testing.T) { testLiveCount(t, bin) })
	t.Run("stdout-pipe", func(t *testing.T) { testLiveStdoutPipe(t, bin) })
	t.Run("stalled-output-counts-drops", func(t *testing.T) { testLiveStalledOutput(t, bin) })
	t.Run("print", func(t *testing.T) { testLivePrint(t, bin) })
	t.Run("multi-interface-pcapng", func(t *testing.T) { testLiveMultiInterface(t, bin) })
	t.Run("drop-privileges", func(t *testing.T) { testLiveDropPrivileges(t, bin) })
	t.Run("full-disk", func(t *testing.T) { testLiveFullDisk(t, bin) })
	t.Run("full-disk-ring", func(t *testing.T) { testLiveFullDiskRing(t, bin) })
	t.Run("signal-echo", func(t *testing.T) { testLiveSignalEcho(t, bin) })
	t.Run("second-signal", func(t *testing.T) { testLiveSecondSignal(t, bin) })
	t.Run("planted-names", func(t *testing.T) { testLivePlantedNames(t, bin) })
	t.Run("errors", func(t *testing.T) { testLiveErrors(t, bin) })
	t.Run("walkthrough", func(t *testing.T) { testLiveWalkthrough(t, bin) })
	t.Run("tcpdump-side-by-side", func(t *testing.T) { testLiveMatchesTcpdump(t, bin) })
	t.Run("any-writes-cooked-v2", func(t *testing.T) { testLiveAnyWritesCookedV2(t, bin) })
}

// liveProc is a capture running in the background.
type liveProc struct {
	cmd    *exec.Cmd
	stderr *testcap.SyncBuffer
	done   chan error
}

// liveStart starts name with args and waits until it says it is listening.
func liveStart(t *testing.T, name string, args ...string) *liveProc {
	t.Helper()
	p := &liveProc{cmd: exec.Command(name, args...), stderr: &testcap.SyncBuffer{}, done: make(chan error, 1)}
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() { p.cmd.Process.Kill() })
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(p.stderr.String(), "listening on") {
		select {
		case err := <-p.done:
			t.Fatalf("%s %v ended before listening: %v\n%s", name, args, err, p.stderr)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %v not listening after 10 s:\n%s", name, args, p.stderr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return p
}

// stop sends SIGINT and waits for the exit; it returns the exit code and stderr.
func (p *liveProc) stop(t *testing.T) (int, string) {
	t.Helper()
	return p.stopWith(t, syscall.SIGINT)
}

func (p *liveProc) stopWith(t *testing.T, sig os.Signal) (int, string) {
	t.Helper()
	p.cmd.Process.Signal(sig)
	return p.wait(t)
}

func (p *liveProc) wait(t *testing.T) (int, string) {
	t.Helper()
	select {
	case err := <-p.done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode(), p.stderr.String()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0, p.stderr.String()
	case <-time.After(15 * time.Second):
		t.Fatalf("%v did not end:\n%s", p.cmd.Args, p.stderr)
	}
	return -1, ""
}

// liveKernelDrops reads "N packets dropped by kernel" from a tcpdump-style summary.
func liveKernelDrops(t *testing.T, stderr string) int {
	t.Helper()
	m := regexp.MustCompile(`(\d+) packets? dropped by kernel`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no kernel drop count in:\n%s", stderr)
	}
	n, _ := strconv.Atoi(m[1])
	return n
}

// liveEchoServer echoes on a loopback TCP port until the test ends.
func liveEchoServer(t *testing.T, addr string) int {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// liveChatter opens conns connections to addr; each sends rounds messages of varying
// size and waits for each echo, so that every message is a segment of its own.
func liveChatter(t *testing.T, addr string, conns, rounds int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, conns)
	for c := 0; c < conns; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			conn, err := net.Dial("tcp", addr)
			if err != nil {
				errs <- err
				return
			}
			defer conn.Close()
			buf := make([]byte, 3000)
			for r := 0; r < rounds; r++ {
				n := 1 + (c*7919+r*104729)%len(buf)
				for i := range buf[:n] {
					buf[i] = byte(c + r + i)
				}
				if _, err := conn.Write(buf[:n]); err != nil {
					errs <- err
					return
				}
				if _, err := io.ReadFull(conn, buf[:n]); err != nil {
					errs <- err
					return
				}
			}
		}(c)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// liveReadPackets reads every packet of the files, in order.
func liveReadPackets(t *testing.T, files ...string) []reader.Packet {
	t.Helper()
	var out []reader.Packet
	for _, f := range files {
		r, err := reader.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		for {
			p, err := r.NextCopy()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			out = append(out, p)
		}
		r.Close()
	}
	return out
}

// liveStampSlack is how far apart two captures may stamp one packet. Locally sent TCP
// packets carry no real-time stamp, so the kernel stamps each capturing socket's copy
// as it delivers it: two tcpdumps side by side differ by a microsecond or two.
const liveStampSlack = time.Millisecond

// liveSamePackets checks that got holds exactly the packets of want: the same bytes and
// lengths, timestamps within liveStampSlack, and the same order within each direction of
// each connection. Across connections the order may differ: packets sent at the same
// moment from two CPUs reach two capturing sockets in either order (two tcpdumps side
// by side disagree the same way).
func liveSamePackets(t *testing.T, what string, got, want []reader.Packet) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d packets, tcpdump has %d", what, len(got), len(want))
	}
	stamps := map[string][]int64{} // packet bytes → tcpdump's timestamps
	wantFlows := map[string][]string{}
	for _, w := range want {
		k := fmt.Sprintf("%d/%d/%s", w.CapLen, w.WireLen, w.Data)
		stamps[k] = append(stamps[k], w.Timestamp)
		wantFlows[liveFlowKey(w.Data)] = append(wantFlows[liveFlowKey(w.Data)], k)
	}
	gotFlows := map[string][]string{}
	for i, g := range got {
		k := fmt.Sprintf("%d/%d/%s", g.CapLen, g.WireLen, g.Data)
		ts := stamps[k]
		if len(ts) == 0 {
			t.Fatalf("%s: packet %d (%d bytes at %d) is not in tcpdump's capture", what, i+1, g.CapLen, g.Timestamp)
		}
		if d := time.Duration(g.Timestamp - ts[0]); d < -liveStampSlack || d > liveStampSlack {
			t.Fatalf("%s: packet %d stamped %d, tcpdump %d", what, i+1, g.Timestamp, ts[0])
		}
		stamps[k] = ts[1:]
		gotFlows[liveFlowKey(g.Data)] = append(gotFlows[liveFlowKey(g.Data)], k)
	}
	for f, ks := range wantFlows {
		if fmt.Sprint(gotFlows[f]) != fmt.Sprint(ks) {
			t.Fatalf("%s: the packets of flow %x are not in tcpdump's order", what, f)
		}
	}
}

// liveFlowKey is the addresses and ports of an Ethernet/IPv4/TCP-or-UDP packet, else "".
func liveFlowKey(b []byte) string {
	if len(b) < 34 || b[12] != 0x08 || b[13] != 0x00 {
		return ""
	}
	ihl := int(b[14]&0x0f) * 4
	if len(b) < 14+ihl+4 {
		return ""
	}
	return string(b[26:34]) + string(b[14+ihl:14+ihl+4])
}

func liveGlob(t *testing.T, pattern string) []string {
	t.Helper()
	m, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(m)
	return m
}

func liveCheckMode(t *testing.T, files []string) {
	t.Helper()
	for _, f := range files {
		fi, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: mode %v, want 0600", f, fi.Mode().Perm())
		}
	}
}

// liveTcpdumpPause lets tcpdump, whose packet buffer timeout is 1 s, write out what it
// has before it is stopped.
const liveTcpdumpPause = 1200 * time.Millisecond

func testLiveRotationEqualsTcpdump(t *testing.T, bin string) {
	dir := t.TempDir()
	port := liveEchoServer(t, "127.0.0.1:0")
	expr := fmt.Sprintf("tcp port %d", port)
	td := liveStart(t, "tcpdump", "-i", "lo", "-B", "32768", "-w", filepath.Join(dir, "tcpdump.pcap"), expr)
	bySize := liveStart(t, bin, "capture", "-i", "lo", "-w", filepath.Join(dir, "size.pcap"), "-C", "0.2", expr)
	byCount := liveStart(t, bin, "capture", "-i", "lo", "-w", filepath.Join(dir, "count.pcapng"),
		"--packets-per-file", "500", expr)
	liveChatter(t, fmt.Sprintf("127.0.0.1:%d", port), 8, 150)
	time.Sleep(liveTcpdumpPause)
	var stderrs [3]string
	for i, p := range []*liveProc{td, bySize, byCount} {
		code, stderr := p.stop(t)
		if code != 0 {
			t.Fatalf("%v: exit %d\n%s", p.cmd.Args, code, stderr)
		}
		if liveKernelDrops(t, stderr) != 0 {
			t.Fatalf("%v dropped packets, the comparison would mean nothing:\n%s", p.cmd.Args, stderr)
		}
		stderrs[i] = stderr
	}
	want := liveReadPackets(t, filepath.Join(dir, "tcpdump.pcap"))
	if len(want) < 2000 {
		t.Fatalf("only %d packets of traffic", len(want))
	}

	sizeFiles := liveGlob(t, filepath.Join(dir, "size_*.pcap"))
	if len(sizeFiles) < 3 {
		t.Errorf("-C 0.2 made %d files of %d packets", len(sizeFiles), len(want))
	}
	for _, f := range sizeFiles {
		if fi, _ := os.Stat(f); fi.Size() > 200000 {
			t.Errorf("%s: %d bytes, over -C 0.2", f, fi.Size())
		}
		if !regexp.MustCompile(`size_\d{5}_\d{14}\.pcap$`).MatchString(f) {
			t.Errorf("file name %s is not NAME_NNNNN_YYYYmmddHHMMSS.pcap", f)
		}
	}
	liveCheckMode(t, sizeFiles)
	liveSamePackets(t, "-C", liveReadPackets(t, sizeFiles...), want)
	if !strings.Contains(stderrs[1], fmt.Sprintf("%d packets captured", len(want))) {
		t.Errorf("stderr lacks %d packets captured:\n%s", len(want), stderrs[1])
	}

	countFiles := liveGlob(t, filepath.Join(dir, "count_*.pcapng"))
	for i, f := range countFiles {
		n := len(liveReadPackets(t, f))
		if n != 500 && i != len(countFiles)-1 || n > 500 {
			t.Errorf("%s: %d packets, want 500", f, n)
		}
	}
	liveCheckMode(t, countFiles)
	liveSamePackets(t, "--packets-per-file", liveReadPackets(t, countFiles...), want)
}

func testLiveTimeRotation(t *testing.T, bin string) {
	dir := t.TempDir()
	port := liveEchoServer(t, "127.0.0.1:0")
	expr := fmt.Sprintf("tcp port %d", port)
	zlog := filepath.Join(dir, "closed.log")
	td := liveStart(t, "tcpdump", "-i", "lo", "-B", "32768", "-w", filepath.Join(dir, "tcpdump.pcap"), expr)
	pc := liveStart(t, bin, "capture", "-i", "lo", "-w", filepath.Join(dir, "t-%Y%m%d-%H%M%S.pcap"), "-G", "1",
		"-z", "echo >>"+zlog, expr)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	liveChatter(t, addr, 4, 50)
	// Idle: no packet comes, yet the file of that second must be completed on time.
	time.Sleep(2500 * time.Millisecond)
	closedWhileIdle, _ := os.ReadFile(zlog)
	liveChatter(t, addr, 4, 50)
	time.Sleep(liveTcpdumpPause)
	if code, stderr := pc.stop(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if code, stderr := td.stop(t); code != 0 || liveKernelDrops(t, stderr) != 0 {
		t.Fatalf("tcpdump: exit %d\n%s", code, stderr)
	}
	if len(closedWhileIdle) == 0 {
		t.Error("no file was completed during the idle period: -G did not cut on a timer")
	}
	files := liveGlob(t, filepath.Join(dir, "t-*.pcap"))
	for _, f := range files {
		// A packet that reaches the queue after its second's file was closed gets a file
		// of its own, numbered rather than overwriting (a loaded machine can do that).
		if !regexp.MustCompile(`t-\d{8}-\d{6}(_\d{5})?\.pcap$`).MatchString(f) {
			t.Errorf("%s: strftime fields not expanded", f)
		}
		ps := liveReadPackets(t, f)
		for _, p := range ps {
			if p.Timestamp/1e9 != ps[0].Timestamp/1e9 {
				t.Errorf("%s holds packets of two seconds: %d and %d", f, ps[0].Timestamp, p.Timestamp)
				break
			}
		}
	}
	liveCheckMode(t, files)
	liveSamePackets(t, "-G", liveReadPackets(t, files...), liveReadPackets(t, filepath.Join(dir, "tcpdump.pcap")))
	closed, _ := os.ReadFile(zlog)
	if got := strings.Fields(string(closed)); len(got) != len(files) {
		t.Errorf("-z ran %d times for %d files:\n%s", len(got), len(files), closed)
	}
}

func testLiveRing(t *testing.T, bin string) {
	dir := t.TempDir()
	port := liveEchoServer(t, "127.0.0.1:0")
	zlog := filepath.Join(dir, "closed.log")
	// A slow -z (ls lists the file only if it still exists) must neither stall the
	// capture nor find its file already removed by the ring.
	pc := liveStart(t, bin, "capture", "-i", "lo", "-w", filepath.Join(dir, "ring.pcap"),
		"--packets-per-file", "100", "-W", "3", "-z", "sleep 0.1; ls >>"+zlog, fmt.Sprintf("tcp port %d", port))
	liveChatter(t, fmt.Sprintf("127.0.0.1:%d", port), 2, 100)
	time.Sleep(300 * time.Millisecond)
	code, stderr := pc.stop(t)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	files := liveGlob(t, filepath.Join(dir, "ring_*.pcap"))
	if len(files) != 3 {
		t.Fatalf("-W 3 left %d files: %v", len(files), files)
	}
	// The files are the newest three: the last sequence numbers.
	last, _ := strconv.Atoi(regexp.MustCompile(`_(\d{5})_`).FindStringSubmatch(files[2])[1])
	if last < 5 {
		t.Fatalf("only %d files were made", last)
	}
	for i, f := range files {
		if !strings.Contains(f, fmt.Sprintf("_%05d_", last-2+i)) {
			t.Errorf("file %d is %s, want number %d", i, f, last-2+i)
		}
	}
	closed, _ := os.ReadFile(zlog)
	names := strings.Fields(string(closed))
	if len(names) != last {
		t.Errorf("-z ran %d times for %d files", len(names), last)
	}
	seen := map[string]bool{}
	for _, n := range names {
		if seen[n] {
			t.Errorf("-z ran twice on %s", n)
		}
		seen[n] = true
	}
	n := len(liveReadPackets(t, files...))
	if n <= 200 || n > 300 {
		t.Errorf("the ring holds %d packets, want 201 to 300", n)
	}
}

func testLiveCount(t *testing.T, bin string) {
	dir := t.TempDir()
	port := liveEchoServer(t, "127.0.0.1:0")
	out := filepath.Join(dir, "c.pcap")
	pc := liveStart(t, bin, "capture", "-i", "any", "-w", out, "-c", "10", fmt.Sprintf("tcp port %d", port))
	liveChatter(t, fmt.Sprintf("127.0.0.1:%d", port), 1, 20)
	code, stderr := pc.wait(t)
	if code != 0 || !strings.Contains(stderr, "10 packets captured") {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	ps := liveReadPackets(t, out)
	if len(ps) != 10 {
		t.Errorf("-c 10 wrote %d packets", len(ps))
	}
	for _, p := range ps {
		if p.LinkType != 113 && p.LinkType != 276 { // Linux cooked v1, v2
			t.Fatalf("-i any wrote link type %d, want Linux cooked", p.LinkType)
		}
	}
}

func testLiveStdoutPipe(t *testing.T, bin string) {
	port := liveEchoServer(t, "127.0.0.1:0")
	capt := exec.Command(bin, "capture", "-i", "lo", "-w", "-", "-c", "12", fmt.Sprintf("tcp port %d", port))
	read := exec.Command(bin, "read", "-r", "-", "-nn")
	pipe, err := capt.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	read.Stdin = pipe
	var out, readErr bytes.Buffer
	capErr := &testcap.SyncBuffer{}
	read.Stdout, read.Stderr, capt.Stderr = &out, &readErr, capErr
	if err := capt.Start(); err != nil {
		t.Fatal(err)
	}
	if err := read.Start(); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(capErr.String(), "listening on") {
		time.Sleep(20 * time.Millisecond)
	}
	liveChatter(t, fmt.Sprintf("127.0.0.1:%d", port), 1, 10)
	if err := capt.Wait(); err != nil {
		t.Fatalf("capture: %v\n%s", err, capErr)
	}
	if err := read.Wait(); err != nil {
		t.Fatalf("read -r -: %v\n%s", err, readErr.String())
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 12 || !strings.Contains(lines[0], "Flags [S]") {
		t.Errorf("read -r - printed %d lines, want 12 starting with the SYN:\n%s", len(lines), out.String())
	}
}

// While nothing reads pcaptk's standard output, reading from the kernel goes on: the
// packets that find the small queue full are counted and reported, not lost silently,
// and the stream stays valid.
func testLiveStalledOutput(t *testing.T, bin string) {
	port := liveEchoServer(t, "127.0.0.1:0")
	c := exec.Command(bin, "capture", "-i", "lo", "-w", "-", "--queue-size", "1", fmt.Sprintf("tcp port %d", port))
	stdout, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	errOut := &testcap.SyncBuffer{}
	c.Stderr = errOut
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Process.Kill() })
	for !strings.Contains(errOut.String(), "listening on") {
		time.Sleep(20 * time.Millisecond)
	}
	liveChatter(t, fmt.Sprintf("127.0.0.1:%d", port), 8, 150) // about 3 MB, nobody reading
	time.Sleep(300 * time.Millisecond)
	out := filepath.Join(t.TempDir(), "stream.pcap")
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	copied := make(chan error, 1)
	go func() { _, err := io.Copy(f, stdout); copied <- err }()
	time.Sleep(300 * time.Millisecond)
	c.Process.Signal(syscall.SIGINT)
	if err := <-copied; err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := c.Wait(); err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	m := regexp.MustCompile(`(\d+) packets captured\n(?s:.*)\n(\d+) packets dropped by pcaptk \(write queue full`).
		FindStringSubmatch(errOut.String())
	if m == nil {
		t.Fatalf("no queue drops reported:\n%s", errOut)
	}
	if n := len(liveReadPackets(t, out)); strconv.Itoa(n) != m[1] {
		t.Errorf("the stream holds %d packets, stderr says %s captured", n, m[1])
	}
}

func testLivePrint(t *testing.T, bin string) {
	port := liveEchoServer(t, "127.0.0.1:0")
	c := exec.Command(bin, "capture", "-i", "lo", "-nn", "-c", "3", fmt.Sprintf("tcp port %d", port))
	var out bytes.Buffer
	errOut := &testcap.SyncBuffer{}
	c.Stdout, c.Stderr = &out, errOut
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	for !strings.Contains(errOut.String(), "listening on") {
		time.Sleep(20 * time.Millisecond)
	}
	liveChatter(t, fmt.Sprintf("127.0.0.1:%d", port), 1, 1)
	if err := c.Wait(); err != nil {
		t.Fatalf("%v\n%s", err, errOut)
	}
	want := regexp.MustCompile(fmt.Sprintf(`^\d\d:\d\d:\d\d\.\d{6} IP 127\.0\.0\.1\.\d+ > 127\.0\.0\.1\.%d: Flags \[S\], seq \d+, win \d+, options \[mss`, port))
	if lines := strings.Split(out.String(), "\n"); len(lines) != 4 || !want.MatchString(lines[0]) {
		t.Errorf("printed:\n%s", out.String())
	}
}

// liveNetnsPair makes a veth pair pcv0 (10.98.0.1, here) - pcv1 (10.98.0.2, in netns pcB).
func liveNetnsPair(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("ip (iproute2) is not installed")
	}
	sh := func(args ...string) error {
		out, err := exec.Command("ip", args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	exec.Command("ip", "netns", "del", "pcB").Run()
	exec.Command("ip", "link", "del", "pcv0").Run()
	t.Cleanup(func() {
		exec.Command("ip", "link", "del", "pcv0").Run()
		exec.Command("ip", "netns", "del", "pcB").Run()
	})
	for _, cmd := range [][]string{
		{"netns", "add", "pcB"},
		{"link", "add", "pcv0", "type", "veth", "peer", "name", "pcv1"},
		{"link", "set", "pcv1", "netns", "pcB"},
		{"addr", "add", "10.98.0.1/24", "dev", "pcv0"},
		{"link", "set", "pcv0", "up"},
		{"-n", "pcB", "addr", "add", "10.98.0.2/24", "dev", "pcv1"},
		{"-n", "pcB", "link", "set", "pcv1", "up"},
		{"-n", "pcB", "link", "set", "lo", "up"},
	} {
		if err := sh(cmd...); err != nil {
			t.Skipf("cannot build the test network (%v)", err)
		}
	}
}

func testLiveMultiInterface(t *testing.T, bin string) {
	needCaptureRoot(t, "tshark")
	liveNetnsPair(t)
	dir := t.TempDir()
	port := liveEchoServer(t, "127.0.0.1:0")
	out := filepath.Join(dir, "multi.pcapng")
	pc := liveStart(t, bin, "capture", "-i", "lo", "-i", "pcv0", "-w", out,
		fmt.Sprintf("udp port 47619 or tcp port %d", port))
	liveChatter(t, fmt.Sprintf("127.0.0.1:%d", port), 1, 5)
	// Datagrams into the namespace leave through pcv0 (the replies, ICMP port
	// unreachable, do not match the filter).
	u, err := net.ListenPacket("udp", "10.98.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 6; i++ {
		if _, err := u.WriteTo([]byte("pcaptk"), &net.UDPAddr{IP: net.IPv4(10, 98, 0, 2), Port: 47619}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	u.Close()
	time.Sleep(300 * time.Millisecond)
	code, stderr := pc.stop(t)
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	liveCheckMode(t, []string{out})
	o, err := exec.Command("tshark", "-r", out, "-T", "fields", "-e", "frame.interface_name", "-e", "_ws.col.Protocol").Output()
	if err != nil {
		t.Fatalf("tshark cannot read the file: %v", err)
	}
	count := map[string]int{}
	total := 0
	for _, line := range strings.Split(strings.TrimSpace(string(o)), "\n") {
		count[line]++
		total++
	}
	if count["lo\tTCP"] < 10 || count["pcv0\tUDP"] != 6 || len(count) != 2 {
		t.Errorf("tshark sees %v; want TCP on lo and 6 UDP on pcv0", count)
	}
	if ps := liveReadPackets(t, out); len(ps) != total {
		t.Errorf("pcaptk reads %d packets, tshark %d", len(ps), total)
	}
	// SIGINT completed the file with interface statistics blocks (type 5) at the end.
	data, _ := os.ReadFile(out)
	last := binary.LittleEndian.Uint32(data[len(data)-4:])
	if typ := binary.LittleEndian.Uint32(data[len(data)-int(last):]); typ != 5 {
		t.Errorf("last block has type %d, want an interface statistics block (5)", typ)
	}
}

func testLiveDropPrivileges(t *testing.T, bin string) {
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	liveOpenUpParents(dir) // nobody writes the next files and runs -z in there
	port := liveEchoServer(t, "127.0.0.1:0")
	ids := filepath.Join(dir, "ids")
	pc := liveStart(t, bin, "capture", "-i", "lo", "-Z", "nobody", "-w", filepath.Join(dir, "z.pcap"),
		"--packets-per-file", "100", "-z", "id -u >>"+ids+"; true", fmt.Sprintf("tcp port %d", port))
	liveChatter(t, fmt.Sprintf("127.0.0.1:%d", port), 2, 60)
	time.Sleep(300 * time.Millisecond)
	if code, stderr := pc.stopWith(t, syscall.SIGTERM); code != 0 || !strings.Contains(stderr, "packets captured") {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	files := liveGlob(t, filepath.Join(dir, "z_*.pcap"))
	if len(files) < 2 {
		t.Fatalf("%d files", len(files))
	}
	liveCheckMode(t, files)
	for _, f := range files {
		fi, _ := os.Stat(f)
		if uid := strconv.Itoa(int(fi.Sys().(*syscall.Stat_t).Uid)); uid != nobody.Uid {
			t.Errorf("%s belongs to uid %s, not nobody (%s)", f, uid, nobody.Uid)
		}
	}
	got, _ := os.ReadFile(ids)
	for _, id := range strings.Fields(string(got)) {
		if id != nobody.Uid {
			t.Errorf("-z ran as uid %s after -Z nobody", id)
		}
	}
	if len(strings.Fields(string(got))) != len(files) {
		t.Errorf("-z ran %d times for %d files", len(strings.Fields(string(got))), len(files))
	}
}

func testLiveFullDisk(t *testing.T, bin string) {
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "pcaptk-test", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	port := liveEchoServer(t, "127.0.0.1:0")
	pc := liveStart(t, bin, "capture", "-i", "lo", "-w", filepath.Join(dir, "full.pcap"), "-C", "0.3",
		fmt.Sprintf("tcp port %d", port))
	liveChatter(t, fmt.Sprintf("127.0.0.1:%d", port), 8, 150) // about 3 MB on the wire
	code, stderr := pc.wait(t)
	if code != 1 || !strings.Contains(stderr, "no space left on device") {
		t.Fatalf("exit %d, want 1 with a clear message:\n%s", code, stderr)
	}
	files := liveGlob(t, filepath.Join(dir, "full_*.pcap"))
	if len(files) < 3 {
		t.Errorf("only %d files before the disk filled", len(files))
	}
	kept := liveReadPackets(t, files...) // fails on a file cut mid-record
	if !strings.Contains(stderr, fmt.Sprintf("\n%d packets captured", len(kept))) {
		t.Errorf("the files hold %d packets; stderr says otherwise:\n%s", len(kept), stderr)
	}
	for _, f := range files {
		if out, err := exec.Command("tcpdump", "-r", f, "-w", "/dev/null").CombinedOutput(); err != nil ||
			bytes.Contains(out, []byte("truncated")) {
			t.Errorf("tcpdump -r %s: %v\n%s", f, err, out)
		}
	}
}

// liveOpenUpParents lets other users through the test's temporary directories above path.
func liveOpenUpParents(path string) {
	for d := filepath.Dir(path); d != os.TempDir() && d != "/" && d != "."; d = filepath.Dir(d) {
		os.Chmod(d, 0o755)
	}
}

func testLiveErrors(t *testing.T, bin string) {
	out, err := exec.Command(bin, "capture", "-i", "pcaptk-nosuch0", "-w", "/dev/null").CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 ||
		!bytes.Contains(out, []byte(`"pcaptk-nosuch0": no such interface`)) {
		t.Errorf("missing interface: %v\n%s", err, out)
	}
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	gid, _ := strconv.Atoi(nobody.Gid)
	liveOpenUpParents(bin) // nobody must reach the binary
	c := exec.Command(bin, "capture", "-i", "lo", "-c", "1")
	c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	out, err = c.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 ||
		!bytes.Contains(out, []byte(`"lo": permission denied`)) || !bytes.Contains(out, []byte("CAP_NET_RAW")) {
		t.Errorf("capture as nobody: %v\n%s", err, out)
	}

	// With the capabilities the message names (setcap on a copy), nobody may capture.
	if _, err := exec.LookPath("setcap"); err != nil {
		t.Skip("setcap is not installed (libcap2-bin)")
	}
	capBin := filepath.Join(filepath.Dir(bin), "pcaptk-setcap")
	data, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(capBin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("setcap", "cap_net_raw,cap_net_admin=eip", capBin).CombinedOutput(); err != nil {
		t.Skipf("setcap refused (file system without capabilities?): %v %s", err, out)
	}
	c = exec.Command(capBin, "capture", "-i", "lo", "-w", "/dev/null", "--duration", "0.2")
	c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
	if out, err := c.CombinedOutput(); err != nil || !bytes.Contains(out, []byte("0 packets dropped by kernel")) {
		t.Errorf("capture as nobody with cap_net_raw: %v\n%s", err, out)
	}
}

// testLiveWalkthrough runs the README's walkthrough: memcached on loopback, a telnet-style
// session, the capture read back.
func testLiveWalkthrough(t *testing.T, bin string) {
	needCaptureRoot(t, "memcached")
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0") // a free port, as 11211 may be taken
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	mc := exec.Command("memcached", "-u", "nobody", "-l", "127.0.0.1", "-p", strconv.Itoa(port), "-U", "0")
	if err := mc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { mc.Process.Kill(); mc.Wait() })
	var conn net.Conn
	for i := 0; i < 100; i++ {
		if conn, err = net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
			conn.Close()
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("memcached does not answer: %v", err)
	}
	out := filepath.Join(dir, "memcached.pcap")
	pc := liveStart(t, bin, "capture", "-i", "lo", "-w", out, fmt.Sprintf("tcp port %d", port))

	conn, err = net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(conn)
	session := []struct{ send, want string }{
		{"get userId\r\n", "END\r\n"},
		{"set username 0 0 4\r\nnick\r\n", "STORED\r\n"},
		{"get username\r\n", "VALUE username 0 4\r\nnick\r\nEND\r\n"},
	}
	for _, s := range session {
		fmt.Fprint(conn, s.send)
		got := make([]byte, len(s.want))
		if _, err := io.ReadFull(br, got); err != nil || string(got) != s.want {
			t.Fatalf("memcached answered %q to %q (%v)", got, s.send, err)
		}
	}
	fmt.Fprint(conn, "quit\r\n")
	io.Copy(io.Discard, br) // memcached closes
	conn.Close()
	time.Sleep(300 * time.Millisecond)
	if code, stderr := pc.stop(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}

	text, err := exec.Command(bin, "read", "-r", out, "-nn").CombinedOutput()
	if err != nil {
		t.Fatalf("read: %v\n%s", err, text)
	}
	lines := strings.Split(strings.TrimSpace(string(text)), "\n")
	flags := regexp.MustCompile(`Flags \[([^\]]+)\]`)
	var seq []string
	for _, l := range lines {
		if m := flags.FindStringSubmatch(l); m != nil {
			seq = append(seq, m[1])
		}
	}
	got := strings.Join(seq, " ")
	// Handshake, four requests with their answers, and both sides closing.
	if !strings.HasPrefix(got, "S S. . P.") || strings.Count(got, "P.") < 7 || strings.Count(got, "F.") != 2 {
		t.Errorf("flags %q, want the handshake, pushes and two FINs:\n%s", got, text)
	}
	if !strings.Contains(string(text), "length 26") { // "set username 0 0 4\r\nnick\r\n"
		t.Errorf("no 26-byte set request:\n%s", text)
	}
	testLiveWalkthroughExport(t, bin, out, len(seq))
}

// testLiveWalkthroughExport exports the walkthrough's capture to Parquet and queries it:
// packets per TCP flag combination and the payload bytes of the session.
func testLiveWalkthroughExport(t *testing.T, bin, capture string, packets int) {
	pq := filepath.Join(filepath.Dir(capture), "memcached.parquet")
	if out, err := exec.Command(bin, "export", "-r", capture, "--format", "parquet", "-o", pq).CombinedOutput(); err != nil {
		t.Fatalf("export: %v\n%s", err, out)
	}
	f, err := os.Open(pq)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tbl, err := pqarrow.ReadTable(context.Background(), f, parquet.NewReaderProperties(nil),
		pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	column := func(name string) []string {
		idx := tbl.Schema().FieldIndices(name)
		if len(idx) != 1 {
			t.Fatalf("no column %q in %v", name, tbl.Schema())
		}
		var vals []string
		for _, chunk := range tbl.Column(idx[0]).Data().Chunks() {
			for i := 0; i < chunk.Len(); i++ {
				vals = append(vals, chunk.ValueStr(i))
			}
		}
		return vals
	}
	// SELECT flags, count(*) GROUP BY flags; SELECT sum(payload_len)
	byFlags := map[string]int{}
	for _, f := range column("flags") {
		byFlags[f]++
	}
	payload := 0
	for _, v := range column("payload_len") {
		n, _ := strconv.Atoi(v)
		payload += n
	}
	const session = "get userId\r\nEND\r\nset username 0 0 4\r\nnick\r\nSTORED\r\n" +
		"get username\r\nVALUE username 0 4\r\nnick\r\nEND\r\nquit\r\n"
	if int(tbl.NumRows()) != packets || byFlags["S"] != 1 || byFlags["S."] != 1 || byFlags["F."] != 2 ||
		payload != len(session) {
		t.Errorf("parquet: %d rows (want %d), flags %v, payload %d bytes (want %d)",
			tbl.NumRows(), packets, byFlags, payload, len(session))
	}
}
