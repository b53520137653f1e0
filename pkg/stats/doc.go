// Package stats summarises captures as capinfos -M does: format,
// encapsulations and interfaces, packet, TCP packet and connection counts (and
// the connections by Zeek's conn_state), data size, first and last times,
// duration, rates, snaplen, time order, SHA-256.
//
//	sum, err := stats.Summarise("cap.pcapng", os.Stdin) // "-" reads stdin
//	if sum != nil {
//		sum.WriteText(os.Stdout) // or json.Marshal(sum)
//	}
//	// err != nil with a summary: the file broke part way; it covers what was read.
//
// Memory is bounded by the file's interfaces and the TCP connections open at
// once (analysis.ConnTableOptions: at most 65,536 tracked, about 1.1 KB each),
// never by its packets; the file is hashed on its own goroutine while the
// packets are read.
package stats
