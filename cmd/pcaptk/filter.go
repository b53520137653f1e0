package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder until the filter command lands.
func newCmdFilter(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "filter",
		Short: "filter (not yet implemented)",
		RunE:  func(c *cobra.Command, args []string) error { return errors.New("filter: not yet implemented") },
	}
}
