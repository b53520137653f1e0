package parquet

import "encoding/binary"

// thriftWriter appends Thrift compact-protocol structs, the encoding of Parquet's
// page headers and footer. Only what this package writes is here: structs, i32/i64,
// bool, binary and lists. Field ids are written as deltas from the previous field
// of the same struct, so a struct is opened with begin and closed with end.
type thriftWriter struct {
	b    []byte
	last []int16 // previous field id of each open struct, innermost last
}

// Compact-protocol type codes.
const (
	tBoolTrue  = 1
	tBoolFalse = 2
	tByte      = 3
	tI32       = 5
	tI64       = 6
	tBinary    = 8
	tList      = 9
	tStruct    = 12
)

func (t *thriftWriter) begin() { t.last = append(t.last, 0) }

func (t *thriftWriter) end() {
	t.b = append(t.b, 0)
	t.last = t.last[:len(t.last)-1]
}

func (t *thriftWriter) field(id int16, typ byte) {
	prev := &t.last[len(t.last)-1]
	if d := id - *prev; d > 0 && d <= 15 {
		t.b = append(t.b, byte(d)<<4|typ)
	} else {
		t.b = append(t.b, typ)
		t.b = binary.AppendVarint(t.b, int64(id))
	}
	*prev = id
}

func (t *thriftWriter) i32(id int16, v int32) {
	t.field(id, tI32)
	t.b = binary.AppendVarint(t.b, int64(v))
}

func (t *thriftWriter) i64(id int16, v int64) {
	t.field(id, tI64)
	t.b = binary.AppendVarint(t.b, v)
}

func (t *thriftWriter) i8(id int16, v int8) {
	t.field(id, tByte)
	t.b = append(t.b, byte(v))
}

func (t *thriftWriter) bool(id int16, v bool) {
	if v {
		t.field(id, tBoolTrue)
	} else {
		t.field(id, tBoolFalse)
	}
}

func (t *thriftWriter) binary(id int16, v []byte) {
	t.field(id, tBinary)
	t.b = binary.AppendUvarint(t.b, uint64(len(v)))
	t.b = append(t.b, v...)
}

func (t *thriftWriter) string(id int16, v string) {
	t.field(id, tBinary)
	t.b = binary.AppendUvarint(t.b, uint64(len(v)))
	t.b = append(t.b, v...)
}

// structField opens a struct-valued field; close it with end.
func (t *thriftWriter) structField(id int16) {
	t.field(id, tStruct)
	t.begin()
}

// list writes a list header of n elements of type typ; the elements follow
// (structs each opened with begin and closed with end).
func (t *thriftWriter) list(id int16, typ byte, n int) {
	t.field(id, tList)
	t.listHeader(typ, n)
}

func (t *thriftWriter) listHeader(typ byte, n int) {
	if n < 15 {
		t.b = append(t.b, byte(n)<<4|typ)
		return
	}
	t.b = append(t.b, 0xf0|typ)
	t.b = binary.AppendUvarint(t.b, uint64(n))
}

// listI32 writes a list of i32 values.
func (t *thriftWriter) listI32(id int16, vs []int32) {
	t.list(id, tI32, len(vs))
	for _, v := range vs {
		t.b = binary.AppendVarint(t.b, int64(v))
	}
}

// emptyStruct writes a field whose value is a struct without fields (the
// members of Parquet's LogicalType and TimeUnit unions).
func (t *thriftWriter) emptyStruct(id int16) {
	t.structField(id)
	t.end()
}
