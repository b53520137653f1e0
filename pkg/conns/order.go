package conns

import (
	"cmp"
	"container/heap"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/pcaptk/pcaptk/pkg/analysis"
)

// Order is an order of rows: by a column of the table, or by one of the totals
// bytes (IP bytes both ways), pkts (packets both ways) and retrans
// (retransmitted packets both ways); ascending, or descending when its name
// starts with "-". Nulls come last either way, ties go by stream.
type Order struct {
	name string
	desc bool
	key  func(a, b *analysis.ConnRow) int // ascending; nulls last
}

// String returns the order as ParseOrder reads it.
func (o *Order) String() string {
	if o.desc {
		return "-" + o.name
	}
	return o.name
}

// Compare orders a before b (negative), after it (positive) or as equal (0).
func (o *Order) Compare(a, b *analysis.ConnRow) int {
	v := o.key(a, b)
	if o.desc {
		v = -v
	}
	if v != 0 {
		return v
	}
	return cmp.Compare(a.Stream, b.Stream)
}

// totals are the sort keys that are not columns.
var totals = map[string]func(r *analysis.ConnRow) uint64{
	"bytes":   func(r *analysis.ConnRow) uint64 { return r.OrigIPBytes + r.RespIPBytes },
	"pkts":    func(r *analysis.ConnRow) uint64 { return r.OrigPkts + r.RespPkts },
	"retrans": func(r *analysis.ConnRow) uint64 { return uint64(r.OrigRetransPkts) + uint64(r.RespRetransPkts) },
}

// ParseOrder reads an order: a column name or bytes, pkts, retrans, with a
// leading "-" for descending.
func ParseOrder(s string) (*Order, error) {
	o := &Order{name: strings.TrimSpace(s)}
	if strings.HasPrefix(o.name, "-") {
		o.name, o.desc = o.name[1:], true
	}
	if get, ok := totals[o.name]; ok {
		o.key = func(a, b *analysis.ConnRow) int { return cmp.Compare(get(a), get(b)) }
		return o, nil
	}
	full, err := NewTable("")
	if err != nil {
		return nil, err
	}
	col := slices.Index(full.Names(), o.name)
	if col < 0 {
		return nil, fmt.Errorf("unknown sort key %q (a column, or bytes, pkts, retrans; prefix - for descending)", s)
	}
	desc := o.desc
	o.key = func(a, b *analysis.ConnRow) int {
		na, nb := full.Null(a, col), full.Null(b, col)
		switch {
		case na && nb:
			return 0
		case na != nb:
			// Nulls last whichever way: undo the flip Compare will make.
			v := 1
			if nb {
				v = -1
			}
			if desc {
				v = -v
			}
			return v
		}
		return full.Compare(a, b, col)
	}
	return o, nil
}

func mustOrder(s string) *Order {
	o, err := ParseOrder(s)
	if err != nil {
		panic(err)
	}
	return o
}

var (
	// ByStream is the order of first packets (streams are numbered so).
	ByStream = mustOrder("stream")
	// BiggestFirst is --top's order when none is given: most bytes first.
	BiggestFirst = mustOrder("-bytes")
)

// rowBuf holds rows in pages of 4,096, so that holding a hundred thousand
// (about 38 MB) never copies them or holds them twice while it grows.
type rowBuf struct {
	pages [][]analysis.ConnRow
	n     int
}

const rowPageShift = 12

func (b *rowBuf) at(i int) *analysis.ConnRow {
	return &b.pages[i>>rowPageShift][i&(1<<rowPageShift-1)]
}

func (b *rowBuf) push(r *analysis.ConnRow) {
	if b.n>>rowPageShift >= len(b.pages) {
		b.pages = append(b.pages, make([]analysis.ConnRow, 1<<rowPageShift))
	}
	*b.at(b.n) = *r
	b.n++
}

// sorted sorts the rows by order.
type sorted struct {
	*rowBuf
	order *Order
}

func (s sorted) Len() int           { return s.n }
func (s sorted) Less(i, j int) bool { return s.order.Compare(s.at(i), s.at(j)) < 0 }
func (s sorted) Swap(i, j int)      { a, b := s.at(i), s.at(j); *a, *b = *b, *a }

// orderSink holds rows to write them in an order: all of them up to limit
// (then, with a note, the rows held are written sorted and the rest as they
// come), or only the first top in that order (a heap of top rows).
type orderSink struct {
	next   rowSink
	text   *textSink // the table, which sizes its columns from the rows held
	order  *Order
	top    int
	limit  int
	rows   rowBuf
	over   bool // past limit: streaming
	noteFn func(string, ...any)
}

func newOrderSink(next rowSink, text *textSink, order *Order, top, limit int, note func(string, ...any)) *orderSink {
	return &orderSink{next: next, text: text, order: order, top: top, limit: limit, noteFn: note}
}

func (s *orderSink) Write(r *analysis.ConnRow) error {
	switch {
	case s.over:
		return s.next.Write(r)
	case s.top > 0 && s.top <= s.limit:
		h := worstFirst{sorted{&s.rows, s.order}}
		if s.rows.n < s.top {
			s.rows.push(r)
			heap.Fix(h, s.rows.n-1)
		} else if s.order.Compare(r, s.rows.at(0)) < 0 {
			*s.rows.at(0) = *r
			heap.Fix(h, 0)
		}
		return nil
	case s.rows.n < s.limit:
		s.rows.push(r)
		return nil
	}
	s.noteFn("more than %d connections: the first %d to end are written in %s order, the others as they end", s.limit, s.limit, s.order)
	s.over = true
	if err := s.flush(); err != nil {
		return err
	}
	return s.next.Write(r)
}

// flush writes the rows held, in order.
func (s *orderSink) flush() error {
	sort.Sort(sorted{&s.rows, s.order})
	if s.text != nil {
		s.text.size(&s.rows)
	}
	n := s.rows.n
	if s.top > 0 {
		n = min(n, s.top)
	}
	for i := range n {
		if err := s.next.Write(s.rows.at(i)); err != nil {
			return err
		}
	}
	s.rows = rowBuf{}
	return nil
}

func (s *orderSink) Close() error {
	var err error
	if !s.over {
		err = s.flush()
	}
	if cerr := s.next.Close(); err == nil {
		err = cerr
	}
	return err
}

// worstFirst is the heap of the top rows kept, the one that would come last at
// its root. Rows are added with push and heap.Fix, never through Push and Pop.
type worstFirst struct{ sorted }

func (h worstFirst) Less(i, j int) bool { return h.order.Compare(h.at(i), h.at(j)) > 0 }
func (h worstFirst) Push(any)           { panic("unused") }
func (h worstFirst) Pop() any           { panic("unused") }
