package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pcaptk/pcaptk/internal/outfile"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// signalGrace is how long after the first stop signal further ones are taken as
// echoes of it: timeout(1) signals the process and then its process group, a
// terminal's Ctrl-C reaches every process of a pipeline, systemd may send SIGTERM
// and SIGHUP together. Only a signal after it is a deliberate second request.
const signalGrace = 2 * time.Second

// stopSignals are the signals that stop a command that writes files.
var stopSignals = []os.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP}

// interruption watches for stop signals while a command writes files. The first
// signal calls stop (the command stops reading and completes its outputs); a
// signal after signalGrace calls abort. Signals that come after release get the
// default action again.
type interruption struct {
	ch   chan os.Signal
	done chan struct{}
	mu   sync.Mutex
	sig  os.Signal // the first signal, nil if none
}

func catchSignals(stop, abort func(sig os.Signal)) *interruption {
	in := &interruption{ch: make(chan os.Signal, 4), done: make(chan struct{})}
	signal.Notify(in.ch, stopSignals...)
	go func() {
		var first time.Time
		for {
			select {
			case <-in.done:
				return
			case sig := <-in.ch:
				in.mu.Lock()
				isFirst := in.sig == nil
				if isFirst {
					in.sig, first = sig, time.Now()
				}
				in.mu.Unlock()
				switch {
				case isFirst:
					stop(sig)
				case time.Since(first) > signalGrace:
					abort(sig)
				}
			}
		}
	}()
	return in
}

// signal returns the first stop signal received, or nil.
func (in *interruption) signal() os.Signal {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.sig
}

func (in *interruption) release() {
	signal.Stop(in.ch)
	close(in.done)
}

// interruptedError reports that a command stopped early on a signal, after
// completing its outputs with what it had read.
type interruptedError struct{ sig os.Signal }

func (e *interruptedError) Error() string {
	return fmt.Sprintf("interrupted by %s: outputs hold the packets read before it", signalName(e.sig))
}

func signalName(sig os.Signal) string {
	switch sig {
	case syscall.SIGINT:
		return "SIGINT"
	case syscall.SIGTERM:
		return "SIGTERM"
	case syscall.SIGHUP:
		return "SIGHUP"
	}
	return sig.String()
}

// signalExit is the shell's convention for a process ended by sig: 128 + its number.
func signalExit(sig os.Signal) int {
	if s, ok := sig.(syscall.Signal); ok {
		return 128 + int(s)
	}
	return exitFailure
}

// offlineStop is the signal handling of the commands that read captures and
// write files (filter, merge, split, export): the first signal ends the input
// early, as if it had ended there, so every output is completed and renamed into
// place; a deliberate second signal removes the outputs not yet complete and
// exits at once. Call finish with the command's result: it releases the signals
// and turns a clean end after a signal into an interruptedError.
type offlineStop struct {
	in      *interruption
	stopped atomic.Bool
}

func newOfflineStop(errOut io.Writer) *offlineStop {
	o := &offlineStop{}
	o.in = catchSignals(
		func(os.Signal) { o.stopped.Store(true) },
		func(sig os.Signal) {
			n := outfile.RemoveTemporaries()
			fmt.Fprintf(errOut, "pcaptk: %s again: stopped without completing the outputs (%d unfinished removed)\n", signalName(sig), n)
			os.Exit(signalExit(sig))
		})
	return o
}

func (o *offlineStop) finish(err error) error {
	o.in.release()
	if sig := o.in.signal(); sig != nil && err == nil {
		return &interruptedError{sig}
	}
	return err
}

// source wraps a packet source so that it ends once a signal has asked to stop.
func (o *offlineStop) source(src reader.Source) reader.Source {
	return reader.Stoppable(src, &o.stopped)
}
