package capture

import (
	"encoding/binary"
	"io"
	"time"

	"github.com/pcaptk/pcaptk/pkg/reader"
)

// readBlocks reads a ring a block at a time until Stop (and the drain after it),
// a read error or abort. A block goes to the consumer in place when the consumer
// waits for work and holds no other block; otherwise its packets are copied into
// the queue as one batch and the block goes back to the kernel at once. The
// reader never waits for the consumer: with one block held, the kernel still has
// the rest of the ring. It returns the packets it queued and those it dropped.
func (c *Queue) readBlocks(i int, b blockSource) (queued, drops uint64) {
	f := b.format()
	var it blockIter
	// After Stop, the packets from before it may wait in a partly filled block
	// for up to the block timeout.
	drain := max(drainTime, b.blockTimeout()+100*time.Millisecond)
	for {
		stopAt, ok := c.reading(drain)
		if !ok {
			break
		}
		n, err := b.wait()
		if err != nil {
			if c.retry(err) {
				continue
			}
			break
		}
		// A block the kernel handed over before Stop holds only packets from
		// before it; after Stop each packet's time is checked, so blocks are
		// copied. Stop may have come while the reader waited: look again.
		if stopAt == 0 {
			stopAt = c.stopAt.Load()
		}
		if stopAt == 0 && c.zeroCopy && c.q.idle.Load() && c.handOver(i, n, b) {
			continue
		}
		it.reset(b.block(n), f)
		q, d, stopped := c.q.putBlock(uint32(i), &it, stopAt)
		queued += q
		drops += d
		b.release(n)
		if stopped {
			break
		}
	}
	return queued, drops
}

// reading reports whether a source's reader goes on (not aborted, and not past
// the drain after Stop) and the time of Stop (0: not stopped).
func (c *Queue) reading(drain time.Duration) (stopAt int64, ok bool) {
	if c.abort.Load() {
		return 0, false
	}
	stopAt = c.stopAt.Load()
	return stopAt, stopAt == 0 || time.Now().UnixNano() <= stopAt+int64(drain)
}

// retry reports whether a reader goes on after err from its source: after a
// poll timeout it does; at the end of the source it stops, and after any other
// error it stops and fails the queue.
func (c *Queue) retry(err error) bool {
	if err == ErrLiveTimeout {
		return true
	}
	if err != io.EOF {
		c.fail(err)
	}
	return false
}

// handOver queues block n itself, if the consumer is idle (it then takes the
// block at once, with room for it) and no other block of b is with the consumer.
func (c *Queue) handOver(i, n int, b blockSource) bool {
	q := &c.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.idle.Load() || len(q.ch) != 0 || !b.hold(n) {
		return false
	}
	q.ch <- slot{kind: slotBlock, start: uint32(n), iface: uint32(i), end: q.head}
	q.idle.Store(false)
	return true
}

// putBlock copies the packets of a block into the ring as batches of records: one
// slot for the block (two when the ring wraps inside it). A packet that does not
// fit is dropped and counted. A packet stamped at or after stopAt (when not 0)
// ends the copy: stopped is then true.
func (q *queue) putBlock(iface uint32, it *blockIter, stopAt int64) (queued, drops uint64, stopped bool) {
	size := uint64(len(q.buf))
	q.mu.Lock()
	defer q.mu.Unlock()
	var p reader.Packet
	open := false // a batch is being filled
	var bstart, blen uint64
	flush := func() {
		if open {
			q.ch <- slot{kind: slotBatch, start: uint32(bstart), caplen: uint32(blen), iface: iface, end: q.head}
			q.idle.Store(false)
			open = false
		}
	}
	for it.next(&p) {
		if stopAt != 0 && p.Timestamp >= stopAt {
			stopped = true
			break
		}
		need := uint64(batchHdrLen + len(p.Data))
		pos := q.head % size
		skip := uint64(0)
		if pos+need > size { // does not fit before the end: the batch ends, the next starts at 0
			skip = size - pos
		}
		// Room for the record, and for a slot when it starts a batch (the readers
		// hold mu while they send, so a free slot now is free at the send).
		if q.head+skip+need-q.tail.Load() > size || ((!open || skip > 0) && len(q.ch) >= cap(q.ch)-btoi(open)) {
			drops++
			continue
		}
		if skip > 0 {
			flush()
			q.head += skip
			pos = 0
		}
		if !open {
			open, bstart, blen = true, pos, 0
		}
		r := q.buf[pos : pos+need]
		binary.LittleEndian.PutUint64(r, uint64(p.Timestamp))
		binary.LittleEndian.PutUint32(r[8:], uint32(len(p.Data)))
		binary.LittleEndian.PutUint32(r[12:], p.WireLen)
		copy(r[batchHdrLen:], p.Data)
		q.head += need
		blen += need
		queued++
	}
	flush()
	return queued, drops, stopped
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
