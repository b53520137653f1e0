// Package capture is live capture: sources on network interfaces — on Linux an
// AF_PACKET TPACKET_V3 ring read a block at a time (OpenRing), libpcap handles
// elsewhere and where the ring cannot do the capture (OpenLive, Devices);
// OpenSource chooses — the bounded queue that lets one goroutine per interface
// read while the consumer writes (StartQueue), and Run, which is all of
// `pcaptk capture`: the output (printer, one file or standard output, or a
// rotating series with -C/-G/-W and -z post-rotate commands), dropping root for
// -Z, tcpdump's "listening on" lines and counts.
//
//	err := capture.Run(capture.Options{
//		Interfaces: []string{"eth0"}, Filter: "tcp port 443",
//		Write: "cap.pcapng", FileBytes: 100e6, Ring: 10,
//	}, capture.Env{Out: os.Stdout, ErrOut: os.Stderr, Stop: stop, Abort: abort})
//
// Run stops when Env.Stop is closed, after Options.Count packets or
// Options.Duration; the packets captured before the stop are still written and
// every file is completed (pcapng files end with interface statistics). After a
// write error no further file is opened and the ring removes nothing more; the
// file it cut is truncated to its last whole packet. Files are created afresh
// (internal/outfile): a symbolic link or another user's file planted at a name
// is replaced, never followed or written into.
//
// tcpdump's live options map to Options and LiveOptions: LinkType (-y; "any"
// is opened as Linux cooked v2 when it is empty, as tcpdump 4.99 does),
// Direction (-Q), Monitor (-I), TimestampType (-j), Print (--print),
// PacketBuffered (-U); ListLinkTypes, ListTimestampTypes and Live.Program are
// -L, -J and -d.
package capture
