// Package stats summarises captures as capinfos -M does: format,
// encapsulations and interfaces, packet, TCP packet and connection counts, data
// size, first and last times, duration, rates, snaplen, time order, SHA-256.
//
//	sum, err := stats.Summarise("cap.pcapng", os.Stdin) // "-" reads stdin
//	if sum != nil {
//		sum.WriteText(os.Stdout) // or json.Marshal(sum)
//	}
//	// err != nil with a summary: the file broke part way; it covers what was read.
//
// Memory is bounded by the file's interfaces and its TCP connections (one
// 64-bit hash each), never by its packets; the file is hashed on its own
// goroutine while the packets are read.
package stats
