package capture

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"sync"
	"syscall"
)

// postRotate runs -z COMMAND on each completed file, one at a time, in a goroutine of
// its own so that the capture never waits for it. With -W N it keeps the ring: once a
// file's command has run, the oldest completed files beyond N-1 (the file being
// written is the Nth) are removed.
type postRotate struct {
	cmd     string
	ring    int
	kept    []string // completed files whose command has run, oldest first
	errOut  io.Writer
	mu      sync.Mutex
	pending []postFile
	wake    chan struct{}
	done    chan struct{}
	closing bool
	aborted bool
	running *exec.Cmd
}

// abort kills the command running now and drops those still queued: the user
// asked to stop at once.
func (p *postRotate) abort() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.aborted, p.pending = true, nil
	if p.running != nil && p.running.Process != nil {
		syscall.Kill(-p.running.Process.Pid, syscall.SIGKILL) // the shell and what it started
	}
}

func newPostRotate(cmd string, ring int, errOut io.Writer) *postRotate {
	p := &postRotate{cmd: cmd, ring: ring, errOut: errOut, wake: make(chan struct{}, 1), done: make(chan struct{})}
	go p.run()
	return p
}

// postFile is a completed file; last is set for the file closed at the end.
type postFile struct {
	path string
	last bool
}

func (p *postRotate) add(path string, last bool) {
	p.mu.Lock()
	p.pending = append(p.pending, postFile{path, last})
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *postRotate) run() {
	defer close(p.done)
	for {
		p.mu.Lock()
		if p.aborted {
			p.mu.Unlock()
			return
		}
		if len(p.pending) == 0 {
			closing := p.closing
			p.mu.Unlock()
			if closing {
				return
			}
			<-p.wake
			continue
		}
		path, last := p.pending[0].path, p.pending[0].last
		p.pending = p.pending[1:]
		p.mu.Unlock()
		c := exec.Command("/bin/sh", "-c", p.cmd+` "$1"`, "pcaptk-z", path)
		c.Stdout, c.Stderr = p.errOut, p.errOut
		// A group of its own: the terminal's Ctrl-C does not cut short the command
		// on the last file, which the capture still waits for, and abort can end
		// the shell with whatever it started.
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		p.mu.Lock()
		err := c.Start()
		p.running = c
		p.mu.Unlock()
		if err == nil {
			err = c.Wait()
		}
		p.mu.Lock()
		p.running = nil
		aborted := p.aborted
		p.mu.Unlock()
		if aborted {
			return
		}
		if err != nil {
			fmt.Fprintf(p.errOut, "pcaptk: -z %s %s: %v\n", p.cmd, path, err)
		}
		if p.ring > 0 {
			p.kept = append(p.kept, path)
			keep := p.ring - 1 // and the file being written
			if last {
				keep = p.ring
			}
			for len(p.kept) > keep {
				// The command may have moved the file (gzip): nothing left to remove.
				os.Remove(p.kept[0])
				p.kept = p.kept[1:]
			}
		}
	}
}

// finish waits until every queued command has run.
func (p *postRotate) finish() {
	p.mu.Lock()
	p.closing = true
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
	<-p.done
}
