package stats

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/pcaptk/pcaptk/pkg/analysis"
	"github.com/pcaptk/pcaptk/pkg/decode"
	"github.com/pcaptk/pcaptk/pkg/reader"
)

// Summary is what info says of one capture, capinfos -M style; its JSON form is
// the --json output.
type Summary struct {
	File           string `json:"file"`
	Format         string `json:"format"` // pcap, nsecpcap, pcapng
	Encapsulation  string `json:"encapsulation"`
	Precision      int    `json:"timestamp_precision"` // decimal digits, -1 mixed
	Packets        uint64 `json:"packets"`
	TCPPackets     uint64 `json:"tcp_packets"`
	TCPConnections uint64 `json:"tcp_connections"`
	// TCPConnStates counts the connections by Zeek's conn_state, as pcaptk
	// conns classifies them (only the states present).
	TCPConnStates map[string]uint64 `json:"tcp_conn_states"`
	FileSize      int64             `json:"file_size"`
	DataSize      uint64            `json:"data_size"`
	CapturedSize  uint64            `json:"captured_size"`
	FirstNs       int64             `json:"first_time_ns"`
	LastNs        int64             `json:"last_time_ns"`
	FirstTime     string            `json:"first_time,omitempty"`
	LastTime      string            `json:"last_time,omitempty"`
	Duration      float64           `json:"duration_s"`
	DataByteRate  *float64          `json:"data_byte_rate"`
	DataBitRate   *float64          `json:"data_bit_rate"`
	AvgPacketSize *float64          `json:"avg_packet_size"`
	AvgPacketRate *float64          `json:"avg_packet_rate"`
	Snaplen       uint32            `json:"snaplen"`              // file header; 0: not set
	InferredMin   uint32            `json:"inferred_snaplen_min"` // smallest captured length of a cut packet
	InferredMax   uint32            `json:"inferred_snaplen_max"` // largest
	TimeOrdered   bool              `json:"time_ordered"`
	SHA256        string            `json:"sha256"`
	OS            string            `json:"os,omitempty"`
	Interfaces    []Interface       `json:"interfaces"`
	Error         string            `json:"error,omitempty"`
}

type Interface struct {
	Name          string `json:"name,omitempty"`
	Description   string `json:"description,omitempty"`
	LinkType      uint16 `json:"link_type"`
	Encapsulation string `json:"encapsulation"`
	Snaplen       uint32 `json:"snaplen"`
	TSResol       uint64 `json:"ticks_per_second"`
	Filter        string `json:"filter,omitempty"`
	OS            string `json:"os,omitempty"`
	Packets       uint64 `json:"packets"`
}

