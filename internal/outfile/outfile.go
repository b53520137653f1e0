// Package outfile creates pcaptk's output files so that they never overwrite an
// input and are never left half-written under their final name.
//
// A Guard knows the command's inputs by device and inode (after following
// symbolic links, so a link or a hard link to an input is recognised) and refuses
// an output that is one of them. Create writes an output under a hidden temporary
// name in the output's directory, opened with O_EXCL|O_NOFOLLOW so that nothing
// planted there is followed or reused; Commit renames it into place once it is
// complete, Abort removes it. Publish renames it into place at once and keeps
// writing, for outputs that must be visible while they grow (capture files):
// they still get the safe creation, and rename replaces whatever was at the final
// name instead of writing through it.
//
//	g := &outfile.Guard{}
//	g.AddInput("in.pcap")
//	f, err := outfile.Create("out.pcap", outfile.Options{Guard: g})
//	// write to f ...
//	err = f.Commit() // or f.Abort() on failure
//
// Every temporary not yet committed is listed in a process-wide registry, so that
// RemoveTemporaries can delete them when the process must stop at once (a second
// signal).
package outfile

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// InputError is returned for an output that is one of the inputs.
type InputError struct {
	Output string // the output path as given
	Input  string // the input it is (its name as given)
}

func (e *InputError) Error() string {
	if e.Output == e.Input {
		return fmt.Sprintf("%s is an input: refusing to overwrite it", e.Output)
	}
	return fmt.Sprintf("%s is the input %s: refusing to overwrite it", e.Output, e.Input)
}

type fileID struct{ dev, ino uint64 }

func idOf(fi fs.FileInfo) (fileID, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileID{}, false
	}
	return fileID{uint64(st.Dev), uint64(st.Ino)}, true
}

// Guard holds the identities of a command's inputs. The zero Guard has none; a nil
// *Guard refuses nothing. It is safe for concurrent use.
type Guard struct {
	mu     sync.Mutex
	ids    []fileID
	names  []string
	denied []string
}

// AddInput records the file path names as an input. Names that do not exist (the
// reader will report them) and "-" are ignored; use AddFile for standard input.
func (g *Guard) AddInput(path string) {
	if path == "-" {
		return
	}
	if fi, err := os.Stat(path); err == nil {
		g.add(fi, path)
	}
}

// AddFile records an open file as an input (standard input read with -r -), when
// it is a regular file.
func (g *Guard) AddFile(name string, f *os.File) {
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		g.add(fi, name)
	}
}

func (g *Guard) add(fi fs.FileInfo, name string) {
	id, ok := idOf(fi)
	if !ok {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ids = append(g.ids, id)
	g.names = append(g.names, name)
}

// Check returns an *InputError when path exists and is one of the inputs
// (following symbolic links).
func (g *Guard) Check(path string) error {
	if g == nil {
		return nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil
	}
	return g.check(fi, path)
}

// CheckFile is Check for an open output, such as standard output redirected to a
// file.
func (g *Guard) CheckFile(name string, f *os.File) error {
	if g == nil {
		return nil
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return nil
	}
	return g.check(fi, name)
}

func (g *Guard) check(fi fs.FileInfo, path string) error {
	id, ok := idOf(fi)
	if !ok {
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, in := range g.ids {
		if in == id {
			return &InputError{Output: path, Input: g.names[i]}
		}
	}
	return nil
}

// Options for Create.
type Options struct {
	// Mode of the new file before the umask; 0 means 0666 (as os.Create).
	Mode os.FileMode
	// Guard refuses a path that is an input; nil refuses nothing.
	Guard *Guard
}

// File is an output being written under a temporary name. Its *os.File methods
// write to the temporary.
type File struct {
	*os.File
	final  string
	tmp    string
	guard  *Guard
	state  int  // stateOpen, statePublished, stateDone
	closed bool // the descriptor is closed (Suspend)
}

const (
	stateOpen = iota
	statePublished
	stateDone
)

// registry lists the temporaries not yet renamed or removed.
var registry = struct {
	sync.Mutex
	tmps    map[string]struct{}
	stopped bool // RemoveTemporaries ran: nothing more is renamed into place
}{tmps: map[string]struct{}{}}

// errStopped refuses to complete an output once the process is stopping.
var errStopped = errors.New("stopping: output not completed")

// Create opens a new temporary file beside path for writing. The temporary's name
// starts with a dot and ends in ".pcaptk-tmp", so that globs for the final
// extension do not pick it up.
func Create(path string, o Options) (*File, error) {
	if err := o.Guard.Check(path); err != nil {
		return nil, err
	}
	if o.Mode == 0 {
		o.Mode = 0o666
	}
	if f, ok, err := openStream(path); ok {
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, unwrapPath(err))
		}
		return &File{File: f, final: path, tmp: path, state: statePublished}, nil
	}
	dir, base := filepath.Split(path)
	if base == "" {
		return nil, fmt.Errorf("%s: is a directory", path)
	}
	var f *os.File
	var tmp string
	for try := 0; ; try++ {
		var rnd [6]byte
		rand.Read(rnd[:])
		tmp = filepath.Join(dir, "."+base+"."+hex.EncodeToString(rnd[:])+".pcaptk-tmp")
		var err error
		f, err = os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, o.Mode)
		if err == nil {
			break
		}
		if !errors.Is(err, fs.ErrExist) || try == 10 {
			return nil, fmt.Errorf("%s: %w", path, unwrapPath(err))
		}
	}
	registry.Lock()
	registry.tmps[tmp] = struct{}{}
	registry.Unlock()
	return &File{File: f, final: path, tmp: tmp, guard: o.Guard}, nil
}

