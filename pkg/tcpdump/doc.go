// Package tcpdump prints packets as tcpdump 4.99 does, byte for byte: the time
// stamp, the link header (-e), IPv4/IPv6 with their options, TCP with its flags,
// relative sequence numbers and options, UDP/ICMP and the application
// summaries tcpdump gives on one line (DNS, PPTP, OpenFlow, SSH, text
// protocols), and the hex/ASCII dumps (-x, -X, -A). read, capture and export
// --format text use it.
//
//	pr := tcpdump.NewPrinter(os.Stdout, tcpdump.Options{NoPortNames: true})
//	var rec decode.Record
//	for p := range packets {
//		decode.Decode(p.LinkType, p.Data, p.WireLen, &rec)
//		pr.Print(p, &rec) // keeps the first write error
//	}
//	pr.Flush()
//
// A Printer keeps tcpdump's per-connection state for relative sequence numbers,
// so it must see a capture's packets in order; it reuses its buffers and
// allocates nothing per packet. One file per layer or protocol: link.go, ip.go,
// tcp.go, dns.go, pptp.go, app.go, dump.go; services.go reads /etc/services for
// port names.
package tcpdump
