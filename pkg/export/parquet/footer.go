package parquet

import "encoding/binary"

// footer encodes the FileMetaData.
func (p *Writer[T]) footer() []byte {
	t := &p.meta
	t.b = t.b[:0]
	t.begin()
	t.i32(1, 2) // format version 2: logical types, DELTA_BINARY_PACKED, RLE_DICTIONARY
	var n int
	for i := range p.schema {
		n += p.schema[i].count()
	}
	t.list(2, tStruct, n+1)
	t.begin() // the root
	t.string(4, "schema")
	t.i32(5, int32(len(p.schema)))
	t.end()
	for i := range p.schema {
		p.schema[i].write(t)
	}
	t.i64(3, p.rows)
	t.list(4, tStruct, len(p.groups))
	for gi := range p.groups {
		g := &p.groups[gi]
		t.begin()
		t.list(1, tStruct, len(g.chunks))
		for i, l := range p.leaves {
			m := &g.chunks[i]
			t.begin()
			off := m.dataOff
			if m.dictOff >= 0 {
				off = m.dictOff
			}
			t.i64(2, off)
			t.structField(3)
			t.i32(1, l.phys)
			var encs []int32
			for e := range 16 {
				if m.encodings&(1<<e) != 0 {
					encs = append(encs, int32(e))
				}
			}
			t.listI32(2, encs)
			t.list(3, tBinary, len(l.path))
			for _, s := range l.path {
				t.b = binary.AppendUvarint(t.b, uint64(len(s)))
				t.b = append(t.b, s...)
			}
			t.i32(4, int32(l.codec))
			t.i64(5, m.values)
			t.i64(6, m.raw)
			t.i64(7, m.size)
			t.i64(9, m.dataOff)
			if m.dictOff >= 0 {
				t.i64(11, m.dictOff)
			}
			if !m.noNullCount || m.hasMin {
				t.structField(12)
				if !m.noNullCount {
					t.i64(3, m.nulls)
				}
				if m.hasMin {
					t.binary(5, m.hi)
					t.binary(6, m.lo)
				}
				t.end()
			}
			t.end() // ColumnMetaData
			t.end() // ColumnChunk
		}
		t.i64(2, g.raw)
		t.i64(3, g.rows)
		t.i64(5, g.off)
		t.i64(6, g.size)
		t.end()
	}
	t.string(6, p.createdBy)
	t.list(7, tStruct, len(p.leaves))
	for range p.leaves {
		t.begin()
		t.emptyStruct(1) // TYPE_ORDER: unsigned integers compare unsigned
		t.end()
	}
	t.end()
	return t.b
}

// node is a schema element and its children.
type node struct {
	name     string
	rep      int32 // 0 required, 1 optional, 2 repeated
	phys     int32 // -1: a group
	conv     int32 // converted type, -1: none
	logical  logical
	bits     int8 // INTEGER bit width
	signed   bool // INTEGER signed
	unit     int16
	children []node
}

type logical uint8

const (
	logNone logical = iota
	logInt
	logTimestamp
	logString
	logList
)

// ConvertedType values for the older readers that look only at them.
const (
	convUTF8            = 0
	convList            = 3
	convTimestampMicros = 10
	convUint8           = 11 // UINT_16, UINT_32 and UINT_64 follow
	convInt8            = 15 // INT_16, INT_32 and INT_64 follow
)

// intNode is an integer column of bits bits, INT64 for 64 and INT32 below.
func intNode(name string, rep int32, bits int8, signed bool) node {
	phys := int32(typeInt32)
	if bits == 64 {
		phys = typeInt64
	}
	conv := int32(convUint8)
	if signed {
		conv = convInt8
	}
	switch bits {
	case 16:
		conv++
	case 32:
		conv += 2
	case 64:
		conv += 3
	}
	return node{name: name, rep: rep, phys: phys, conv: conv, logical: logInt, bits: bits, signed: signed}
}

// columnNode is the schema element of c: unsigned integers as INT32/INT64 with
// an unsigned INTEGER annotation, signed ones with a signed one, timestamps as
// INT64 TIMESTAMP adjusted to UTC, text as STRING, a pair list as the
// three-level LIST of a struct.
func columnNode[T any](c *Column[T]) node {
	rep := int32(0)
	if c.has.mask != 0 || c.typ == colPairs {
		rep = 1
	}
	switch c.typ {
	case colUint8:
		return intNode(c.name, rep, 8, false)
	case colUint16:
		return intNode(c.name, rep, 16, false)
	case colUint32:
		return intNode(c.name, rep, 32, false)
	case colUint64:
		return intNode(c.name, rep, 64, false)
	case colInt64, colDuration:
		return intNode(c.name, rep, 64, true)
	case colTimestamp:
		n := node{name: c.name, rep: rep, phys: typeInt64, conv: -1, logical: logTimestamp, unit: 3}
		if c.micro {
			n.conv, n.unit = convTimestampMicros, 2
		}
		return n
	case colString:
		return node{name: c.name, rep: rep, phys: typeByteArray, conv: convUTF8, logical: logString}
	case colPairs:
		elem := node{name: "element", rep: 1, phys: -1, conv: -1,
			children: []node{intNode(c.left, 0, 32, false), intNode(c.right, 0, 32, false)}}
		list := node{name: "list", rep: 2, phys: -1, conv: -1, children: []node{elem}}
		return node{name: c.name, rep: rep, phys: -1, conv: convList, logical: logList, children: []node{list}}
	}
	return node{name: c.name, rep: rep, phys: typeBoolean, conv: -1}
}

func (n *node) count() int {
	c := 1
	for i := range n.children {
		c += n.children[i].count()
	}
	return c
}

// write appends the SchemaElement of n and its children, depth first.
func (n *node) write(t *thriftWriter) {
	t.begin()
	if n.phys >= 0 {
		t.i32(1, n.phys)
	}
	t.i32(3, n.rep)
	t.string(4, n.name)
	if n.phys < 0 {
		t.i32(5, int32(len(n.children)))
	}
	if n.conv >= 0 {
		t.i32(6, n.conv)
	}
	switch n.logical {
	case logInt:
		t.structField(10)
		t.structField(10)
		t.i8(1, n.bits)
		t.bool(2, n.signed)
		t.end()
		t.end()
	case logTimestamp:
		t.structField(10)
		t.structField(8)
		t.bool(1, true)
		t.structField(2)
		t.emptyStruct(n.unit)
		t.end()
		t.end()
		t.end()
	case logString:
		t.structField(10)
		t.emptyStruct(1)
		t.end()
	case logList:
		t.structField(10)
		t.emptyStruct(3)
		t.end()
	}
	t.end()
	for i := range n.children {
		n.children[i].write(t)
	}
}
