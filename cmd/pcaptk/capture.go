package main

import (
	"errors"

	"github.com/spf13/cobra"
)

// Placeholder until the capture command lands.
func newCmdCapture(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "capture",
		Short: "capture (not yet implemented)",
		RunE:  func(c *cobra.Command, args []string) error { return errors.New("capture: not yet implemented") },
	}
}
