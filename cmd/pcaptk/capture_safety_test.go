package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// testLiveFullDiskRing: with -C 1 -W 3 on a disk that fills during the third
// file, the capture stops at the failed write: that file is cut back to its
// last whole packet, no new file is opened, no complete file is removed, and the
// files are named on stderr.
func testLiveFullDiskRing(t *testing.T, bin string) {
	disk := smallDisk(t, "2600k")
	port := liveEchoServer(t, "127.0.0.1:0")
	pc := liveStart(t, bin, "capture", "-i", "lo", "-w", filepath.Join(disk, "r.pcap"), "-C", "1", "-W", "3",
		fmt.Sprintf("tcp port %d", port))
	liveChatter(t, fmt.Sprintf("127.0.0.1:%d", port), 8, 300) // about 6 MB on the wire
	code, stderr := pc.wait(t)
	if code != 1 || !strings.Contains(stderr, "no space left on device") {
		t.Fatalf("exit %d, want 1:\n%s", code, stderr)
	}
	files := liveGlob(t, filepath.Join(disk, "r_*.pcap"))
	if len(files) != 3 || !strings.Contains(files[0], "_00001_") || !strings.Contains(files[2], "_00003_") {
		t.Fatalf("files %v, want the first three (none removed, none opened after the error)", files)
	}
	for i, f := range files {
		fi, _ := os.Stat(f)
		if i < 2 && fi.Size() < 900_000 {
			t.Errorf("%s: %d bytes, a complete file of -C 1 holds about 1 MB", f, fi.Size())
		}
		if fi.Size() == 0 {
			t.Errorf("%s is empty", f)
		}
	}
	kept := liveReadPackets(t, files...) // fails on a file cut mid-record
	if !strings.Contains(stderr, fmt.Sprintf("\n%d packets captured", len(kept))) {
		t.Errorf("the files hold %d packets; stderr says otherwise:\n%s", len(kept), stderr)
	}
	for _, f := range files[:2] {
		if !strings.Contains(stderr, "complete: "+f) {
			t.Errorf("stderr does not name the complete file %s:\n%s", f, stderr)
		}
	}
	if !strings.Contains(stderr, "cut short: "+files[2]) {
		t.Errorf("stderr does not name the file cut short:\n%s", stderr)
	}
	noTemporaries(t, disk)
}

// testLiveSignalEcho: timeout(1) signals the capture and then its process group;
// the echo must not kill it before the file is complete, run after run.
func testLiveSignalEcho(t *testing.T, bin string) {
	if _, err := exec.LookPath("timeout"); err != nil {
		t.Skip("timeout(1) not installed")
	}
	dir := t.TempDir()
	port := liveEchoServer(t, "127.0.0.1:0")
	stop := make(chan struct{})
	go func() { // steady traffic, so that the write buffer always holds packets
		for {
			select {
			case <-stop:
				return
			default:
				liveChatter(t, fmt.Sprintf("127.0.0.1:%d", port), 2, 50)
			}
		}
	}()
	defer close(stop)
	for run := range 8 {
		out := filepath.Join(dir, fmt.Sprintf("s%d.pcap", run))
		// Without --foreground, timeout sends the signal to the command and then
		// to its own process group, which the command is in.
		cmd := exec.Command("timeout", "-s", "INT", "--preserve-status", "1", bin, "capture", "-i", "lo", "-w", out,
			fmt.Sprintf("tcp port %d", port))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // timeout's group is not the test's
		err := cmd.Run()
		if err != nil {
			t.Fatalf("run %d: %v\n%s", run, err, stderr.String())
		}
		n := len(liveReadPackets(t, out))
		if n == 0 || !strings.Contains(stderr.String(), fmt.Sprintf("%d packets captured", n)) {
			t.Fatalf("run %d: the file holds %d packets:\n%s", run, n, stderr.String())
		}
	}
}

