// Package deps pins the project's dependencies in go.mod while the packages that use
// them are being written; delete it once every one is imported for real.
package deps

import (
	_ "github.com/apache/arrow-go/v18/parquet/pqarrow"
	_ "github.com/gopacket/gopacket/pcap"
	_ "github.com/spf13/cobra"
)
