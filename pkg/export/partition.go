package export

import (
	"errors"
	"fmt"
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

// MaxOpenPartitions is how many partitions a Partitioned encoder keeps open. A
// capture is mostly in time order, so few are needed; a row for a partition that
// was closed opens a new part file in it.
const MaxOpenPartitions = 4

// OpenPart opens the encoder of a new part file in directory dir (relative, such
// as "date=2026-11-25/hour=16"); part counts the part files opened in dir so far.
// The returned close function is called after the encoder's Close.
type OpenPart func(dir string, part int) (Encoder, func() error, error)

// Partitioned routes rows to one encoder per partition.
type Partitioned struct {
	by    Partitioning
	open  OpenPart
	parts []*partition // open partitions, most recently used last
	count map[int64]int
	err   error
}

type partition struct {
	key   int64 // days since the epoch, or hours since the epoch
	dir   string
	enc   Encoder
	close func() error
	stage Batch
}

// NewPartitioned returns an encoder that writes each row to the partition of its
// ts, opening part files with open.
func NewPartitioned(by Partitioning, open OpenPart) *Partitioned {
	return &Partitioned{by: by, open: open, count: map[int64]int{}}
}

func (p *Partitioned) keyOf(ts int64) int64 {
	sec, _ := splitNS(ts)
	h := sec / 3600
	if sec < 0 && sec%3600 != 0 {
		h--
	}
	if p.by == PartitionHour {
		return h
	}
	d := h / 24
	if h < 0 && h%24 != 0 {
		d--
	}
	return d
}

func (p *Partitioned) dirOf(key int64) string {
	var b []byte
	if p.by == PartitionHour {
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
		if len(cur.stage.Rows) >= BatchRows {
			if p.err = cur.enc.WriteBatch(&cur.stage); p.err != nil {
				return p.err
			}
			cur.stage.Reset()
		}
	}
	return nil
}

// get returns the open partition for key, opening it (and closing the least
// recently used one if too many are open).
func (p *Partitioned) get(key int64) (*partition, error) {
	for i, pt := range p.parts {
		if pt.key == key {
			copy(p.parts[i:], p.parts[i+1:])
			p.parts[len(p.parts)-1] = pt
			return pt, nil
		}
	}
	if len(p.parts) >= MaxOpenPartitions {
		old := p.parts[0]
		p.parts = p.parts[1:]
		if err := old.finish(); err != nil {
			return nil, err
		}
	}
	dir := p.dirOf(key)
	enc, closeFn, err := p.open(dir, p.count[key])
	if err != nil {
		return nil, err
	}
	p.count[key]++
	pt := &partition{key: key, dir: dir, enc: enc, close: closeFn}
	p.parts = append(p.parts, pt)
	return pt, nil
}

func (pt *partition) finish() error {
	var err error
	if len(pt.stage.Rows) > 0 {
		err = pt.enc.WriteBatch(&pt.stage)
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
		if err := pt.finish(); err != nil && p.err == nil {
			p.err = err
		}
	}
	p.parts = nil
	return p.err
}
