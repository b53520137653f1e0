package export

import (
	"fmt"
	"unsafe"

	"github.com/pcaptk/pcaptk/pkg/export/parquet"
)

// ParquetColumns returns the table's columns for the Parquet writer of package
// export/parquet, read from the same fields as CSV and JSON: unsigned integers
// at their width, times as timestamps in unit, durations as INT64 nanoseconds
// (Parquet has no duration type), booleans, and enums, addresses and text as
// strings (enums and addresses dictionary-keyed by the fields they are made
// from, so their text is made once per distinct value); nullable columns are
// Optional on their validity field.
func ParquetColumns[R any](t *Table[R], unit parquet.Unit) ([]parquet.Column[R], error) {
	var cols []parquet.Column[R]
	for i := range t.cols {
		c := &t.cols[i]
		var pc parquet.Column[R]
		text := func(dst []byte, r *R, _ []byte) []byte {
			// No state: the writer's workers may call it at once.
			return c.appendValue(dst, unsafe.Pointer(r), TSEpochNS, nil, textRaw)
		}
		switch c.Type {
		case TypeUint:
			switch c.size {
			case 1:
				pc = parquet.Uint8(c.Name, fieldAt[R, uint8](c.off))
			case 2:
				pc = parquet.Uint16(c.Name, fieldAt[R, uint16](c.off))
			case 4:
				pc = parquet.Uint32(c.Name, fieldAt[R, uint32](c.off))
			default:
				pc = parquet.Uint64(c.Name, fieldAt[R, uint64](c.off))
			}
		case TypeInt:
			if c.size != 8 {
				return nil, fmt.Errorf("column %s: Parquet takes signed integers of 64 bits only", c.Name)
			}
			pc = parquet.Int64(c.Name, fieldAt[R, int64](c.off))
		case TypeTime:
			pc = parquet.Timestamp(c.Name, fieldAt[R, int64](c.off), unit)
		case TypeDuration:
			pc = parquet.Duration(c.Name, fieldAt[R, int64](c.off))
		case TypeBool:
			pc = parquet.Bool(c.Name, parquet.True(fieldAt[R, bool](c.off)))
		case TypeEnum:
			pc = parquet.String(c.Name, text).Key(keyOf[R](c.off, c.size))
		case TypeIP:
			pc = parquet.String(c.Name, text).Key(parquet.KeyOf(fieldAt[R, [16]byte](c.off)), keyOf[R](c.auxOff, c.auxSize))
		case TypeText:
			pc = parquet.String(c.Name, text)
		}
		if c.nullable {
			pc = pc.Optional(parquet.True(fieldAt[R, bool](c.validOff)))
		}
		cols = append(cols, pc)
	}
	return cols, nil
}

// rawText is a parquet.TextFunc: the column's text, unquoted. It keeps no
// state, so the writer's workers may call it at once.
func (c *tableCol) rawText(dst []byte, r unsafe.Pointer) []byte {
	return c.appendValue(dst, r, TSEpochNS, nil, textRaw)
}

// fieldAt is a field function of the parquet API for the field of type F at
// offset off in R.
func fieldAt[R, F any](off uintptr) func(*R) *F {
	return func(r *R) *F { return (*F)(unsafe.Add(unsafe.Pointer(r), off)) }
}

// keyOf is an unsigned field of the given width as part of a dictionary key.
func keyOf[R any](off, size uintptr) parquet.KeyField[R] {
	switch size {
	case 1:
		return parquet.KeyOf(fieldAt[R, uint8](off))
	case 2:
		return parquet.KeyOf(fieldAt[R, uint16](off))
	case 4:
		return parquet.KeyOf(fieldAt[R, uint32](off))
	}
	return parquet.KeyOf(fieldAt[R, uint64](off))
}
