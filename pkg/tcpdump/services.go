package tcpdump

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"sync"
)

// Services names TCP and UDP ports as /etc/services does, for tcpdump's output
// without -nn.
type Services struct {
	tcp, udp map[uint16]string
}

var (
	servicesOnce sync.Once
	services     *Services
)

// LoadServices reads /etc/services once per process; a missing file gives no
// names, so ports print as numbers.
func LoadServices() *Services {
	servicesOnce.Do(func() {
		services = &Services{tcp: map[uint16]string{}, udp: map[uint16]string{}}
		f, err := os.Open("/etc/services")
		if err != nil {
			return
		}
		defer f.Close()
		services.parse(bufio.NewScanner(f))
	})
	return services
}

func (s *Services) parse(sc *bufio.Scanner) {
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = line[:i]
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		pp := strings.SplitN(f[1], "/", 2)
		if len(pp) != 2 {
			continue
		}
		n, err := strconv.ParseUint(pp[0], 10, 16)
		if err != nil {
			continue
		}
		m := s.tcp
		switch pp[1] {
		case "tcp":
		case "udp":
			m = s.udp
		default:
			continue
		}
		if _, ok := m[uint16(n)]; !ok {
			m[uint16(n)] = f[0]
		}
	}
}

// Name returns the service name of port for protocol proto (6 or 17), or "".
func (s *Services) Name(port uint16, proto uint8) string {
	if s == nil {
		return ""
	}
	if proto == 17 {
		return s.udp[port]
	}
	return s.tcp[port]
}
