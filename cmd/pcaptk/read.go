package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder until the read command lands.
func newCmdRead(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "read",
		Short: "read (not yet implemented)",
		RunE:  func(c *cobra.Command, args []string) error { return errors.New("read: not yet implemented") },
	}
}
