package filter

import (
	"errors"
	"fmt"
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

// Standard values libpcap uses when it compiles for a savefile.
const (
	linkTypeEthernet = 1
	// MaxSnaplen is libpcap's MAXIMUM_SNAPLEN: what a snaplen of 0 stands for.
	MaxSnaplen = 262144
)

type key struct {
	linkType uint16
	snaplen  uint32
}

// compiled is the filter for one (link type, snaplen): a program, or why there is none.
type compiled struct {
	prog program
	snap uint32 // libpcap's snapshot length for such a file: packets are cut to it
	err  error
}

// Filter is a compiled tcpdump filter expression. It compiles itself lazily for
// each link type and snaplen it meets and caches the result. A Filter is not safe
// for concurrent use; compile one per goroutine.
type Filter struct {
	expr  string
	all   bool // empty expression: everything matches
	last  key
	lastC *compiled
	cache map[key]*compiled
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
	f := &Filter{expr: expr, cache: make(map[key]*compiled)}
	if strings.TrimSpace(expr) == "" {
		f.all = true
		return f, nil
	}
	c := f.compile(key{linkTypeEthernet, MaxSnaplen})
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

// compile returns the cached program for k, compiling it on first use.
func (f *Filter) compile(k key) *compiled {
	if c, ok := f.cache[k]; ok {
		return c
	}
	c := &compiled{}
	ins, snap, err := compileLibpcap(k.linkType, k.snaplen, f.expr)
	if err != nil {
		c.err = &LinkTypeError{Expr: f.expr, LinkType: k.linkType, Snaplen: k.snaplen, Msg: err.Error()}
	} else if c.prog, err = load(ins); err != nil {
		c.err = fmt.Errorf("filter %q on link type %d: %w", f.expr, k.linkType, err)
	}
	c.snap = snap
	f.cache[k] = c
	return c
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
	k := key{linkType, snaplen}
	c := f.lastC
	if c == nil || f.last != k {
		c = f.compile(k)
		f.last, f.lastC = k, c
		if c.err != nil && f.err == nil {
			f.err = c.err
		}
	}
	if c.prog == nil {
		return false
	}
	if c.snap != 0 && uint32(len(data)) > c.snap {
		data = data[:c.snap]
	}
	return c.prog.run(data, wireLen) != 0
}

// Err returns the first error met while compiling the expression for a link type
// seen in the input (a *LinkTypeError when libpcap refused the expression for it).
// Packets of that link type did not match. Callers check Err after the last packet
// (or after each) and report it: tcpdump refuses such an input outright.
func (f *Filter) Err() error { return f.err }

var snapCache sync.Map // key → uint32

// Snapshot returns the snapshot length libpcap uses when it reads a file whose
// interface has this LINKTYPE_ and snaplen: snaplen itself, or the link type's
// maximum (262144 for most) when snaplen is 0. libpcap cuts captured
// bytes beyond it when reading, so tcpdump -r F -w OUT writes such packets cut.
func Snapshot(linkType uint16, snaplen uint32) uint32 {
	k := key{linkType, snaplen}
	if v, ok := snapCache.Load(k); ok {
		return v.(uint32)
	}
	_, snap, _ := compileLibpcap(linkType, snaplen, "") // "" fails on link types libpcap does not know
	if snap == 0 {
		snap = snaplen
		if snap == 0 {
			snap = MaxSnaplen
		}
	}
	snapCache.Store(k, snap)
	return snap
}
