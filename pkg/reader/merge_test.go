package reader

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path/filepath"
	"testing"
)

func needTool(t *testing.T, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			t.Skipf("%s not installed (Debian package wireshark-common): %v", n, err)
		}
	}
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %q: %v\n%s", name, args, err, out)
	}
}

func readFile(t *testing.T, path string) []Packet {
	t.Helper()
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	ps, err := readAll(t, r)
	if err != nil {
		t.Fatal(err)
	}
	return ps
}

// shifted writes a copy of src whose first packet is at start (ns), using editcap.
func shifted(t *testing.T, src string, start int64) string {
	t.Helper()
	ps := readFile(t, src)
	d := (start - ps[0].Timestamp) / 1000 // whole µs: editcap's -t is exact there
	sign := ""
	if d < 0 {
		sign, d = "-", -d
	}
	out := filepath.Join(t.TempDir(), "shifted-"+filepath.Base(src))
	run(t, "editcap", "-t", fmt.Sprintf("%s%d.%06d", sign, d/1e6, d%1e6), src, out)
	return out
}

// TestMergeAgainstMergecap merges corpus captures (some time-shifted with editcap
// so that they interleave, one merged with itself so that every timestamp ties)
// and compares the packet sequence with mergecap's output read back, in both
// chronological and append (-a) mode.
func TestMergeAgainstMergecap(t *testing.T) {
	needTool(t, "mergecap", "editcap")
	dir := filepath.Join(corpusDir(t), "pcap")
	http := filepath.Join(dir, "pcpp-http-packets2.pcap")
	reasm := filepath.Join(dir, "pcpp-tcp-reassembly.pcap")
	multi := filepath.Join(dir, "pcpp-many_interfaces-1.pcapng")
	ipv6 := filepath.Join(dir, "pcpp-four_ipv6_http_streams.pcap")
	nanoBE := filepath.Join(dir, "pcpp-nanosecs_big_endian.pcap")
	httpStart := readFile(t, http)[0].Timestamp
	multiStart := readFile(t, multi)[0].Timestamp

	for _, tc := range []struct {
		name   string
		inputs []string
	}{
		{"self-ties", []string{http, http}},
		{"interleaved", []string{http, shifted(t, reasm, httpStart+1e6)}},
		{"three-link-types", []string{multi, shifted(t, ipv6, multiStart+500e3), shifted(t, nanoBE, multiStart+3)}},
	} {
		for _, concat := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/concat=%v", tc.name, concat), func(t *testing.T) {
				ref := filepath.Join(t.TempDir(), "ref.pcapng")
				args := []string{"-w", ref}
				if concat {
					args = append(args, "-a")
				}
				run(t, "mergecap", append(args, tc.inputs...)...)
				want := readFile(t, ref)

				var rs []*Reader
				var each [][]Packet
				for _, in := range tc.inputs {
					r, err := Open(in)
					if err != nil {
						t.Fatal(err)
					}
					rs = append(rs, r)
					each = append(each, readFile(t, in))
				}
				m := Merge(rs, concat)
				defer m.Close()
				var got []Packet
				switches, prevInput, prevTS := 0, -1, int64(0)
				for {
					p, err := m.Next()
					if err == io.EOF {
						break
					}
					if err != nil {
						t.Fatal(err)
					}
					// The packet is the LastNumber-th packet of input LastInput.
					src := each[m.LastInput()][m.LastNumber()-1]
					if src.Timestamp != p.Timestamp || !bytes.Equal(src.Data, p.Data) {
						t.Fatalf("merged packet %d claims to be packet %d of input %d but differs", p.Number, m.LastNumber(), m.LastInput())
					}
					ifc := m.Interfaces()[p.Iface]
					if ifc.LinkType != p.LinkType || ifc != rs[m.LastInput()].Interfaces()[src.Iface] {
						t.Fatalf("merged packet %d: interface %d %+v does not match its input's", p.Number, p.Iface, ifc)
					}
					if p.Number != uint64(len(got)+1) {
						t.Fatalf("packet number %d at position %d", p.Number, len(got)+1)
					}
					if prevInput >= 0 && m.LastInput() != prevInput {
						switches++
						if !concat && p.Timestamp == prevTS && m.LastInput() < prevInput {
							t.Fatalf("packet %d: tie at %d: input %d came before input %d", p.Number, p.Timestamp, prevInput, m.LastInput())
						}
					}
					prevInput, prevTS = m.LastInput(), p.Timestamp
					got = append(got, p.Clone())
				}
				if !concat && switches < 4 {
					t.Errorf("inputs alternate only %d times: the test inputs do not interleave", switches)
				}
				if len(got) != len(want) {
					t.Fatalf("merged %d packets, mergecap %d", len(got), len(want))
				}
				for i := range want {
					g, w := got[i], want[i]
					if g.Timestamp != w.Timestamp || g.WireLen != w.WireLen || g.LinkType != w.LinkType || !bytes.Equal(g.Data, w.Data) {
						t.Fatalf("packet %d: ts %d len %d lt %d, mergecap has ts %d len %d lt %d (data equal: %v)",
							i+1, g.Timestamp, g.WireLen, g.LinkType, w.Timestamp, w.WireLen, w.LinkType, bytes.Equal(g.Data, w.Data))
					}
				}
			})
		}
	}
}

func TestMergeErrors(t *testing.T) {
	good := newPcap(le, false, 65535, 1).add(1, 0, payload(10, 0), 10).add(3, 0, payload(10, 1), 10).b
	cut := newPcap(le, false, 65535, 1).add(2, 0, payload(10, 2), 10).add(4, 0, payload(10, 3), 10).b
	cut = cut[:len(cut)-3]
	for _, concat := range []bool{false, true} {
		r1, _ := NewReader(bytes.NewReader(good), "good.pcap")
		r2, _ := NewReader(bytes.NewReader(cut), "cut.pcap")
		m := Merge([]*Reader{r1, r2}, concat)
		var order []string
		var errs []error
		for {
			p, err := m.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				errs = append(errs, err)
				continue
			}
			order = append(order, fmt.Sprintf("%d:%d", m.LastInput(), p.Timestamp/1e9))
		}
		want := "[0:1 1:2 0:3]"
		if concat {
			want = "[0:1 0:3 1:2]"
		}
		if fmt.Sprint(order) != want {
			t.Errorf("concat=%v: order %v, want %s", concat, order, want)
		}
		var pe *PacketError
		if len(errs) != 1 || !errors.Is(errs[0], ErrTruncated) || !errors.As(errs[0], &pe) || pe.File != "cut.pcap" || pe.Packet != 2 {
			t.Errorf("concat=%v: errors %v, want one ErrTruncated naming cut.pcap packet 2", concat, errs)
		}
	}
	m := Merge(nil, false)
	if _, err := m.Next(); err != io.EOF {
		t.Errorf("empty merge: %v", err)
	}
}

func TestMergeZeroAllocs(t *testing.T) {
	var rs []*Reader
	for i := 0; i < 3; i++ {
		b := newPcap(le, false, 65535, 1)
		for j := 0; j < 2000; j++ {
			b.add(uint32(j), uint32(i*100), payload(100, byte(j)), 100)
		}
		r, err := NewReaderWith(bytes.NewReader(b.b), fmt.Sprint(i), Options{BufferSize: 64 << 10})
		if err != nil {
			t.Fatal(err)
		}
		rs = append(rs, r)
	}
	m := Merge(rs, false)
	m.Next()
	allocs := testing.AllocsPerRun(3000, func() {
		if _, err := m.Next(); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per merged packet, want 0", allocs)
	}
}
