package export

import (
	"errors"
	"fmt"
	"unsafe"
)

// Partitioning splits rows by capture time into hive-style directories.
type Partitioning uint8

const (
	PartitionNone Partitioning = iota
	PartitionDate              // date=YYYY-MM-DD
	PartitionHour              // date=YYYY-MM-DD/hour=HH
)

// ParsePartitioning parses "", date or hour.
func ParsePartitioning(s string) (Partitioning, error) {
	switch s {
	case "", "none":
		return PartitionNone, nil
	case "date":
		return PartitionDate, nil
	case "hour":
		return PartitionHour, nil
	}
	return 0, fmt.Errorf("unknown partitioning %q (want date or hour)", s)
}

// MaxOpenPartitions is how many partitions a Partitioned encoder keeps open,
// the least recently used being closed to open another. Rows are written to
// one file per partition as long as no more partitions than this are in use
// at once (a capture whose clock jumps back and forth between a few hours
// still makes one file per hour); beyond it, a row for a partition that was
// closed opens a new numbered part file in it.
const MaxOpenPartitions = 32

// stageRows bounds the rows a Partitioned holds itself, across its partitions,
// before handing them to their encoders: a partition's rows go on in batches of
// up to BatchRows, and the largest stage is handed on when the total would
// pass this.
const stageRows = 4 * BatchRows

// MemoryPerPartition estimates what an open Parquet partition costs besides the
// rows of its open row group: staged pages, dictionaries, zstd windows and
// page buffers of its workers, and a file write buffer of about 1 MiB (from
// peak RSS with 5 and with 32 partitions in use, docs/export.md).
const MemoryPerPartition = 5 << 20

// PartitionedMemory estimates the most a Partitioned writing Parquet files with
// row groups of rowGroupSize rows holds: the rows of its open row groups, its
// staged rows and MaxOpenPartitions open encoders. It is for callers that set
// a memory limit, as MemoryPerRow is for a single file.
func PartitionedMemory(rowGroupSize int64) int64 {
	rows := max(rowGroupSize, MaxOpenPartitions*MinRowGroupSize)
	return rows*MemoryPerRow + stageRows*int64(unsafe.Sizeof(Row{})) + MaxOpenPartitions*MemoryPerPartition
}

// OpenPart opens the encoder of a new part file in directory dir (relative, such
// as "date=2026-11-25/hour=16"); part counts the part files opened in dir so far.
// The returned close function is called after the encoder's Close.
type OpenPart func(dir string, part int) (Encoder, func() error, error)

// rowGrouper is an encoder that keeps the rows of its open row group in memory
// until the group is full (Parquet). A Partitioned bounds the rows held in the
// open row groups of all its partitions together (see Partitioned).
type rowGrouper interface {
	rowGroupSize() int64  // rows at which a row group ends by itself
	bufferedRows() int64  // rows in the open row group
	shareMemory()         // keeps smaller buffers, as one of many (before any row)
	flushRowGroup() error // ends the open row group now and frees its buffers
}

// Partitioned routes rows to one encoder per partition.
//
// Memory: besides its staged rows (stageRows), each open partition holds an
// encoder. Parquet encoders keep their open row group in memory (about
// MemoryPerRow bytes a row), so the rows in open row groups across all
// partitions are bounded by the larger of the row group size and
// MaxOpenPartitions*MinRowGroupSize: as much as one unpartitioned file holds.
// Past that bound, the partition holding the most rows ends its row group
// early; that group then has at least 1/MaxOpenPartitions of the bound, so row
// groups stay large enough for readers and the footer stays small.
type Partitioned struct {
	by     Partitioning
	open   OpenPart
	parts  []*partition // open partitions
	tick   uint64       // counts partition switches, for the LRU
	count  map[int64]int
	staged int   // rows in the stages of the open partitions
	budget int64 // rows allowed in open row groups in all; 0: no encoder has them
	err    error
}

type partition struct {
	key   int64  // days since the epoch, or hours since the epoch
	used  uint64 // Partitioned.tick when last switched to
	dir   string
	enc   Encoder
	rg    rowGrouper // enc, when it holds row groups
	close func() error
	stage Batch
}

// NewPartitioned returns an encoder that writes each row to the partition of its
// ts, opening part files with open.
func NewPartitioned(by Partitioning, open OpenPart) *Partitioned {
	return &Partitioned{by: by, open: open, count: map[int64]int{}}
}

func (p *Partitioned) keyOf(ts int64) int64 { return p.by.Key(ts) }

func (p *Partitioned) dirOf(key int64) string { return p.by.Dir(key) }

// Key returns the partition of a row at time ts (ns): days or hours since the
// epoch, UTC.
func (by Partitioning) Key(ts int64) int64 {
	sec, _ := splitNS(ts)
	h := sec / 3600
	if sec < 0 && sec%3600 != 0 {
		h--
	}
	if by == PartitionHour {
		return h
	}
	d := h / 24
	if h < 0 && h%24 != 0 {
		d--
	}
	return d
}

