package conns

import (
	"errors"

	"github.com/pcaptk/pcaptk/pkg/analysis"
	"github.com/pcaptk/pcaptk/pkg/export"
)

// openPart opens the sink of a new part file in directory dir (relative, such
// as "date=2026-11-25/hour=16"); part counts the part files opened in dir so
// far. done, given the run's result, completes the file after the sink's Close.
type openPart func(dir string, part int) (sk rowSink, done func(error) error, err error)

// partitionSink routes each row to the partition of its first_ts, as export's
// dataset partitions packets by ts: a connection lives in the partition where
// it began. At most export.MaxOpenPartitions part files are open at once; a row
// for a partition that was closed (a connection that began long before the
// others ending with it) opens a new numbered part file there.
type partitionSink struct {
	by    export.Partitioning
	open  openPart
	parts []*part
	tick  uint64
	count map[int64]int
	err   error
}

type part struct {
	key  int64
	used uint64
	sk   rowSink
	done func(error) error
}

func newPartitionSink(by export.Partitioning, open openPart) *partitionSink {
	return &partitionSink{by: by, open: open, count: map[int64]int{}}
}

func (p *partitionSink) Write(r *analysis.ConnRow) error {
	if p.err != nil {
		return p.err
	}
	pt, err := p.get(p.by.Key(r.FirstTS))
	if err != nil {
		p.err = err
		return err
	}
	if p.err = pt.sk.Write(r); p.err == nil {
		p.err = p.bound()
	}
	return p.err
}

// bound keeps the rows that Parquet partitions hold in their open row groups
// within one row group's worth in all, as export's partitions do: past it,
// the partition holding most ends its group early.
func (p *partitionSink) bound() error {
	for {
		var total int64
		var big *parquetSink
		for _, pt := range p.parts {
			if ps, ok := pt.sk.(*parquetSink); ok {
				total += ps.buffered()
				if big == nil || ps.buffered() > big.buffered() {
					big = ps
				}
			}
		}
		if big == nil || total <= DefaultRowGroupSize {
			return nil
		}
		if err := big.flushRowGroup(); err != nil {
			return err
		}
	}
}

// get returns the open partition of key, opening it (and closing the least
// recently used one when too many are open).
func (p *partitionSink) get(key int64) (*part, error) {
	p.tick++
	for _, pt := range p.parts {
		if pt.key == key {
			pt.used = p.tick
			return pt, nil
		}
	}
	if len(p.parts) >= export.MaxOpenPartitions {
		lru := 0
		for i, pt := range p.parts {
			if pt.used < p.parts[lru].used {
				lru = i
			}
		}
		old := p.parts[lru]
		p.parts[lru] = p.parts[len(p.parts)-1]
		p.parts = p.parts[:len(p.parts)-1]
		if err := old.finish(); err != nil {
			return nil, err
		}
	}
	sk, done, err := p.open(p.by.Dir(key), p.count[key])
	if err != nil {
		return nil, err
	}
	p.count[key]++
	pt := &part{key: key, used: p.tick, sk: sk, done: done}
	p.parts = append(p.parts, pt)
	return pt, nil
}

// finish closes the part's sink, then completes its file: a write error the
// sink met is still in the file's buffer, which done then refuses to rename.
func (pt *part) finish() error {
	return errors.Join(pt.sk.Close(), pt.done(nil))
}

// Close closes every open partition.
func (p *partitionSink) Close() error {
	for _, pt := range p.parts {
		if err := pt.finish(); err != nil && p.err == nil {
			p.err = err
		}
	}
	p.parts = nil
	return p.err
}
