// Package progress draws a progress line on a terminal for long commands
// (export, conns): packets, MB/s, and percent and ETA when the input sizes are
// known. Commands use it only when standard error is a terminal.
package progress

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Bar redraws one line at most every 200 ms. It is safe for concurrent use by
// the jobs of a dataset export.
type Bar struct {
	w     io.Writer
	total int64
	start time.Time
	mu    sync.Mutex
	pkts  []uint64
	bytes []int64
	last  time.Time
	drawn bool
}

// New returns a bar for jobs jobs reading total bytes in all (0: unknown).
func New(w io.Writer, total int64, jobs int) *Bar {
	return &Bar{w: w, total: total, start: time.Now(), pkts: make([]uint64, jobs), bytes: make([]int64, jobs)}
}

// Update says that job has read packets packets and bytes bytes of its input(s).
func (p *Bar) Update(job int, packets uint64, bytes int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pkts[job], p.bytes[job] = packets, bytes
	now := time.Now()
	if now.Sub(p.last) < 200*time.Millisecond {
		return
	}
	p.last = now
	p.draw(now)
}

func (p *Bar) draw(now time.Time) {
	var n uint64
	var b int64
	for i := range p.pkts {
		n += p.pkts[i]
		b += p.bytes[i]
	}
	el := now.Sub(p.start).Seconds()
	line := fmt.Sprintf("\r%d packets  %.0f MB/s", n, float64(b)/1e6/max(el, 1e-3))
	if p.total > 0 && b > 0 {
		frac := min(float64(b)/float64(p.total), 1)
		eta := time.Duration(el*(1-frac)/frac) * time.Second
		line += fmt.Sprintf("  %3.0f%%  ETA %s", frac*100, eta.Round(time.Second))
	}
	fmt.Fprintf(p.w, "%-60s", line)
	p.drawn = true
}

// Finish draws the final counts and ends the line, if anything was drawn.
func (p *Bar) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.drawn {
		p.draw(time.Now())
		fmt.Fprintln(p.w)
	}
}
