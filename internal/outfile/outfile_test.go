package outfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func tmpsIn(t *testing.T, dir string) []string {
	t.Helper()
	m, _ := filepath.Glob(filepath.Join(dir, ".*.pcaptk-tmp"))
	return m
}

func TestGuardRecognisesLinks(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pcap")
	os.WriteFile(in, []byte("x"), 0o644)
	os.Symlink("in.pcap", filepath.Join(dir, "sym"))
	os.Link(in, filepath.Join(dir, "hard"))
	os.WriteFile(filepath.Join(dir, "other"), []byte("y"), 0o644)
	g := &Guard{}
	g.AddInput(in)
	g.AddInput(filepath.Join(dir, "missing")) // ignored
	for _, c := range []struct {
		path   string
		refuse bool
	}{{in, true}, {filepath.Join(dir, "sym"), true}, {filepath.Join(dir, "hard"), true},
		{filepath.Join(dir, "other"), false}, {filepath.Join(dir, "new"), false}} {
		err := g.Check(c.path)
		var ie *InputError
		if errors.As(err, &ie) != c.refuse {
			t.Errorf("%s: %v", c.path, err)
		}
	}
	var nilGuard *Guard
	if nilGuard.Check(in) != nil {
		t.Error("a nil guard refused")
	}
}

func TestCreateCommitAbort(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.csv")
	os.WriteFile(out, []byte("old"), 0o644)
	f, err := Create(out, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("new")
	if b, _ := os.ReadFile(out); string(b) != "old" {
		t.Fatalf("the final name changed before Commit: %q", b)
	}
	if tmps := tmpsIn(t, dir); len(tmps) != 1 || !strings.HasPrefix(filepath.Base(tmps[0]), ".out.csv.") {
		t.Fatalf("temporaries %v", tmps)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(out); string(b) != "new" {
		t.Fatalf("after Commit: %q", b)
	}
	f.Abort() // after Commit: nothing
	if _, err := os.Stat(out); err != nil {
		t.Fatal("Abort after Commit removed the file")
	}

	g, _ := Create(filepath.Join(dir, "gone.csv"), Options{})
	g.WriteString("partial")
	g.Abort()
	if _, err := os.Stat(filepath.Join(dir, "gone.csv")); !errors.Is(err, os.ErrNotExist) || len(tmpsIn(t, dir)) != 0 {
		t.Fatal("Abort left something")
	}

	// Suspend and Resume keep appending to the temporary.
	h, _ := Create(filepath.Join(dir, "s.csv"), Options{})
	h.WriteString("a")
	h.Suspend()
	if err := h.Resume(); err != nil {
		t.Fatal(err)
	}
	h.WriteString("b")
	h.Commit()
	if b, _ := os.ReadFile(filepath.Join(dir, "s.csv")); string(b) != "ab" {
		t.Fatalf("suspended file: %q", b)
	}

	// RemoveTemporaries deletes what is unfinished, and nothing is completed after.
	Create(filepath.Join(dir, "u1"), Options{})
	u2, _ := Create(filepath.Join(dir, "u2"), Options{})
	if n := RemoveTemporaries(); n != 2 || len(tmpsIn(t, dir)) != 0 {
		t.Fatalf("removed %d; left %v", n, tmpsIn(t, dir))
	}
	if err := u2.Commit(); !errors.Is(err, errStopped) {
		t.Fatalf("Commit after RemoveTemporaries: %v", err)
	}
	registry.Lock()
	registry.stopped = false
	registry.Unlock()
}

// A symbolic link planted at the output's name by another user is replaced, not
// followed; one of the user's own to a device is written through.
func TestCreateReplacesPlantedLink(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim")
	os.WriteFile(victim, []byte("precious"), 0o644)
	link := filepath.Join(dir, "cap.pcap")
	os.Symlink(victim, link)
	if os.Geteuid() == 0 {
		os.Lchown(link, 65534, 65534)
	}
	f, err := Create(link, Options{Mode: 0o600})
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("capture")
	if err := f.Publish(); err != nil {
		t.Fatal(err)
	}
	f.WriteString("more")
	f.Commit()
	if b, _ := os.ReadFile(victim); string(b) != "precious" {
		t.Fatalf("the link's target was written: %q", b)
	}
	fi, err := os.Lstat(link)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%v %v", fi.Mode(), err)
	}
	if b, _ := os.ReadFile(link); string(b) != "capturemore" {
		t.Fatalf("%q", b)
	}

	// /dev/null is a stream: written as it is, nothing renamed over it.
	n, err := Create("/dev/null", Options{})
	if err != nil {
		t.Fatal(err)
	}
	n.WriteString("x")
	if err := n.Commit(); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat("/dev/null"); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("/dev/null is now %v", fi.Mode())
	}
	var st syscall.Stat_t
	if syscall.Stat("/dev/null", &st) != nil {
		t.Fatal("stat /dev/null")
	}
}