// hashFile hashes a regular file on its own goroutine while the packets are read.
func hashFile(path string) <-chan string {
	ch := make(chan string, 1)
	go func() {
		f, err := os.Open(path)
		if err != nil {
			ch <- ""
			return
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.CopyBuffer(h, f, make([]byte, 1<<20)); err != nil {
			ch <- ""
			return
		}
		ch <- hex.EncodeToString(h.Sum(nil))
	}()
	return ch
}

// Summarise reads one capture (path "-": stdin). With a nil *Summary the file
// could not be opened as a capture; with both set, the file broke part way and
// the Summary covers what was read.
func Summarise(path string, stdin io.Reader) (*Summary, error) {
	var r *reader.Reader
	var err error
	var h hash.Hash
	var sum <-chan string
	var size int64 = -1
	if path == "-" {
		h = sha256.New()
		r, err = reader.NewReader(io.TeeReader(stdin, h), "-")
	} else {
		if st, e := os.Stat(path); e == nil && st.Mode().IsRegular() {
			size = st.Size()
		}
		r, err = reader.Open(path)
		if err == nil && size >= 0 {
			sum = hashFile(path)
		}
	}
	if err != nil {
		return nil, err
	}
	defer r.Close()

	fi := &Summary{File: path, FileSize: size, TimeOrdered: true, TCPConnStates: map[string]uint64{}}
	st := newInfoState(fi)
	ifcPackets := make([]uint64, 0, 4)
	prev := int64(-1 << 63)
	for {
		p, err2 := r.Next()
		if err2 != nil {
			if err2 != io.EOF {
				err = err2
			}
			break
		}
		fi.Packets++
		fi.DataSize += uint64(p.WireLen)
		fi.CapturedSize += uint64(len(p.Data))
		if fi.Packets == 1 || p.Timestamp < fi.FirstNs {
			fi.FirstNs = p.Timestamp
		}
		if fi.Packets == 1 || p.Timestamp > fi.LastNs {
			fi.LastNs = p.Timestamp
		}
		if p.Timestamp < prev {
			fi.TimeOrdered = false
		}
		prev = p.Timestamp
		if uint32(len(p.Data)) < p.WireLen {
			c := uint32(len(p.Data))
			if fi.InferredMax == 0 || c < fi.InferredMin {
				fi.InferredMin = c
			}
			fi.InferredMax = max(fi.InferredMax, c)
		}
		for p.Iface >= len(ifcPackets) {
			ifcPackets = append(ifcPackets, 0)
		}
		ifcPackets[p.Iface]++
		st.tcp(p, fi)
	}
	if h != nil {
		if path == "-" { // hash what the reader did not need to consume
			io.Copy(h, stdin)
		}
		fi.SHA256 = hex.EncodeToString(h.Sum(nil))
	} else if sum != nil {
		fi.SHA256 = <-sum
	}
	st.tracker.Close()
	fi.TCPConnections = st.tracker.Stats().Streams
	fi.fill(r, ifcPackets)
	return fi, err
}

// infoState counts TCP packets, and connections by state: each TCP packet goes
// through the connection tracking and the per-connection accounting of pcaptk
// conns (without the packet analyzer, which the states do not need), so the
// connections are conns' rows (tshark's tcp.stream numbering), and memory is
// bounded by the connections open at once (analysis.ConnTableOptions).
type infoState struct {
	rec     decode.Record
	conn    decode.Conn
	tracker *decode.ConnTracker
	conns   *analysis.Conns
}

func newInfoState(fi *Summary) *infoState {
	st := &infoState{tracker: decode.NewConnTracker(analysis.ConnTableOptions)}
	st.conns = analysis.NewConns(func(r *analysis.ConnRow) { fi.TCPConnStates[r.ConnState.String()]++ })
	st.tracker.OnForget(st.conns.Forget)
	return st
}

func (st *infoState) tcp(p *reader.Packet, fi *Summary) {
	decode.Decode(p.LinkType, p.Data, p.WireLen, &st.rec)
	if !st.rec.HasTCP {
		return
	}
	fi.TCPPackets++
	if st.tracker.TrackTo(&st.rec, p.Timestamp, &st.conn) {
		st.conns.Packet(&st.rec, &st.conn, p.Timestamp, p.WireLen)
	}
}

// connStatesText lists the states present, most frequent first.
func (fi *Summary) connStatesText() string {
	if len(fi.TCPConnStates) == 0 {
		return "none"
	}
	names := make([]string, 0, len(fi.TCPConnStates))
	for n := range fi.TCPConnStates {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := fi.TCPConnStates[names[i]], fi.TCPConnStates[names[j]]
		return a > b || (a == b && names[i] < names[j])
	})
	var b strings.Builder
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %d", n, fi.TCPConnStates[n])
	}
	return b.String()
}

// fill derives the summary fields once all packets are counted.
func (fi *Summary) fill(r *reader.Reader, ifcPackets []uint64) {
	ifaces := r.Interfaces()
	fi.Format = r.Format().String()
	if r.Format() == reader.FormatPcap {
		if r.Nanosecond() {
			fi.Format = "nsecpcap"
		}
		if len(ifaces) > 0 {
			fi.Snaplen = ifaces[0].Snaplen
		}
	}
	fi.Precision = -2
	encs := map[uint16]bool{}
	for i, ifc := range ifaces {
		ii := Interface{Name: ifc.Name, Description: ifc.Description, LinkType: ifc.LinkType,
			Encapsulation: linkName(ifc.LinkType).short, Snaplen: ifc.Snaplen, TSResol: ifc.TSResol,
			Filter: ifc.Filter, OS: ifc.OS}
		if i < len(ifcPackets) {
			ii.Packets = ifcPackets[i]
		}
		fi.Interfaces = append(fi.Interfaces, ii)
		encs[ifc.LinkType] = true
		switch p := precision(ifc.TSResol); {
		case fi.Precision == -2:
			fi.Precision = p
		case fi.Precision != p:
			fi.Precision = -1
		}
		if fi.OS == "" {
			fi.OS = ifc.OS
		}
	}
	if fi.Precision == -2 {
		fi.Precision = 6
	}
	switch {
	case len(encs) == 1:
		fi.Encapsulation = linkName(ifaces[0].LinkType).short
	case len(encs) > 1:
		fi.Encapsulation = "per-packet"
	default:
		fi.Encapsulation = "unknown"
	}
	if fi.Packets > 0 {
		fi.FirstTime = formatTime(fi.FirstNs, fi.Precision)
		fi.LastTime = formatTime(fi.LastNs, fi.Precision)
		v := float64(fi.DataSize) / float64(fi.Packets)
		fi.AvgPacketSize = &v
	}
	ds, dns := durationParts(fi.FirstNs, fi.LastNs)
	fi.Duration = float64(ds) + float64(dns)/1e9
	// Rates divide by the difference of the two times as float64 seconds since the
	// epoch, as capinfos does, so that they agree to the last printed digit.
	if secs := epochSeconds(fi.LastNs) - epochSeconds(fi.FirstNs); fi.Packets > 1 && secs > 0 {
		br := float64(fi.DataSize) / secs
		bits := float64(fi.DataSize*8) / secs
		pr := float64(fi.Packets) / secs
		fi.DataByteRate, fi.DataBitRate, fi.AvgPacketRate = &br, &bits, &pr
	}
}

