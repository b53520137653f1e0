package parquet_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/pcaptk/pcaptk/pkg/export/parquet"
)

type Conn struct {
	Stream uint64
	First  int64 // ns since the epoch
	RTT    int64 // ns
	HasRTT bool
	State  uint8
	SawSYN bool
}

var stateNames = []string{"S0", "S1", "SF"}

func ExampleNewWriter() {
	cols := []parquet.Column[Conn]{
		parquet.Uint64("stream", func(c *Conn) *uint64 { return &c.Stream }),
		parquet.Timestamp("first_ts", func(c *Conn) *int64 { return &c.First }, parquet.Nanos),
		parquet.Duration("rtt", func(c *Conn) *int64 { return &c.RTT }).
			Optional(parquet.True(func(c *Conn) *bool { return &c.HasRTT })),
		parquet.String("state", func(dst []byte, c *Conn, _ []byte) []byte {
			return append(dst, stateNames[c.State]...)
		}).Key(parquet.KeyOf(func(c *Conn) *uint8 { return &c.State })),
		parquet.Bool("saw_syn", parquet.True(func(c *Conn) *bool { return &c.SawSYN })),
	}
	var f bytes.Buffer
	w, err := parquet.NewWriter(&f, cols, parquet.Options{})
	if err != nil {
		log.Fatal(err)
	}
	rows := []Conn{
		{Stream: 0, First: 1.7e18, RTT: 120e3, HasRTT: true, State: 2, SawSYN: true},
		{Stream: 1, First: 1.7e18 + 5e6, State: 0},
	}
	if err := w.Write(rows, nil); err != nil {
		log.Fatal(err)
	}
	if err := w.Close(); err != nil {
		log.Fatal(err)
	}
	b := f.Bytes()
	fmt.Printf("%s ... %s\n", b[:4], b[len(b)-4:])
	// Output: PAR1 ... PAR1
}
