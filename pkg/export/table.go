package export

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"unsafe"

	"github.com/pcaptk/pcaptk/pkg/decode"
)

// table.go: CSV and JSON for any fixed table of flat rows (pcaptk conns' connection
// table), driven by a column table instead of code per column. The formats are
// export's: the same CSV quoting and JSON string escaping, timestamps as
// --time-format says, durations as seconds with nine decimals, nulls as empty
// cells or null.

// ColumnType is how a table column's value is stored in the row and written.
type ColumnType uint8

const (
	TypeUint     ColumnType = iota + 1 // an unsigned integer field of any width
	TypeInt                            // a signed integer field of any width
	TypeBool                           // a bool field
	TypeTime                           // int64 nanoseconds since the epoch, UTC: written as TSFormat says
	TypeDuration                       // int64 nanoseconds: seconds with nine decimals, as tshark writes them
	TypeEnum                           // an unsigned integer field naming one of Names
	TypeIP                             // [16]byte; Aux names the uint8 IP version field (4: the first four bytes)
	TypeText                           // a byte array; Aux names its length field, else it ends at its first zero byte
)

// TableColumn describes one column: its name, its type, and where its value is
// in the row struct (Field, a field name). A nullable column names in Valid the
// bool field that says the value is present.
type TableColumn struct {
	Name  string
	Type  ColumnType
	Field string
	Valid string   // nullable: the bool field set when the value is present
	Aux   string   // TypeIP: the IP version field; TypeText: the length field (optional)
	Names []string // TypeEnum: the text of each value (a value past the end is written as its number)
}

// tableCol is a TableColumn resolved against the row type: offsets into the row.
type tableCol struct {
	TableColumn
	off, size     uintptr
	validOff      uintptr
	nullable      bool
	auxOff        uintptr
	auxSize       uintptr
	hasAux        bool
	jsonKey       []byte // `{"name":` or `,"name":`, for the column's place in the table
	textByteCount uintptr
}

// Table is a column table for rows of type R.
type Table[R any] struct {
	cols []tableCol
}

// NewTable checks cols against the fields of R and returns the table. It fails
// when a field is missing or its kind does not suit the column's type.
func NewTable[R any](cols []TableColumn) (*Table[R], error) {
	rt := reflect.TypeFor[R]()
	if rt.Kind() != reflect.Struct {
		return nil, fmt.Errorf("table rows must be structs, not %v", rt)
	}
	field := func(c *TableColumn, name string) (reflect.StructField, error) {
		f, ok := rt.FieldByName(name)
		if !ok || len(f.Index) != 1 {
			return f, fmt.Errorf("column %s: %v has no field %s", c.Name, rt, name)
		}
		return f, nil
	}
	t := &Table[R]{}
	for _, c := range cols {
		f, err := field(&c, c.Field)
		if err != nil {
			return nil, err
		}
		k := f.Type.Kind()
		tc := tableCol{TableColumn: c, off: f.Offset, size: f.Type.Size()}
		ok := false
		switch c.Type {
		case TypeUint, TypeEnum:
			ok = k >= reflect.Uint8 && k <= reflect.Uint64
		case TypeInt:
			ok = k >= reflect.Int8 && k <= reflect.Int64
		case TypeTime, TypeDuration:
			ok = k == reflect.Int64
		case TypeBool:
			ok = k == reflect.Bool
		case TypeIP:
			ok = k == reflect.Array && f.Type.Len() == 16 && f.Type.Elem().Kind() == reflect.Uint8 && c.Aux != ""
		case TypeText:
			ok = k == reflect.Array && f.Type.Elem().Kind() == reflect.Uint8
			tc.textByteCount = uintptr(f.Type.Len())
		}
		if !ok {
			return nil, fmt.Errorf("column %s: field %s (%v) cannot hold a column of type %d", c.Name, c.Field, f.Type, c.Type)
		}
		if c.Valid != "" {
			v, err := field(&c, c.Valid)
			if err != nil {
				return nil, err
			}
			if v.Type.Kind() != reflect.Bool {
				return nil, fmt.Errorf("column %s: validity field %s is not a bool", c.Name, c.Valid)
			}
			tc.validOff, tc.nullable = v.Offset, true
		}
		if c.Aux != "" {
			a, err := field(&c, c.Aux)
			if err != nil {
				return nil, err
			}
			if ak := a.Type.Kind(); ak < reflect.Uint8 || ak > reflect.Uint64 {
				return nil, fmt.Errorf("column %s: field %s is not an unsigned integer", c.Name, c.Aux)
			}
			tc.auxOff, tc.auxSize, tc.hasAux = a.Offset, a.Type.Size(), true
		}
		t.cols = append(t.cols, tc)
	}
	t.setKeys()
	return t, nil
}

