package reader

import (
	"io"
	"sync/atomic"
)

// Source hands out packets in order: *Reader and *MergeReader are sources.
type Source interface {
	Next() (*Packet, error)
}

// Stoppable returns src, ending (io.EOF) once stop is set: a command stopped by
// a signal treats its inputs as ended where they are, and completes its outputs.
func Stoppable(src Source, stop *atomic.Bool) Source {
	if stop == nil {
		return src
	}
	return &stoppable{src, stop}
}

type stoppable struct {
	src  Source
	stop *atomic.Bool
}

func (s *stoppable) Next() (*Packet, error) {
	if s.stop.Load() {
		return nil, io.EOF
	}
	return s.src.Next()
}
