package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder until the export command lands.
func newCmdExport(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "export",
		Short: "export (not yet implemented)",
		RunE:  func(c *cobra.Command, args []string) error { return errors.New("export: not yet implemented") },
	}
}