// testLiveSecondSignal: a deliberate second Ctrl-C after the grace period stops
// waiting for -z commands, and the files still hold whole packets.
func testLiveSecondSignal(t *testing.T, bin string) {
	dir := t.TempDir()
	port := liveEchoServer(t, "127.0.0.1:0")
	pc := liveStart(t, bin, "capture", "-i", "lo", "-w", filepath.Join(dir, "z.pcap"), "--packets-per-file", "50",
		"-z", "sleep 60; true", fmt.Sprintf("tcp port %d", port))
	liveChatter(t, fmt.Sprintf("127.0.0.1:%d", port), 2, 60)
	pc.cmd.Process.Signal(syscall.SIGINT)
	time.Sleep(signalGrace + 500*time.Millisecond)
	start := time.Now()
	code, stderr := pc.stopWith(t, syscall.SIGINT)
	if code != 0 || time.Since(start) > 5*time.Second || !strings.Contains(stderr, "again") {
		t.Fatalf("exit %d after %v:\n%s", code, time.Since(start), stderr)
	}
	files := liveGlob(t, filepath.Join(dir, "z_*.pcap"))
	if n := len(liveReadPackets(t, files...)); n == 0 || !strings.Contains(stderr, fmt.Sprintf("%d packets captured", n)) {
		t.Fatalf("the files hold %d packets:\n%s", n, stderr)
	}
}

// testLivePlantedNames: capture -w as root in a sticky, world-writable directory
// with fs.protected_symlinks off follows no symbolic link planted at the file
// name or at a rotation name, writes into no file of another user, and leaves
// its files with mode 0600.
func testLivePlantedNames(t *testing.T, bin string) {
	nobody, err := user.Lookup("nobody")
	if err != nil {
		t.Skip("no user nobody")
	}
	uid, _ := strconv.Atoi(nobody.Uid)
	const knob = "/proc/sys/fs/protected_symlinks"
	if old, err := os.ReadFile(knob); err == nil {
		if os.WriteFile(knob, []byte("0"), 0) == nil {
			t.Cleanup(func() { os.WriteFile(knob, old, 0) })
		}
	}
	dir := t.TempDir()
	os.Chmod(dir, 0o1777)
	liveOpenUpParents(dir)
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("precious"), 0o644)
	plant := func(name string) {
		p := filepath.Join(dir, name)
		os.Symlink(victim, p)
		os.Lchown(p, uid, uid)
	}
	other := filepath.Join(dir, "other.pcap")
	os.WriteFile(other, []byte("nobody's"), 0o666)
	os.Chown(other, uid, uid)
	plant("single.pcap")
	now := time.Now()
	for s := range 6 { // the rotation names of the next seconds
		ts := now.Add(time.Duration(s) * time.Second).Format("20060102150405")
		for seq := 1; seq <= 4; seq++ {
			plant(fmt.Sprintf("rot_%05d_%s.pcap", seq, ts))
		}
	}
	port := liveEchoServer(t, "127.0.0.1:0")
	for _, args := range [][]string{
		{"-w", filepath.Join(dir, "single.pcap")},
		{"-w", other},
		{"-w", filepath.Join(dir, "rot.pcap"), "--packets-per-file", "20"},
	} {
		pc := liveStart(t, bin, append(append([]string{"capture", "-i", "lo"}, args...), fmt.Sprintf("tcp port %d", port))...)
		liveChatter(t, fmt.Sprintf("127.0.0.1:%d", port), 1, 30)
		time.Sleep(200 * time.Millisecond)
		if code, stderr := pc.stop(t); code != 0 {
			t.Fatalf("%v: exit %d\n%s", args, code, stderr)
		}
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Fatalf("the symlink's target was written: %q", b)
	}
	files := append(liveGlob(t, filepath.Join(dir, "rot_*.pcap")), filepath.Join(dir, "single.pcap"), other)
	for _, f := range files {
		fi, err := os.Lstat(f)
		if err != nil {
			continue // a planted name nothing was written to
		}
		if fi.Mode()&os.ModeSymlink != 0 {
			continue
		}
		st := fi.Sys().(*syscall.Stat_t)
		if st.Uid != 0 || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: uid %d, mode %v: want a file of root's with mode 0600", f, st.Uid, fi.Mode().Perm())
		}
	}
	if n := len(liveReadPackets(t, filepath.Join(dir, "single.pcap"), other)); n == 0 {
		t.Error("no packets written")
	}
	noTemporaries(t, dir)
}