func epochSeconds(ns int64) float64 {
	sec, frac := splitSeconds(ns)
	return float64(sec) + float64(frac)/1e9
}

// splitSeconds returns floor(ns / 1e9) and the nanoseconds left, in [0, 1e9).
func splitSeconds(ns int64) (sec, frac int64) {
	sec, frac = ns/1e9, ns%1e9
	if frac < 0 {
		sec, frac = sec-1, frac+1e9
	}
	return sec, frac
}

// durationParts returns last - first as seconds and nanoseconds (in [0, 1e9)
// when last >= first): the difference of two times as int64 nanoseconds
// overflows beyond 292 years, which crafted files reach (capinfos gives
// 18446744073.709551615 s from 1677 to 2262).
func durationParts(first, last int64) (sec, ns int64) {
	fs, ff := splitSeconds(first)
	ls, lf := splitSeconds(last)
	sec, ns = ls-fs, lf-ff
	if ns < 0 {
		sec, ns = sec-1, ns+1e9
	}
	return sec, ns
}

// precision is the number of decimal digits of a tick rate (6 for µs); binary or odd
// rates count as the digits needed for their tick.
func precision(ticks uint64) int {
	if ticks == 0 {
		return 6
	}
	p, n := 0, uint64(1)
	for n < ticks && p < 9 {
		n *= 10
		p++
	}
	return p
}

func formatTime(ns int64, prec int) string {
	if prec < 0 || prec > 9 {
		prec = 9
	}
	t := time.Unix(0, ns).UTC()
	s := t.Format("2006-01-02 15:04:05")
	if prec > 0 {
		s += fmt.Sprintf(".%09d", t.Nanosecond())[:prec+1]
	}
	return s
}

func precisionName(p int) string {
	switch p {
	case -1:
		return "per-packet (-1)"
	case 0:
		return "seconds (0)"
	case 3:
		return "milliseconds (3)"
	case 6:
		return "microseconds (6)"
	case 9:
		return "nanoseconds (9)"
	}
	return fmt.Sprintf("10^-%d seconds (%d)", p, p)
}

// durationString prints the time from first to last (first <= last) with prec
// decimals, cut as capinfos cuts them.
func durationString(first, last int64, prec int) string {
	if prec < 0 || prec > 9 {
		prec = 9
	}
	sec, ns := durationParts(first, last)
	s := fmt.Sprintf("%d", sec)
	if prec > 0 {
		s += fmt.Sprintf(".%09d", ns)[:prec+1]
	}
	return s
}

// rate formats a value and its unit, or n/a.
func rate(v *float64, unit string) string {
	if v == nil {
		return "n/a"
	}
	return fmt.Sprintf("%.2f %s", *v, unit)
}

