package filter

import (
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"

	"github.com/pcaptk/pcaptk/pkg/reader"
)

// SyntaxError is a filter expression that libpcap refuses.
type SyntaxError struct {
	Expr string // the expression as given
	Msg  string // libpcap's message, e.g. "syntax error"
}

func (e *SyntaxError) Error() string { return fmt.Sprintf("filter %q: %s", e.Expr, e.Msg) }

// LinkTypeError is an expression that is valid but that libpcap cannot compile
// for one link type met in the input (tcpdump refuses such a file as a whole).
type LinkTypeError struct {
	Expr     string
	LinkType uint16 // LINKTYPE_ value of the packets that could not be filtered
	Snaplen  uint32
	Msg      string // libpcap's message
}

func (e *LinkTypeError) Error() string {
	return fmt.Sprintf("filter %q cannot be used on link type %d: %s", e.Expr, e.LinkType, e.Msg)
}

const (
	// linkTypeEthernet is LINKTYPE_ETHERNET, the link type Compile checks on.
	linkTypeEthernet = 1
	// MaxSnaplen is libpcap's MAXIMUM_SNAPLEN: what a snaplen of 0 stands for on
	// most link types.
	MaxSnaplen = 262144
)

// compiled is the filter for one link type: a program, or why there is none.
//
// It is compiled for a file whose snaplen is 0, and serves every snaplen: in
// what libpcap generates, the snapshot length only shows in the value an
// accepting program returns, never in whether it accepts. Keying by link type
// alone also bounds the cache whatever the input (a pcapng file can declare a
// new snaplen in each of thousands of interfaces).
type compiled struct {
	prog    program
	maxSnap uint32 // libpcap's snapshot length for this link type when the snaplen is 0
	err     error
}

// Filter is a compiled tcpdump filter expression. It compiles itself lazily for
// each link type it meets and caches the result. A Filter is not safe for
// concurrent use; compile one per goroutine.
type Filter struct {
	expr  string
	all   bool // empty expression: everything matches
	last  uint16
	lastC *compiled
	cache map[uint16]*compiled
	err   error
}

// Compile checks expr with libpcap and returns a Filter for it. An empty
// expression matches every packet. An expression libpcap refuses is a
// *SyntaxError quoting libpcap's message.
//
// The check compiles for LINKTYPE_ETHERNET with snaplen 262144. Some valid
// expressions only make sense on other link types ("wlan type mgt" on 802.11,
// "inbound" on Linux cooked captures, "vpi 1" on ATM): when Ethernet refuses
// one, Compile tries the link types such words exist for (probeLinkTypes) and
// accepts the expression if any of them takes it; packets of a link type that
// cannot take it then fail to match and Err says why. Only an expression that
// no link type takes is a SyntaxError (with Ethernet's message).
func Compile(expr string) (*Filter, error) {
	f := &Filter{expr: expr, cache: make(map[uint16]*compiled)}
	if strings.TrimSpace(expr) == "" {
		f.all = true
		return f, nil
	}
	if strings.IndexByte(expr, 0) >= 0 { // libpcap would stop reading at it
		return nil, &SyntaxError{Expr: expr, Msg: "expression contains a NUL byte"}
	}
	c := f.compile(linkTypeEthernet)
	if c.err == nil {
		return f, nil
	}
	var le *LinkTypeError
	if !errors.As(c.err, &le) {
		return nil, c.err // libpcap made a program this package cannot run
	}
	for _, lt := range probeLinkTypes {
		if _, _, err := compileLibpcap(lt, MaxSnaplen, expr); err == nil {
			return f, nil
		}
	}
	return nil, &SyntaxError{Expr: expr, Msg: syntaxMsg(le.Msg)}
}

