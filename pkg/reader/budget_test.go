package reader

import (
	"bytes"
	"errors"
	"testing"
)

// Readers sharing a Budget hold large records only within it, refuse one that
// does not fit with ErrTooLarge at the record's offset, and give the memory back
// once they move past their large record.
func TestBudgetSharedByReaders(t *testing.T) {
	big := make([]byte, 300<<10)
	small := make([]byte, 60)
	mk := func() []byte {
		return newPcap(le, false, 1<<20, 1).add(1, 0, big, uint32(len(big))).add(2, 0, small, 60).b
	}
	o := Options{BufferSize: 64 << 10, Budget: NewBudget(400 << 10)}
	a, err := NewReaderWith(bytes.NewReader(mk()), "a", o)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := NewReaderWith(bytes.NewReader(mk()), "b", o)
	if p, err := a.Next(); err != nil || len(p.Data) != len(big) {
		t.Fatalf("a: %v", err)
	}
	if used := o.Budget.InUse(); used <= 0 || used > 400<<10 {
		t.Fatalf("in use %d", used)
	}
	_, err = b.Next()
	var pe *PacketError
	if !errors.As(err, &pe) || !errors.Is(err, ErrTooLarge) || pe.File != "b" || pe.Packet != 1 || pe.Offset != 24 {
		t.Fatalf("b: %v", err)
	}
	if p, err := a.Next(); err != nil || len(p.Data) != 60 {
		t.Fatalf("a after its large record: %v", err)
	}
	if used := o.Budget.InUse(); used != 0 {
		t.Fatalf("a still holds %d bytes of the budget", used)
	}
	// With the budget given back, a third reader can read its large record.
	c, _ := NewReaderWith(bytes.NewReader(mk()), "c", o)
	if _, err := c.Next(); err != nil {
		t.Fatal(err)
	}
	c.Close()
	if used := o.Budget.InUse(); used != 0 {
		t.Fatalf("Close kept %d bytes", used)
	}
}