// WriteText prints fi in capinfos -M's layout (same labels, same number formats),
// plus pcaptk's TCP lines.
func (fi *Summary) WriteText(w io.Writer) error {
	var b strings.Builder
	line := func(label, format string, args ...any) {
		fmt.Fprintf(&b, "%-21s%s\n", label+":", fmt.Sprintf(format, args...))
	}
	line("File name", "%s", fi.File)
	line("File type", "%s", fi.Format)
	line("File encapsulation", "%s", fi.Encapsulation)
	if fi.Encapsulation == "per-packet" {
		b.WriteString("Encapsulation in use by packets (# of pkts):\n")
		perLink := map[uint16]uint64{}
		var order []uint16
		for _, ii := range fi.Interfaces {
			if _, ok := perLink[ii.LinkType]; !ok {
				order = append(order, ii.LinkType)
			}
			perLink[ii.LinkType] += ii.Packets
		}
		for _, lt := range order {
			if perLink[lt] > 0 {
				fmt.Fprintf(&b, "%21s%s (%d)\n", "", linkName(lt).long, perLink[lt])
			}
		}
	}
	fmt.Fprintf(&b, "File timestamp precision:  %s\n", precisionName(fi.Precision))
	if fi.Snaplen > 0 {
		line("Packet size limit", "file hdr: %d bytes", fi.Snaplen)
	} else {
		line("Packet size limit", "file hdr: (not set)")
	}
	if fi.InferredMax > 0 {
		if fi.InferredMin == fi.InferredMax {
			line("Packet size limit", "inferred: %d bytes", fi.InferredMin)
		} else {
			line("Packet size limit", "inferred: %d bytes - %d bytes (range)", fi.InferredMin, fi.InferredMax)
		}
	}
	line("Number of packets", "%d", fi.Packets)
	line("TCP packets", "%d", fi.TCPPackets)
	line("TCP connections", "%d", fi.TCPConnections)
	line("TCP conn states", "%s", fi.connStatesText())
	if fi.FileSize >= 0 {
		line("File size", "%d bytes", fi.FileSize)
	}
	line("Data size", "%d bytes", fi.DataSize)
	if fi.Packets > 0 {
		unit := "seconds"
		if sec, ns := durationParts(fi.FirstNs, fi.LastNs); sec == 1 && ns == 0 {
			unit = "second" // as capinfos words exactly one second
		}
		line("Capture duration", "%s %s", durationString(fi.FirstNs, fi.LastNs, fi.Precision), unit)
		line("First packet time", "%s", fi.FirstTime)
		line("Last packet time", "%s", fi.LastTime)
	} else {
		line("Capture duration", "n/a")
		line("First packet time", "n/a")
		line("Last packet time", "n/a")
	}
	line("Data byte rate", "%s", rate(fi.DataByteRate, "bytes/sec"))
	line("Data bit rate", "%s", rate(fi.DataBitRate, "bits/sec"))
	line("Average packet size", "%s", rate(fi.AvgPacketSize, "bytes"))
	line("Average packet rate", "%s", rate(fi.AvgPacketRate, "packets/sec"))
	line("SHA256", "%s", fi.SHA256)
	line("Strict time order", "%s", map[bool]string{true: "True", false: "False"}[fi.TimeOrdered])
	if fi.OS != "" {
		line("Capture oper-sys", "%s", fi.OS)
	}
	fmt.Fprintf(&b, "Number of interfaces in file: %d\n", len(fi.Interfaces))
	for i, ii := range fi.Interfaces {
		fmt.Fprintf(&b, "Interface #%d info:\n", i)
		attr := func(k, format string, args ...any) {
			fmt.Fprintf(&b, "%21s%s = %s\n", "", k, fmt.Sprintf(format, args...))
		}
		if ii.Name != "" {
			attr("Name", "%s", ii.Name)
		}
		if ii.Description != "" {
			attr("Description", "%s", ii.Description)
		}
		ln := linkName(ii.LinkType)
		attr("Encapsulation", "%s (%d - %s)", ln.long, ii.LinkType, ln.short)
		attr("Capture length", "%d", ii.Snaplen)
		attr("Time precision", "%s", precisionName(precision(ii.TSResol)))
		attr("Time ticks per second", "%d", max(ii.TSResol, 1))
		if ii.Filter != "" {
			attr("Filter string", "%s", ii.Filter)
		}
		if ii.OS != "" {
			attr("Operating system", "%s", ii.OS)
		}
		attr("Number of packets", "%d", ii.Packets)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

type linkNames struct{ short, long string }

// linkName gives Wireshark's names for a LINKTYPE_ value (capinfos prints these).
func linkName(lt uint16) linkNames {
	switch lt {
	case 0:
		return linkNames{"null", "NULL/Loopback"}
	case 1:
		return linkNames{"ether", "Ethernet"}
	case 6:
		return linkNames{"tr", "Token Ring"}
	case 9:
		return linkNames{"ppp", "PPP"}
	case 12, 14, 101:
		return linkNames{"rawip", "Raw IP"}
	case 104:
		return linkNames{"chdlc", "Cisco HDLC"}
	case 105:
		return linkNames{"ieee-802-11", "IEEE 802.11 Wireless LAN"}
	case 108:
		return linkNames{"loop", "OpenBSD loopback"}
	case 113:
		return linkNames{"linux-sll", "Linux cooked-mode capture v1"}
	case 127:
		return linkNames{"ieee-802-11-radiotap", "IEEE 802.11 plus radiotap radio header"}
	case 129:
		return linkNames{"arcnet_linux", "Linux ARCNET"}
	case 228:
		return linkNames{"rawip4", "Raw IPv4"}
	case 229:
		return linkNames{"rawip6", "Raw IPv6"}
	case 276:
		return linkNames{"linux-sll2", "Linux cooked-mode capture v2"}
	}
	return linkNames{fmt.Sprintf("linktype-%d", lt), fmt.Sprintf("LINKTYPE %d", lt)}
}