// probeLinkTypes are the LINKTYPE_ values for which libpcap has words of its
// own, tried when Ethernet refuses an expression: Linux cooked v1/v2 (inbound,
// ifindex), raw IP, BSD loopback, PPP, 802.11 and radiotap (wlan), pflog (rulenum,
// action), SunATM (vpi, vci, oam), MTP2 (fisu, sio), ARCNET, FDDI, IP over FC.
var probeLinkTypes = []uint16{113, 276, 101, 0, 9, 105, 127, 117, 123, 140, 129, 10, 122}

// String returns the expression.
func (f *Filter) String() string { return f.expr }

// compile returns the cached program for a link type, compiling it on first use.
func (f *Filter) compile(linkType uint16) *compiled {
	if c, ok := f.cache[linkType]; ok {
		return c
	}
	c := &compiled{}
	ins, snap, err := compileLibpcap(linkType, 0, f.expr)
	if err != nil {
		c.err = &LinkTypeError{Expr: f.expr, LinkType: linkType, Msg: err.Error()}
	} else if c.prog, err = load(ins); err != nil {
		c.err = fmt.Errorf("filter %q on link type %d: %w", f.expr, linkType, err)
	}
	c.maxSnap = snap
	if snap == 0 {
		c.maxSnap = MaxSnaplen
	}
	f.cache[linkType] = c
	return c
}

// snapshot is libpcap's snapshot length for a file with this snaplen (given
// maxSnap, the link type's own maximum): the snaplen itself, unless it is 0 or
// does not fit libpcap's int.
func snapshot(snaplen, maxSnap uint32) uint32 {
	if snaplen == 0 || snaplen > math.MaxInt32 {
		return maxSnap
	}
	return snaplen
}

// Match reports whether p passes the filter.
func (f *Filter) Match(p *reader.Packet) bool {
	return f.MatchData(p.LinkType, p.Snaplen, p.Data, p.WireLen)
}

// MatchData reports whether a packet with these captured bytes and wire length,
// from an interface with this LINKTYPE_ and snaplen, passes the filter. The program
// sees what libpcap shows it for such a file: captured bytes beyond libpcap's
// snapshot length are not visible (libpcap cuts them off when it reads the file).
// If libpcap cannot compile the expression for the link type, MatchData returns
// false and Err reports why.
func (f *Filter) MatchData(linkType uint16, snaplen uint32, data []byte, wireLen uint32) bool {
	if f.all {
		return true
	}
	c := f.lastC
	if c == nil || f.last != linkType {
		c = f.compile(linkType)
		f.last, f.lastC = linkType, c
		if c.err != nil && f.err == nil {
			f.err = c.err
		}
	}
	if c.prog == nil {
		return false
	}
	if snap := snapshot(snaplen, c.maxSnap); uint32(len(data)) > snap {
		data = data[:snap]
	}
	return c.prog.run(data, wireLen) != 0
}

// Err returns the first error met while compiling the expression for a link type
// seen in the input (a *LinkTypeError when libpcap refused the expression for it).
// Packets of that link type did not match. Callers check Err after the last packet
// (or after each) and report it: tcpdump refuses such an input outright.
func (f *Filter) Err() error { return f.err }

var maxSnapCache sync.Map // link type → libpcap's snapshot length for snaplen 0

// Snapshot returns the snapshot length libpcap uses when it reads a file whose
// interface has this LINKTYPE_ and snaplen: snaplen itself, or the link type's
// maximum (262144 for most) when snaplen is 0 or above 2^31-1. libpcap cuts
// captured bytes beyond it when reading, so tcpdump -r F -w OUT writes such
// packets cut.
func Snapshot(linkType uint16, snaplen uint32) uint32 {
	v, ok := maxSnapCache.Load(linkType)
	if !ok {
		_, snap, _ := compileLibpcap(linkType, 0, "") // "" fails on link types libpcap does not know
		if snap == 0 {
			snap = MaxSnaplen
		}
		v, _ = maxSnapCache.LoadOrStore(linkType, snap)
	}
	return snapshot(snaplen, v.(uint32))
}