// setKeys gives each column its JSON key for its place in the table (the table
// is not changed afterwards, so writers may share it).
func (t *Table[R]) setKeys() {
	for i := range t.cols {
		sep := byte(',')
		if i == 0 {
			sep = '{'
		}
		k := strconv.AppendQuote([]byte{sep}, t.cols[i].Name)
		t.cols[i].jsonKey = append(k, ':')
	}
}

// Names returns the table's column names in order.
func (t *Table[R]) Names() []string {
	names := make([]string, len(t.cols))
	for i, c := range t.cols {
		names[i] = c.Name
	}
	return names
}

// Columns returns the table's columns in order.
func (t *Table[R]) Columns() []TableColumn {
	cols := make([]TableColumn, len(t.cols))
	for i, c := range t.cols {
		cols[i] = c.TableColumn
	}
	return cols
}

// Select returns the table restricted to the comma-separated column names in
// list, in that order; "" or "all" keeps every column.
func (t *Table[R]) Select(list string) (*Table[R], error) {
	list = strings.TrimSpace(list)
	if list == "" || list == "all" {
		return t, nil
	}
	out := &Table[R]{}
	seen := map[string]bool{}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		i := t.index(name)
		if i < 0 {
			return nil, fmt.Errorf("unknown column %q (columns: %s)", name, strings.Join(t.Names(), ","))
		}
		if seen[name] {
			return nil, fmt.Errorf("column %q given twice", name)
		}
		seen[name] = true
		out.cols = append(out.cols, t.cols[i])
	}
	out.setKeys()
	return out, nil
}

