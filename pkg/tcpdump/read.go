package tcpdump

import (
	"fmt"
	"io"

	"github.com/pcaptk/pcaptk/pkg/decode"
	"github.com/pcaptk/pcaptk/pkg/filter"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// decodedBatch is a run of packets read, filtered and decoded ahead of the
// printer. The packets' bytes live in data, which grows to its working size
// once and is then reused, so the pipeline allocates nothing per packet.
type decodedBatch struct {
	pkts     []reader.Packet
	recs     []decode.Record
	ends     []int // end of each packet's bytes in data
	data     []byte
	notes    []byte // with an Annotate: the packets' notes
	noteEnds []int  // end of each packet's note in notes
	err      error  // the reader's error after the last packet, if any
}

const (
	batchPackets = 512
	batchBytes   = 512 << 10
)

// Source is reader.Source: packets in order, each valid until the next call.
type Source = reader.Source

// PrintAll prints every packet of r that flt matches with pr, at most limit
// packets (0: all), and returns r's error, if not EOF, or pr's. Reading,
// filtering and decoding run in one goroutine while pr (whose state must see
// packets in order) runs in the caller's: on two CPUs the line formatting no
// longer waits for reading and decoding. Memory is bounded by three batches.
// pr is not flushed.
func PrintAll(r Source, flt *filter.Filter, limit int64, pr *Printer) error {
	return prefetchDecoded(r, flt, limit, nil, func(p *reader.Packet, rec *decode.Record, _ []byte) error { return pr.Print(p, rec) })
}

// Annotate gives a packet the note PrintNote puts after its TCP length: it
// appends the note (or nothing) to dst and returns it. rec is p decoded whole.
// It is called for every packet read, in order, before the filter, so that
// state it keeps (read --analysis's TCP analysis) covers the whole capture.
type Annotate func(dst []byte, p *reader.Packet, rec *decode.Record) []byte

// PrintAllNotes is PrintAll with each printed packet's note from annotate,
// which runs in the reading goroutine.
func PrintAllNotes(r Source, flt *filter.Filter, limit int64, pr *Printer, annotate Annotate) error {
	return prefetchDecoded(r, flt, limit, annotate, pr.PrintNote)
}

func prefetchDecoded(r Source, flt *filter.Filter, limit int64, annotate Annotate, fn func(*reader.Packet, *decode.Record, []byte) error) error {
	free := make(chan *decodedBatch, 3)
	full := make(chan *decodedBatch, 3)
	done := make(chan struct{})
	for i := 0; i < cap(free); i++ {
		free <- &decodedBatch{
			pkts: make([]reader.Packet, 0, batchPackets),
			recs: make([]decode.Record, batchPackets),
			ends: make([]int, 0, batchPackets),
			data: make([]byte, 0, batchBytes),
		}
	}
	go func() {
		defer close(full)
		var matched int64
		for {
			var b *decodedBatch
			select {
			case b = <-free:
			case <-done:
				return
			}
			b.pkts, b.ends, b.data, b.err = b.pkts[:0], b.ends[:0], b.data[:0], nil
			b.notes, b.noteEnds = b.notes[:0], b.noteEnds[:0]
			for len(b.pkts) < batchPackets && len(b.data) < batchBytes {
				if limit > 0 && matched >= limit {
					b.err = io.EOF
					break
				}
				p, err := r.Next()
				if err != nil {
					b.err = err
					break
				}
				i := len(b.pkts)
				if annotate != nil {
					// The analysis sees the whole record, as tshark does.
					decode.Decode(p.LinkType, p.Data, p.WireLen, &b.recs[i])
					n := len(b.notes)
					if b.notes = annotate(b.notes, p, &b.recs[i]); !flt.Match(p) {
						b.notes = b.notes[:n]
						continue
					}
					b.noteEnds = append(b.noteEnds, len(b.notes))
				} else if !flt.Match(p) {
					continue
				}
				matched++
				// libpcap hands tcpdump at most the file's snapshot length of a
				// record that claims more; print what tcpdump prints.
				snap := filter.Snapshot(p.LinkType, p.Snaplen)
				cut := p.CapLen > snap
				if cut {
					p.Data = p.Data[:snap]
				}
				b.data = append(b.data, p.Data...)
				b.ends = append(b.ends, len(b.data))
				b.pkts = append(b.pkts, *p)
				if annotate == nil || cut {
					decode.Decode(p.LinkType, p.Data, p.WireLen, &b.recs[i])
				}
			}
			start := 0
			for i := range b.pkts {
				b.pkts[i].Data = b.data[start:b.ends[i]:b.ends[i]]
				start = b.ends[i]
			}
			full <- b
			if b.err != nil {
				return
			}
		}
	}()
	defer func() {
		// Stop the reader goroutine and wait for it, so the caller may close r.
		close(done)
		for range full {
		}
	}()
	for b := range full {
		start := 0
		for i := range b.pkts {
			var note []byte
			if annotate != nil {
				note = b.notes[start:b.noteEnds[i]]
				start = b.noteEnds[i]
			}
			if err := fn(&b.pkts[i], &b.recs[i], note); err != nil {
				return err
			}
		}
		if b.err != nil {
			if b.err == io.EOF {
				return nil
			}
			return b.err
		}
		free <- b
	}
	return nil
}

// DescribeInput says what tcpdump says on stderr before the packets ("reading
// from file F, ..."): the first interface's link type, named by libpcap, and
// snapshot length.
func DescribeInput(ifs []reader.Interface) string {
	if len(ifs) == 0 {
		return "no interfaces yet"
	}
	lt := ifs[0].LinkType
	if name, desc, ok := filter.LinkTypeName(lt); ok {
		return fmt.Sprintf("link-type %s (%s), snapshot length %d", name, desc, ifs[0].Snaplen)
	}
	return fmt.Sprintf("link-type %d, snapshot length %d", lt, ifs[0].Snaplen)
}

// Banner is all tcpdump -r writes on stderr before a file's packets: the
// "reading from file" line and, for Linux cooked v2 captures, the warning that
// the interface names are this machine's and may not be the capturing one's
// (tcpdump -V warns only for the first file: first says whether it is).
func Banner(name string, ifs []reader.Interface, first bool) string {
	s := "reading from file " + name + ", " + DescribeInput(ifs) + "\n"
	if first && len(ifs) > 0 && ifs[0].LinkType == decode.LinkLinuxSLL2 {
		s += "Warning: interface names might be incorrect\n"
	}
	return s
}
