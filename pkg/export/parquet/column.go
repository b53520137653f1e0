package parquet

import (
	"errors"
	"fmt"
	"unsafe"
)

// Column describes one column of a table whose rows are values of T: its
// name, type, where its value sits in T, and how it is written. Columns are
// made by the type's constructor (Uint32, String, ...) and adjusted by the
// methods that return a changed copy (Optional, Plain, ...). Row fields are
// given as functions from a row to the field's address, called once on a zero
// row to find the field's offset; the writer then reads the field by offset,
// with no call per row. A definition that cannot be written (a field outside
// the row, a mask across bytes, a key on a number) is reported by NewWriter.
type Column[T any] struct {
	name  string
	typ   colType
	off   uintptr // the value's field
	size  uintptr // its bytes
	micro bool    // Timestamp: written in microseconds
	has   bit     // Optional: the value is present when set
	bit   bit     // Bool: the value

	plain        bool // PLAIN instead of DELTA_BINARY_PACKED
	uncompressed bool
	noStats      bool

	text TextFunc[T]
	span bool    // ArenaString: the text is arena[off:end]
	end  uintptr // ArenaString: the offset of the span's end
	key  keySpec

	left, right string  // PairList: the struct's field names
	count       uintptr // PairList: the offset of the uint8 count of pairs in use
	maxPairs    int

	err error
}

type colType uint8

const (
	colBool colType = iota
	colUint8
	colUint16
	colUint32
	colUint64
	colInt64
	colDuration
	colTimestamp
	colString
	colPairs
)

// TextFunc appends the text of row r to dst and returns it. arena is the byte
// slice given to Write with the rows, for rows that keep their text there.
type TextFunc[T any] func(dst []byte, r *T, arena []byte) []byte

// Unit is a timestamp column's unit.
type Unit uint8

const (
	Nanos  Unit = iota // nanoseconds since the epoch
	Micros             // microseconds, rounded down (Spark 3 rejects nanoseconds)
)

// Bool is a BOOLEAN column whose value is bit b of the row.
func Bool[T any](name string, b Bit[T]) Column[T] {
	c := Column[T]{name: name, typ: colBool, bit: b.bit, err: b.err}
	if b.mask == 0 && b.err == nil {
		c.err = errors.New("no bit (a zero Bit)")
	}
	return c
}

// Uint8 is an unsigned 8-bit column (INT32 with the INT(8, unsigned)
// annotation), DELTA_BINARY_PACKED unless Plain.
func Uint8[T any, F ~uint8](name string, field func(*T) *F) Column[T] {
	return fieldColumn(name, colUint8, field)
}

// Uint16 is an unsigned 16-bit column, as Uint8.
func Uint16[T any, F ~uint16](name string, field func(*T) *F) Column[T] {
	return fieldColumn(name, colUint16, field)
}

// Uint32 is an unsigned 32-bit column, as Uint8.
func Uint32[T any, F ~uint32](name string, field func(*T) *F) Column[T] {
	return fieldColumn(name, colUint32, field)
}

// Uint64 is an unsigned 64-bit column (INT64, INT(64, unsigned)).
func Uint64[T any, F ~uint64](name string, field func(*T) *F) Column[T] {
	return fieldColumn(name, colUint64, field)
}

// Int64 is a signed 64-bit column (INT64, INT(64, signed)).
func Int64[T any, F ~int64](name string, field func(*T) *F) Column[T] {
	return fieldColumn(name, colInt64, field)
}

// Duration is a duration in nanoseconds, stored as Int64 is: Parquet has no
// duration type, so readers see a signed 64-bit integer.
func Duration[T any, F ~int64](name string, field func(*T) *F) Column[T] {
	return fieldColumn(name, colDuration, field)
}

// Timestamp is an instant held in the row as nanoseconds since the epoch,
// written as INT64 TIMESTAMP(isAdjustedToUTC=true) in unit.
func Timestamp[T any, F ~int64](name string, field func(*T) *F, unit Unit) Column[T] {
	c := fieldColumn(name, colTimestamp, field)
	c.micro = unit == Micros
	return c
}

// String is a STRING column whose text text appends. Its chunks are
// dictionary encoded until the dictionary holds 1 MiB of text, then PLAIN.
// Without Key the text is made for every row and is its own dictionary key;
// with Key it is made once per distinct key.
func String[T any](name string, text TextFunc[T]) Column[T] {
	c := Column[T]{name: name, typ: colString, text: text}
	if text == nil {
		c.err = errors.New("no text function")
	}
	return c
}

