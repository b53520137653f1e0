package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder until the merge command lands.
func newCmdMerge(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "merge",
		Short: "merge (not yet implemented)",
		RunE:  func(c *cobra.Command, args []string) error { return errors.New("merge: not yet implemented") },
	}
}
