package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder until the split command lands.
func newCmdSplit(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "split",
		Short: "split (not yet implemented)",
		RunE:  func(c *cobra.Command, args []string) error { return errors.New("split: not yet implemented") },
	}
}
