package reader

import (
	"fmt"
	"sync"
)

// Budget is read memory shared by several Readers (the inputs of a merge, the
// jobs of a parallel export) for records larger than their buffers. A Reader
// whose next record does not fit its buffer takes the extra bytes from the
// Budget and gives them back once it has moved past that record; when the Budget
// cannot give them, the record is refused with ErrTooLarge, naming the file,
// packet and offset, so that any number of inputs stays within the Budget plus
// their buffers. It is safe for concurrent use.
type Budget struct {
	mu    sync.Mutex
	limit int64
	used  int64
}

// DefaultBudget is the read memory the commands share among several inputs for
// large records: two records of the reader's 64 MiB limit at once. Real frames
// are far smaller (Wireshark's limit is 256 KiB), so only crafted or damaged
// captures meet it.
const DefaultBudget = 128 << 20

// SoftMemoryLimit is the soft memory limit (debug.SetMemoryLimit) that goes with
// DefaultBudget: the budget, with room for what a large record leaves behind
// until the garbage collector runs.
const SoftMemoryLimit = DefaultBudget + 64<<20

// SharedOptions bound the read memory of n inputs open at once, whatever n:
// about 8 MiB of buffers in all, and records larger than a buffer grow it only
// within one Budget shared by all of them.
func SharedOptions(n int) Options {
	o := DefaultOptions
	o.BufferSize = min(o.BufferSize, max(16<<10, (8<<20)/max(n, 1)))
	o.Budget = NewBudget(DefaultBudget)
	return o
}

// NewBudget returns a Budget of limit bytes.
func NewBudget(limit int64) *Budget { return &Budget{limit: limit} }

func (b *Budget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.used+n > b.limit {
		return false
	}
	b.used += n
	return true
}

func (b *Budget) give(n int64) {
	b.mu.Lock()
	b.used -= n
	b.mu.Unlock()
}

// InUse reports the bytes taken now.
func (b *Budget) InUse() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.used
}

// budgetError is the reason a buffer could not grow.
type budgetError struct {
	limit int64
}

func (e *budgetError) Error() string {
	return fmt.Sprintf("read memory shared by the inputs (%d MiB) is taken by other inputs' large records", e.limit>>20)
}