// openStream opens path as it is when it names a device or a FIFO (/dev/null, a
// named pipe another program reads): those are streams, with nothing to rename.
// A symbolic link is followed to one only when it belongs to this user or to
// root, so that a link planted by another user in a shared directory (towards a
// disk, say) is replaced, not followed.
func openStream(path string) (*os.File, bool, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil, false, nil
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok || (st.Uid != 0 && int(st.Uid) != os.Geteuid()) {
			return nil, false, nil
		}
		if fi, err = os.Stat(path); err != nil {
			return nil, false, nil
		}
	}
	if fi.Mode().IsRegular() || fi.IsDir() {
		return nil, false, nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|syscall.O_CLOEXEC, 0)
	return f, true, err
}

// Cause drops the file name from an *fs.PathError (the temporary's, in errors
// from writing to a File), so that callers can name the output the user gave.
func Cause(err error) error { return unwrapPath(err) }

func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Path is the final name.
func (f *File) Path() string { return f.final }

// rename moves the temporary to its final name, unless the final name has become
// an input meanwhile.
func (f *File) rename() error {
	if err := f.guard.Check(f.final); err != nil {
		return err
	}
	registry.Lock()
	defer registry.Unlock()
	if registry.stopped {
		return fmt.Errorf("%s: %w", f.final, errStopped)
	}
	if err := os.Rename(f.tmp, f.final); err != nil {
		return fmt.Errorf("%s: %w", f.final, unwrapLink(err))
	}
	delete(registry.tmps, f.tmp)
	return nil
}

func unwrapLink(err error) error {
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

// Publish renames the file into place now; writing goes on into it, and Close
// ends it. For outputs that must be visible while they grow.
func (f *File) Publish() error {
	if f.state != stateOpen {
		return nil
	}
	if err := f.rename(); err != nil {
		f.Abort()
		return err
	}
	f.state = statePublished
	return nil
}

// Commit closes the file and renames it into place. On error the temporary is
// removed. After Publish, Commit only closes.
func (f *File) Commit() error {
	switch f.state {
	case stateDone:
		return nil
	case statePublished:
		f.state = stateDone
		return f.closeFD()
	}
	if err := f.closeFD(); err != nil {
		f.Abort()
		return fmt.Errorf("%s: %w", f.final, unwrapPath(err))
	}
	if err := f.rename(); err != nil {
		f.Abort()
		return err
	}
	f.state = stateDone
	return nil
}

// Abort closes and removes the temporary (a published file is only closed: it is
// the user's now). It is safe to call after Commit, which it then leaves alone.
func (f *File) Abort() {
	switch f.state {
	case stateDone:
		return
	case statePublished:
		f.closeFD()
		f.state = stateDone
		return
	}
	f.state = stateDone
	f.closeFD()
	registry.Lock()
	defer registry.Unlock()
	os.Remove(f.tmp)
	delete(registry.tmps, f.tmp)
}

// RemoveTemporaries removes every temporary not yet committed and keeps any
// output from being renamed into place afterwards: for a process about to exit
// at once. It returns how many it removed.
func RemoveTemporaries() int {
	registry.Lock()
	defer registry.Unlock()
	registry.stopped = true
	n := 0
	for t := range registry.tmps {
		if os.Remove(t) == nil {
			n++
		}
		delete(registry.tmps, t)
	}
	return n
}

// Close closes the descriptor, leaving the file where it is (the temporary until
// Commit, which is still needed).
func (f *File) Close() error { return f.closeFD() }

// Suspend closes the file's descriptor but keeps the temporary for Resume: for
// writers that keep more outputs than they may hold open (split --flows).
func (f *File) Suspend() error {
	if f.state == stateDone {
		return nil
	}
	return f.closeFD()
}

func (f *File) closeFD() error {
	if f.closed {
		return nil
	}
	f.closed = true
	return f.File.Close()
}

// Resume reopens a suspended file for appending.
func (f *File) Resume() error {
	name := f.tmp
	if f.state == statePublished {
		name = f.final
	}
	g, err := os.OpenFile(name, os.O_WRONLY|os.O_APPEND|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("%s: %w", f.final, unwrapPath(err))
	}
	f.File, f.closed = g, false
	return nil
}

// Written is the path the data is in now: the temporary until Commit or Publish,
// then the final name.
func (f *File) Written() string {
	if f.state == stateOpen {
		return f.tmp
	}
	return f.final
}