// index returns the position of the column called name, or -1.
func (t *Table[R]) index(name string) int {
	for i, c := range t.cols {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// Column returns the named column, or false.
func (t *Table[R]) Column(name string) (TableColumn, bool) {
	if i := t.index(name); i >= 0 {
		return t.cols[i].TableColumn, true
	}
	return TableColumn{}, false
}

// Reading a value: the row's bytes at the column's offset, by the field's width.

func readUint(p unsafe.Pointer, off, size uintptr) uint64 {
	q := unsafe.Add(p, off)
	switch size {
	case 1:
		return uint64(*(*uint8)(q))
	case 2:
		return uint64(*(*uint16)(q))
	case 4:
		return uint64(*(*uint32)(q))
	}
	return *(*uint64)(q)
}

func readInt(p unsafe.Pointer, off, size uintptr) int64 {
	q := unsafe.Add(p, off)
	switch size {
	case 1:
		return int64(*(*int8)(q))
	case 2:
		return int64(*(*int16)(q))
	case 4:
		return int64(*(*int32)(q))
	}
	return *(*int64)(q)
}

// Uint returns an unsigned column's value in row (and false for a null).
func (t *Table[R]) Uint(row *R, col int) (uint64, bool) {
	c := &t.cols[col]
	p := unsafe.Pointer(row)
	if c.nullable && !*(*bool)(unsafe.Add(p, c.validOff)) {
		return 0, false
	}
	return readUint(p, c.off, c.size), true
}

// Int returns a signed (time, duration) column's value in row.
func (t *Table[R]) Int(row *R, col int) (int64, bool) {
	c := &t.cols[col]
	p := unsafe.Pointer(row)
	if c.nullable && !*(*bool)(unsafe.Add(p, c.validOff)) {
		return 0, false
	}
	return readInt(p, c.off, c.size), true
}

// AppendText appends a column's value as text (the CSV cell, unquoted) and
// reports false for a null.
func (t *Table[R]) AppendText(dst []byte, row *R, col int, tf TSFormat) ([]byte, bool) {
	c := &t.cols[col]
	p := unsafe.Pointer(row)
	if c.nullable && !*(*bool)(unsafe.Add(p, c.validOff)) {
		return dst, false
	}
	var tsf tsFormatter
	return c.appendValue(dst, p, tf, &tsf, textRaw), true
}

// textMode is how appendValue writes text: quoted for CSV or JSON, or raw.
type textMode uint8

const (
	textCSV textMode = iota
	textJSON
	textRaw
)

// appendValue appends the column's value of the row at p, text as mode says.
// tsf is only used for TypeTime in RFC 3339.
func (c *tableCol) appendValue(b []byte, p unsafe.Pointer, tf TSFormat, tsf *tsFormatter, mode textMode) []byte {
	json := mode == textJSON
	switch c.Type {
	case TypeUint:
		return appendU(b, readUint(p, c.off, c.size))
	case TypeInt:
		return strconv.AppendInt(b, readInt(p, c.off, c.size), 10)
	case TypeBool:
		return appendBool(b, *(*bool)(unsafe.Add(p, c.off)))
	case TypeTime:
		ns := readInt(p, c.off, c.size)
		switch tf {
		case TSEpoch:
			return appendEpoch(b, ns)
		case TSEpochNS:
			return strconv.AppendInt(b, ns, 10)
		}
		if json {
			b = append(b, '"')
		}
		b = tsf.appendRFC3339(b, ns)
		if json {
			b = append(b, '"')
		}
		return b
	case TypeDuration:
		return appendEpoch(b, readInt(p, c.off, c.size))
	case TypeEnum:
		v := readUint(p, c.off, c.size)
		if v >= uint64(len(c.Names)) {
			return appendU(b, v)
		}
		return appendText(b, unsafe.Slice(unsafe.StringData(c.Names[v]), len(c.Names[v])), mode)
	case TypeIP:
		ip := *(*[16]byte)(unsafe.Add(p, c.off))
		v := uint8(readUint(p, c.auxOff, c.auxSize))
		if json {
			b = append(b, '"')
		}
		b = decode.AppendIP(b, ip, v)
		if json {
			b = append(b, '"')
		}
		return b
	case TypeText:
		s := unsafe.Slice((*byte)(unsafe.Add(p, c.off)), c.textByteCount)
		if c.hasAux {
			s = s[:min(uintptr(readUint(p, c.auxOff, c.auxSize)), c.textByteCount)]
		} else {
			for i, x := range s {
				if x == 0 {
					s = s[:i]
					break
				}
			}
		}
		return appendText(b, s, mode)
	}
	return b
}

func appendText(b, s []byte, mode textMode) []byte {
	switch mode {
	case textJSON:
		return appendJSONString(b, s)
	case textCSV:
		return appendCSVField(b, s)
	}
	return append(b, s...)
}

// TableOptions configure a TableWriter.
type TableOptions struct {
	Time TSFormat // how TypeTime columns are written
}

// TableWriter writes rows of a Table as CSV (a header row, RFC 4180 quoting,
// empty cells for null) or JSON (one object a line, null for null). It formats
// into one reused buffer written in large pieces and allocates nothing per row.
// The first error is kept and returned by every later call; Close writes what
// is buffered (and a CSV header when there were no rows) and does not close w.
type TableWriter[R any] struct {
	w      io.Writer
	t      *Table[R]
	json   bool
	o      TableOptions
	tsf    tsFormatter
	buf    []byte
	header bool
	err    error
}

// NewTableCSV returns a writer of t's rows as CSV on w.
func NewTableCSV[R any](w io.Writer, t *Table[R], o TableOptions) *TableWriter[R] {
	return &TableWriter[R]{w: w, t: t, o: o, header: true, buf: make([]byte, 0, flushAt+4096)}
}

// NewTableJSON returns a writer of t's rows as JSON lines on w.
func NewTableJSON[R any](w io.Writer, t *Table[R], o TableOptions) *TableWriter[R] {
	return &TableWriter[R]{w: w, t: t, o: o, json: true, buf: make([]byte, 0, flushAt+4096)}
}

// Write appends one row.
func (tw *TableWriter[R]) Write(row *R) error {
	if tw.err != nil {
		return tw.err
	}
	if tw.header {
		tw.writeHeader()
	}
	p := unsafe.Pointer(row)
	b := tw.buf
	for i := range tw.t.cols {
		c := &tw.t.cols[i]
		if tw.json {
			b = append(b, c.jsonKey...)
		} else if i > 0 {
			b = append(b, ',')
		}
		if c.nullable && !*(*bool)(unsafe.Add(p, c.validOff)) {
			if tw.json {
				b = append(b, "null"...)
			}
			continue
		}
		mode := textCSV
		if tw.json {
			mode = textJSON
		}
		b = c.appendValue(b, p, tw.o.Time, &tw.tsf, mode)
	}
	if tw.json {
		b = append(b, '}')
	}
	tw.buf = append(b, '\n')
	if len(tw.buf) >= flushAt {
		tw.flush()
	}
	return tw.err
}

func (tw *TableWriter[R]) writeHeader() {
	for i, c := range tw.t.cols {
		if i > 0 {
			tw.buf = append(tw.buf, ',')
		}
		tw.buf = appendCSVField(tw.buf, []byte(c.Name))
	}
	tw.buf = append(tw.buf, '\n')
	tw.header = false
}

func (tw *TableWriter[R]) flush() {
	if tw.err == nil && len(tw.buf) > 0 {
		_, tw.err = tw.w.Write(tw.buf)
	}
	tw.buf = tw.buf[:0]
}

// Flush writes the buffered rows to w.
func (tw *TableWriter[R]) Flush() error {
	tw.flush()
	return tw.err
}

// Close writes what is buffered; a CSV with no rows still gets its header.
func (tw *TableWriter[R]) Close() error {
	if tw.header && tw.err == nil {
		tw.writeHeader()
	}
	tw.flush()
	return tw.err
}

// Null reports whether a nullable column's value is absent in row.
func (t *Table[R]) Null(row *R, col int) bool {
	c := &t.cols[col]
	return c.nullable && !*(*bool)(unsafe.Add(unsafe.Pointer(row), c.validOff))
}

// Compare orders two rows by a column's values, as their type orders them:
// numbers, times and durations by value, false before true, addresses by IP
// version then bytes, enums and text by their text. Nulls are not looked at
// (see Null).
func (t *Table[R]) Compare(a, b *R, col int) int {
	c := &t.cols[col]
	pa, pb := unsafe.Pointer(a), unsafe.Pointer(b)
	switch c.Type {
	case TypeUint:
		return cmp.Compare(readUint(pa, c.off, c.size), readUint(pb, c.off, c.size))
	case TypeInt, TypeTime, TypeDuration:
		return cmp.Compare(readInt(pa, c.off, c.size), readInt(pb, c.off, c.size))
	case TypeBool:
		x, y := *(*bool)(unsafe.Add(pa, c.off)), *(*bool)(unsafe.Add(pb, c.off))
		switch {
		case x == y:
			return 0
		case y:
			return -1
		}
		return 1
	case TypeIP:
		if v := cmp.Compare(readUint(pa, c.auxOff, c.auxSize), readUint(pb, c.auxOff, c.auxSize)); v != 0 {
			return v
		}
		return bytes.Compare(unsafe.Slice((*byte)(unsafe.Add(pa, c.off)), 16), unsafe.Slice((*byte)(unsafe.Add(pb, c.off)), 16))
	}
	var ba, bb [64]byte
	return bytes.Compare(c.appendValue(ba[:0], pa, TSEpochNS, nil, textRaw), c.appendValue(bb[:0], pb, TSEpochNS, nil, textRaw))
}
