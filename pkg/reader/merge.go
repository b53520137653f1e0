package reader

// MergeReader reads several Readers as one stream.
type MergeReader struct {
	rs         []*Reader
	concat     bool
	ifaces     []Interface
	lastInput  int
	lastNumber uint64
	pkt        Packet
}

// Merge combines readers into one chronological stream (ties go to the earlier input);
// with concat they are read one after another.
func Merge(rs []*Reader, concat bool) *MergeReader {
	return &MergeReader{rs: rs, concat: concat, lastInput: -1}
}

// Next returns the next packet of the merged stream. The Packet is reused by the next call.
func (m *MergeReader) Next() (*Packet, error) { return nil, nil }

// Interfaces returns the merged interface list that Packet.Iface indexes.
func (m *MergeReader) Interfaces() []Interface { return m.ifaces }

// LastInput is the index in rs of the input the last packet came from.
func (m *MergeReader) LastInput() int { return m.lastInput }

// LastNumber is the last packet's number within its own input.
func (m *MergeReader) LastNumber() uint64 { return m.lastNumber }

// Source returns input i.
func (m *MergeReader) Source(i int) *Reader { return m.rs[i] }

// Close closes every input and returns the first error.
func (m *MergeReader) Close() error {
	var first error
	for _, r := range m.rs {
		if err := r.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