// ArenaString is a String column whose text the row keeps in the arena given
// to Write with it, as the span arena[start:end] of two uint32 fields: text
// that is read rather than made, with no call per row. A span outside the
// arena makes the writer fail.
func ArenaString[T any](name string, start, end func(*T) *uint32) Column[T] {
	c := Column[T]{name: name, typ: colString, span: true}
	var err1, err2 error
	c.off, err1 = offset(start, 1)
	c.end, err2 = offset(end, 1)
	c.err = errors.Join(err1, err2)
	return c
}

// Pair is a pair of uint32 as a row holds it: a struct of two uint32 fields
// named Left and Right, or an array of two.
type Pair interface {
	~struct{ Left, Right uint32 } | ~[2]uint32
}

// PairList is a list<struct<left: uint32, right: uint32>> column (LIST of a
// struct, the fields named left and right). The row holds up to max pairs in
// an array whose first element first returns, and count of them in use. A
// row with no pairs is null: the column is always nullable.
func PairList[T any, P Pair](name, left, right string, first func(*T) *P, max int, count func(*T) *uint8) Column[T] {
	c := Column[T]{name: name, typ: colPairs, left: left, right: right, maxPairs: max}
	var err1, err2 error
	c.off, err1 = offset(first, max)
	c.count, err2 = offset(count, 1)
	c.err = errors.Join(err1, err2)
	if max <= 0 {
		c.err = errors.Join(c.err, errors.New("no room for pairs"))
	}
	return c
}

func fieldColumn[T, F any](name string, typ colType, field func(*T) *F) Column[T] {
	c := Column[T]{name: name, typ: typ}
	c.off, c.err = offset(field, 1)
	c.size = unsafe.Sizeof(*new(F))
	return c
}

// Optional makes the column nullable: a row's value is present when bit b of
// the row is set, null otherwise.
func (c Column[T]) Optional(b Bit[T]) Column[T] {
	c.has = b.bit
	c.err = errors.Join(c.err, b.err)
	return c
}

// Plain writes an integer column PLAIN instead of DELTA_BINARY_PACKED: for
// values with no order, such as random 32-bit numbers, which delta encoding
// makes no smaller. Other columns are PLAIN or dictionary encoded anyway.
func (c Column[T]) Plain() Column[T] { c.plain = true; return c }

// Uncompressed stores the column's pages without compression, whatever the
// file's codec: for values no codec shrinks, to save the time.
func (c Column[T]) Uncompressed() Column[T] { c.uncompressed = true; return c }

// NoStats writes no min/max statistics for the column (its null count is
// still written): for text whose bounds help no query.
func (c Column[T]) NoStats() Column[T] { c.noStats = true; return c }

// Key makes a String column's dictionary key the raw bytes of the given row
// fields, the fields its text is made from: the text is then made once per
// distinct key rather than for every row, and a row whose key equals the
// previous row's costs a comparison. At most two fields: the first of up to
// 16 bytes, a second (a tag, such as an address's IP version) of up to 8.
// Rows with equal keys must have equal text.
func (c Column[T]) Key(fields ...KeyField[T]) Column[T] {
	switch {
	case c.typ != colString:
		c.err = errors.Join(c.err, errors.New("a key for a column that is not a string"))
	case len(fields) == 0 || len(fields) > 2:
		c.err = errors.Join(c.err, fmt.Errorf("a key of %d fields (want 1 or 2)", len(fields)))
	case len(fields) == 2 && fields[1].size > 8:
		c.err = errors.Join(c.err, errors.New("a key's second field is longer than 8 bytes"))
	default:
		c.key = keySpec{n: len(fields)}
		for i, f := range fields {
			c.key.off[i], c.key.size[i] = f.off, f.size
			c.err = errors.Join(c.err, f.err)
		}
	}
	return c
}

// Name is the column's name.
func (c Column[T]) Name() string { return c.name }

