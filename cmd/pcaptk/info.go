package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder until the info command lands.
func newCmdInfo(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "info",
		Short: "info (not yet implemented)",
		RunE:  func(c *cobra.Command, args []string) error { return errors.New("info: not yet implemented") },
	}
}
