package reader

import "io"

// MergeReader reads several Readers as one stream: in chronological order (a k-way
// merge on Packet.Timestamp, ties going to the earlier input), or one input after
// another. Like Reader.Next, its Next hands out a Packet that shares data with the
// input's buffer and is only valid until the next call.
type MergeReader struct {
	in         []mergeInput
	concat     bool
	ifaces     []Interface
	heap       []int // inputs holding a head packet, ordered by (Timestamp, index)
	primed     int   // inputs whose first packet has been read
	pending    int   // input whose head was handed out last and must advance; -1 if none
	cur        int   // concat: the input being read
	n          uint64
	lastInput  int
	lastNumber uint64
	lastIface  int
	pkt        Packet
}

type mergeInput struct {
	r     *Reader
	head  *Packet
	ifmap []int // the input's interface index → index in MergeReader.Interfaces
}

// Merge combines readers into one stream. With concat false packets come in
// timestamp order (each input is assumed to be in order itself, as mergecap does);
// with concat true all of rs[0] comes first, then rs[1], and so on.
//
// Packet.Iface is remapped to an index into m.Interfaces(), which lists every
// input's interfaces (inputs in order, no de-duplication) and may grow while
// reading as later pcapng sections add interfaces. Packet.Number counts the merged
// stream from 1; LastInput and LastNumber say where the last packet came from.
//
// An input's error (a *PacketError naming its file) is returned as soon as it is
// met; that input then counts as ended, and calling Next again goes on with the
// others, so a caller can either stop at the first error or finish and report it.
func Merge(rs []*Reader, concat bool) *MergeReader {
	m := &MergeReader{concat: concat, pending: -1, lastInput: -1}
	m.in = make([]mergeInput, len(rs))
	for i, r := range rs {
		m.in[i].r = r
		m.syncIfaces(i)
	}
	return m
}

// Next returns the next packet of the merged stream, io.EOF after the last one.
func (m *MergeReader) Next() (*Packet, error) {
	if m.concat {
		return m.nextConcat()
	}
	for m.primed < len(m.in) {
		i := m.primed
		m.primed++
		if err := m.advance(i); err != nil {
			return nil, err
		}
	}
	if i := m.pending; i >= 0 {
		m.pending = -1
		err := m.advance(i)
		if err != nil {
			return nil, err
		}
	}
	if len(m.heap) == 0 {
		return nil, io.EOF
	}
	i := m.heap[0]
	m.pending = i
	return m.emit(i, m.in[i].head), nil
}

func (m *MergeReader) nextConcat() (*Packet, error) {
	for m.cur < len(m.in) {
		p, err := m.in[m.cur].r.Next()
		if err == nil {
			return m.emit(m.cur, p), nil
		}
		m.cur++
		if err != io.EOF {
			return nil, err
		}
	}
	return nil, io.EOF
}

// advance reads input i's next packet and restores the heap order. Input i is
// either the heap's root (the packet just handed out) or not yet in the heap.
func (m *MergeReader) advance(i int) error {
	in := &m.in[i]
	inHeap := in.head != nil
	p, err := in.r.Next()
	if err != nil {
		in.head = nil
		if inHeap { // remove the root
			last := len(m.heap) - 1
			m.heap[0] = m.heap[last]
			m.heap = m.heap[:last]
			m.down(0)
		}
		if err == io.EOF {
			return nil
		}
		return err
	}
	in.head = p
	if inHeap {
		m.down(0)
	} else {
		m.heap = append(m.heap, i)
		m.up(len(m.heap) - 1)
	}
	return nil
}

func (m *MergeReader) less(a, b int) bool {
	ta, tb := m.in[a].head.Timestamp, m.in[b].head.Timestamp
	return ta < tb || ta == tb && a < b
}

func (m *MergeReader) up(j int) {
	h := m.heap
	for j > 0 {
		parent := (j - 1) / 2
		if !m.less(h[j], h[parent]) {
			return
		}
		h[j], h[parent] = h[parent], h[j]
		j = parent
	}
}

func (m *MergeReader) down(j int) {
	h := m.heap
	for {
		l := 2*j + 1
		if l >= len(h) {
			return
		}
		c := l
		if r := l + 1; r < len(h) && m.less(h[r], h[l]) {
			c = r
		}
		if !m.less(h[c], h[j]) {
			return
		}
		h[j], h[c] = h[c], h[j]
		j = c
	}
}

// emit copies input i's packet into m.pkt with merged numbering and interface.
func (m *MergeReader) emit(i int, p *Packet) *Packet {
	in := &m.in[i]
	if p.Iface >= len(in.ifmap) {
		m.syncIfaces(i)
	}
	m.n++
	m.pkt = *p
	m.pkt.Iface = in.ifmap[p.Iface]
	m.pkt.Number = m.n
	m.lastInput = i
	m.lastNumber = p.Number
	m.lastIface = p.Iface
	return &m.pkt
}

// syncIfaces adds the interfaces input i has described since the last call.
func (m *MergeReader) syncIfaces(i int) {
	in := &m.in[i]
	for _, ifc := range in.r.Interfaces()[len(in.ifmap):] {
		in.ifmap = append(in.ifmap, len(m.ifaces))
		m.ifaces = append(m.ifaces, ifc)
	}
}

// Interfaces returns the merged interface list that Packet.Iface indexes. It lists
// the interfaces each input described before its first packet at once, and grows
// when an input describes more later; the slice must not be modified.
func (m *MergeReader) Interfaces() []Interface { return m.ifaces }

// InterfaceOf maps input i's interface index to the merged index.
func (m *MergeReader) InterfaceOf(i, iface int) int {
	if iface >= len(m.in[i].ifmap) {
		m.syncIfaces(i)
	}
	return m.in[i].ifmap[iface]
}

// LastInput is the index in rs of the input the last packet came from (-1 before
// the first packet).
func (m *MergeReader) LastInput() int { return m.lastInput }

// LastNumber is the last packet's number within its own input.
func (m *MergeReader) LastNumber() uint64 { return m.lastNumber }

// LastIface is the last packet's interface index within its own input.
func (m *MergeReader) LastIface() int { return m.lastIface }

// Source returns input i, as passed to Merge.
func (m *MergeReader) Source(i int) *Reader { return m.in[i].r }

// Len returns the number of inputs.
func (m *MergeReader) Len() int { return len(m.in) }

// Close closes every input and returns the first error.
func (m *MergeReader) Close() error {
	var first error
	for _, in := range m.in {
		if err := in.r.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}