// Embedded returns c, a column of rows U, as the same column of rows T that
// hold a U at the field field returns: a table whose rows carry another's
// rows whole (export's packet rows with their TCP analysis beside them) takes
// that table's column definitions as they are. Every field offset moves by
// the U's; a TextFunc is called with the U.
func Embedded[T, U any](c Column[U], field func(*T) *U) Column[T] {
	at, err := offset(field, 1)
	d := Column[T]{
		name: c.name, typ: c.typ, off: c.off + at, size: c.size, micro: c.micro,
		has: c.has, bit: c.bit,
		plain: c.plain, uncompressed: c.uncompressed, noStats: c.noStats,
		span: c.span, end: c.end, key: c.key,
		left: c.left, right: c.right, count: c.count, maxPairs: c.maxPairs,
		err: errors.Join(c.err, err),
	}
	if d.has.mask != 0 {
		d.has.off += at
	}
	if d.bit.mask != 0 {
		d.bit.off += at
	}
	if c.span {
		d.end += at
	}
	if c.typ == colPairs {
		d.count += at
	}
	for i := range d.key.n {
		d.key.off[i] += at
	}
	if text := c.text; text != nil {
		d.text = func(dst []byte, r *T, arena []byte) []byte { return text(dst, field(r), arena) }
	}
	return d
}

// Bit is one bit of a row: a presence bit for Optional, the value of a Bool.
type Bit[T any] struct {
	bit
	err error
}

// bit is the byte of a row that holds a bit, and the bit's mask in it.
type bit struct {
	off  uintptr
	mask uint8 // 0: no bit (a required column)
}

func (b bit) in(p unsafe.Pointer) bool { return *(*uint8)(unsafe.Add(p, b.off))&b.mask != 0 }

// Unsigned is the field types Mask reads.
type Unsigned interface {
	~uint8 | ~uint16 | ~uint32 | ~uint64
}

// Mask is the bit of the row set when the field has the bits of mask set.
// The mask's bits must lie in one byte of the field (one bit, typically).
func Mask[T any, F Unsigned](field func(*T) *F, mask F) Bit[T] {
	var b Bit[T]
	b.off, b.err = offset(field, 1)
	// The byte of the field that holds the mask, found in memory order so
	// that it is right whatever the machine's byte order.
	m := unsafe.Slice((*byte)(unsafe.Pointer(&mask)), unsafe.Sizeof(mask))
	at := -1
	for i, x := range m {
		if x == 0 {
			continue
		}
		if at >= 0 {
			return Bit[T]{err: fmt.Errorf("mask %#x spans bytes", uint64(mask))}
		}
		at, b.mask = i, x
	}
	if at < 0 {
		return Bit[T]{err: errors.New("empty mask")}
	}
	b.off += uintptr(at)
	return b
}

// True is the bit of the row set when the bool field is true.
func True[T any](field func(*T) *bool) Bit[T] {
	var b Bit[T]
	b.off, b.err = offset(field, 1)
	b.mask = 1 // a Go bool is one byte, 0 or 1
	return b
}

// Keyable is the field types a dictionary key is made of.
type Keyable interface {
	~uint8 | ~uint16 | ~uint32 | ~uint64 | ~[16]byte
}

// KeyField is a row field that is part of a dictionary key (see Column.Key).
type KeyField[T any] struct {
	off, size uintptr
	err       error
}

// KeyOf is the field as part of a dictionary key.
func KeyOf[T any, F Keyable](field func(*T) *F) KeyField[T] {
	var k KeyField[T]
	k.off, k.err = offset(field, 1)
	k.size = unsafe.Sizeof(*new(F))
	return k
}

// keySpec is where a String column's key is: n fields (0: the text is the key).
type keySpec struct {
	n    int
	off  [2]uintptr
	size [2]uintptr
}

// offset returns the offset in T of the field (and the n-1 following ones,
// for an array) that field returns the address of, given a row.
func offset[T, F any](field func(*T) *F, n int) (uintptr, error) {
	if field == nil {
		return 0, errors.New("no field")
	}
	row := new(T)
	p := field(row)
	if p == nil {
		return 0, errors.New("field function returned nil")
	}
	off := uintptr(unsafe.Pointer(p)) - uintptr(unsafe.Pointer(row))
	end := off + uintptr(max(n, 1))*unsafe.Sizeof(*p)
	if uintptr(unsafe.Pointer(p)) < uintptr(unsafe.Pointer(row)) || end > unsafe.Sizeof(*row) || end < off {
		return 0, errors.New("field function returned an address outside the row")
	}
	return off, nil
}