// Dir returns the directory of partition key, relative to the dataset's:
// date=YYYY-MM-DD, or date=YYYY-MM-DD/hour=HH.
func (by Partitioning) Dir(key int64) string {
	var b []byte
	if by == PartitionHour {
		b = append(b, "date="...)
		b = appendCivil(b, key*3600)
		// appendCivil wrote "YYYY-MM-DDTHH:MM:SS."
		date, hour := b[:len("date=")+10], b[len("date=")+11:len("date=")+13]
		return string(date) + "/hour=" + string(hour)
	}
	b = appendCivil(append(b, "date="...), key*86400)
	return string(b[:len("date=")+10])
}

// WriteBatch routes the rows of b.
func (p *Partitioned) WriteBatch(b *Batch) error {
	if p.err != nil {
		return p.err
	}
	var cur *partition
	for i := range b.Rows {
		r := &b.Rows[i]
		k := p.keyOf(r.TS)
		if cur == nil || cur.key != k {
			if cur, p.err = p.get(k); p.err != nil {
				return p.err
			}
		}
		row := *r
		if r.Has&hasOptions != 0 {
			start := len(cur.stage.Text)
			cur.stage.Text = append(cur.stage.Text, b.options(r)...)
			row.OptStart, row.OptEnd = uint32(start), uint32(len(cur.stage.Text))
		}
		cur.stage.Rows = append(cur.stage.Rows, row)
		if i < len(b.An) {
			cur.stage.An = append(cur.stage.An, b.An[i])
		}
		p.staged++
		switch {
		case len(cur.stage.Rows) >= BatchRows:
			p.err = p.flush(cur)
		case p.staged > stageRows:
			p.err = p.flush(p.largestStage())
		}
		if p.err != nil {
			return p.err
		}
	}
	return nil
}

// flush hands the staged rows of pt to its encoder, then keeps the rows of the
// open row groups within the budget.
func (p *Partitioned) flush(pt *partition) error {
	if len(pt.stage.Rows) == 0 {
		return nil
	}
	err := pt.enc.WriteBatch(&pt.stage)
	p.staged -= len(pt.stage.Rows)
	pt.stage.Reset()
	if err != nil || pt.rg == nil {
		return err
	}
	var total int64
	for _, q := range p.parts {
		if q.rg != nil {
			total += q.rg.bufferedRows()
		}
	}
	for total > p.budget {
		var big *partition
		for _, q := range p.parts {
			if q.rg != nil && (big == nil || q.rg.bufferedRows() > big.rg.bufferedRows()) {
				big = q
			}
		}
		n := big.rg.bufferedRows()
		if err := big.rg.flushRowGroup(); err != nil {
			return err
		}
		total -= n
	}
	return nil
}

func (p *Partitioned) largestStage() *partition {
	var big *partition
	for _, q := range p.parts {
		if big == nil || len(q.stage.Rows) > len(big.stage.Rows) {
			big = q
		}
	}
	return big
}

// get returns the open partition for key, opening it (and closing the least
// recently used one if too many are open). Recency is a stamp rather than the
// order of p.parts: rows that alternate between partitions switch on every
// row, and moving pointers about each time cost more than the rest of the
// routing while the garbage collector ran.
func (p *Partitioned) get(key int64) (*partition, error) {
	p.tick++
	for _, pt := range p.parts {
		if pt.key == key {
			pt.used = p.tick
			return pt, nil
		}
	}
	if len(p.parts) >= MaxOpenPartitions {
		lru := 0
		for i, pt := range p.parts {
			if pt.used < p.parts[lru].used {
				lru = i
			}
		}
		old := p.parts[lru]
		p.parts[lru] = p.parts[len(p.parts)-1]
		p.parts = p.parts[:len(p.parts)-1]
		if err := p.finish(old); err != nil {
			return nil, err
		}
	}
	dir := p.dirOf(key)
	enc, closeFn, err := p.open(dir, p.count[key])
	if err != nil {
		return nil, err
	}
	p.count[key]++
	pt := &partition{key: key, used: p.tick, dir: dir, enc: enc, close: closeFn}
	if rg, ok := enc.(rowGrouper); ok {
		pt.rg = rg
		rg.shareMemory()
		p.budget = max(p.budget, rg.rowGroupSize(), MaxOpenPartitions*MinRowGroupSize)
	}
	p.parts = append(p.parts, pt)
	return pt, nil
}

// finish writes the rest of pt and closes its file.
func (p *Partitioned) finish(pt *partition) error {
	var err error
	if len(pt.stage.Rows) > 0 {
		err = pt.enc.WriteBatch(&pt.stage)
		p.staged -= len(pt.stage.Rows)
		pt.stage.Reset()
	}
	err = errors.Join(err, pt.enc.Close())
	if pt.close != nil {
		err = errors.Join(err, pt.close())
	}
	return err
}

// Close flushes and closes every open partition.
func (p *Partitioned) Close() error {
	for _, pt := range p.parts {
		if err := p.finish(pt); err != nil && p.err == nil {
			p.err = err
		}
	}
	p.parts = nil
	return p.err
}
