package main

import "github.com/spf13/cobra"

func (c *cli) replayCommand() *cobra.Command {
	rep := &cobra.Command{Use: "replay", Short: "Replays: what a capture's workload did on a target, and how two replays compare", RunE: group}
	rep.AddCommand(c.replayReport(), c.replayCompare())
	return rep
}
