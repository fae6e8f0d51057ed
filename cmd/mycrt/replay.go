package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/client"
)

func (c *cli) replayCommand() *cobra.Command {
	rep := &cobra.Command{Use: "replay", Short: "Replays: run a done capture's workload again on a target environment, see what it did, compare two", RunE: group}
	rep.AddCommand(c.replayList(), c.replayGet(), c.replayCreate(), c.replayWait(), c.replayStop(), c.replayRename(), c.replayDelete(),
		c.replayReport(), c.replayCompare())
	return rep
}

func (c *cli) replayList() *cobra.Command {
	var target, name string
	var captureID int
	cmd := &cobra.Command{Use: "list", Short: "List the replays you may read, newest first", Args: cobra.NoArgs, RunE: func(cmd *cobra.Command, _ []string) error {
		p := &client.ListReplaysParams{Name: opt(name)}
		if captureID < 0 {
			return usagef("--capture %d: want a capture id", captureID)
		} else if captureID > 0 {
			p.CaptureId = &captureID
		}
		if id, err := c.envID(cmd.Context(), target); err != nil {
			return err
		} else if id != 0 {
			p.EnvId = &id
		}
		r, err := c.api.ListReplaysWithResponse(cmd.Context(), p)
		if done, err := c.answer(err, r); done {
			return err
		}
		return table(c, *r.JSON200, "No replays: mycrt replay create --capture ID --target ENV --name NAME",
			"ID\tCAPTURE\tTARGET\tNAME\tSTATUS\tSTART\tEND\tPROGRESS", func(rp client.Replay) string {
				return fmt.Sprintf("%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s", rp.Id, rp.CaptureId, rp.EnvId, rp.Name, rp.Status,
					c.when(deref(rp.Start)), c.when(deref(rp.End)), progressOf(rp))
			})
	}}
	cmd.Flags().IntVar(&captureID, "capture", 0, "only this capture's replays")
	cmd.Flags().StringVar(&target, "target", "", "only replays into this environment (its id or name)")
	cmd.Flags().StringVar(&name, "name", "", "only replays with this name")
	return cmd
}

// progressOf is a replay's progress as lists show it: statements done of the total, errors.
func progressOf(rp client.Replay) string {
	p := rp.Progress
	if p.Of == 0 {
		return "-"
	}
	return fmt.Sprintf("%d/%d (%s)", p.Statements, p.Of, plural(p.Errors, "error"))
}

func (c *cli) printReplay(rp *client.Replay) {
	fmt.Fprintf(c.stdout, "Replay %d  %s  (capture %d into environment %d)\nStatus     %s\n", rp.Id, rp.Name, rp.CaptureId, rp.EnvId, rp.Status)
	if rp.Reason != nil {
		fmt.Fprintf(c.stdout, "Reason     %s\n", *rp.Reason)
	}
	if rp.ScheduledStart != nil {
		fmt.Fprintf(c.stdout, "Scheduled  %s\n", c.when(*rp.ScheduledStart))
	}
	if rp.Start != nil {
		fmt.Fprintf(c.stdout, "Replayed   %s → %s\n", c.when(*rp.Start), c.when(deref(rp.End)))
	}
	fmt.Fprintf(c.stdout, "Speed      %g, mode %s\n", rp.Speed, rp.Mode)
	if rp.Plan != nil {
		fmt.Fprintf(c.stdout, "Plan       %s in %s, %d of the capture's %d statements\n",
			plural(rp.Plan.Sessions, "session"), plural(rp.Plan.Shards, "shard"), rp.Plan.Statements, rp.Plan.Captured)
	}
	fmt.Fprintf(c.stdout, "Progress   %s\n", progressOf(*rp))
}

func (c *cli) replayGet() *cobra.Command {
	return &cobra.Command{Use: "get ID", Short: "Show a replay", RunE: func(cmd *cobra.Command, args []string) error {
		id, err := idArg(args, "replay")
		if err != nil {
			return err
		}
		r, err := c.api.GetReplayWithResponse(cmd.Context(), id)
		if done, err := c.answer(err, r); done {
			return err
		}
		c.printReplay(r.JSON200)
		return nil
	}}
}

func (c *cli) replayCreate() *cobra.Command {
	var in client.CreateReplay
	var at, target, mode string
	var speed float64
	var maxConnections int
	var filters func() *client.Filters // set once the flags are declared
	cmd := &cobra.Command{Use: "create", Short: "Replay a done capture into a target environment now, or at --at", Args: cobra.NoArgs, RunE: func(cmd *cobra.Command, _ []string) error {
		var err error
		if in.EnvId, err = c.envID(cmd.Context(), target); err != nil {
			return err
		}
		if in.EnvId == 0 {
			return usagef("--target is required: the environment to replay into (its id or name)")
		}
		if at != "" {
			t, err := parseAt(at, c.zone())
			if err != nil {
				return err
			}
			s := t.UTC().Format(time.RFC3339)
			in.ScheduledStart = &s
		}
		if cmd.Flags().Changed("speed") {
			v := float32(speed)
			in.Speed = &v
		}
		if mode != "" {
			m := client.CreateReplayMode(mode)
			in.Mode = &m
		}
		if maxConnections != 0 {
			in.MaxConnections = &maxConnections
		}
		in.Filters = filters()
		r, err := c.api.CreateReplayWithResponse(cmd.Context(), in)
		if done, err := c.answer(err, r); done {
			return err
		}
		rp := r.JSON200
		if rp.Status == client.StatusSCHEDULED {
			fmt.Fprintf(c.stdout, "Created replay %d (%s): scheduled to start at %s\n", rp.Id, rp.Name, c.when(deref(rp.ScheduledStart)))
		} else {
			fmt.Fprintf(c.stdout, "Created replay %d (%s): starting now (mycrt replay wait %d)\n", rp.Id, rp.Name, rp.Id)
		}
		return nil
	}}
	f := cmd.Flags()
	f.IntVar(&in.CaptureId, "capture", 0, "the done capture to replay")
	f.StringVar(&target, "target", "", "the environment to replay into, which you administer: its id or name")
	f.StringVar(&in.Name, "name", "", "the replay's name")
	f.StringVar(&at, "at", "", "when to start: RFC 3339, or \"2006-01-02 15:04\" in the local zone (UTC with --utc; default now)")
	f.Float64Var(&speed, "speed", 1, "1: the captured timing; 2: twice as fast; 0: as fast as each session allows")
	f.StringVar(&mode, "mode", "", "all (default), or read-only: only statements that cannot write, on read-only sessions")
	f.IntVar(&maxConnections, "max-connections", 0, fmt.Sprintf("the most connections on the target at once (default %d)", capture.DefaultMaxConnections))
	filters = filterFlags(f, "replay statements")
	return cmd
}

func (c *cli) replayWait() *cobra.Command {
	return c.waitCommand("replay", 24*time.Hour, true, func(ctx context.Context, id int) (waited, error) {
		r, err := c.api.GetReplayWithResponse(ctx, id)
		if err != nil {
			return waited{}, c.unreachable(err)
		}
		if r.StatusCode() >= 400 {
			_, err := c.answer(nil, r)
			return waited{}, err
		}
		s := r.JSON200.Status
		return waited{status: string(s), line: fmt.Sprintf("replay %d %s: %s", id, s, progressOf(*r.JSON200)), reason: deref(r.JSON200.Reason),
			print:  func() { c.printReplay(r.JSON200) },
			answer: func() error { _, err := c.answer(nil, r); return err }}, nil
	})
}

func (c *cli) replayStop() *cobra.Command {
	return &cobra.Command{Use: "stop ID", Short: "Stop a running replay, or cancel a scheduled one", RunE: func(cmd *cobra.Command, args []string) error {
		id, err := idArg(args, "replay")
		if err != nil {
			return err
		}
		r, err := c.api.StopReplayWithResponse(cmd.Context(), id)
		if done, err := c.answer(err, r); done {
			return err
		}
		fmt.Fprintf(c.stdout, "Stopping replay %d (%s)\n", id, r.JSON200.Status)
		return nil
	}}
}

func (c *cli) replayRename() *cobra.Command {
	return &cobra.Command{Use: "rename ID NAME", Short: "Rename a replay", RunE: func(cmd *cobra.Command, args []string) error {
		if len(args) != 2 {
			return usagef("want a replay id and a name")
		}
		id, err := idArg(args[:1], "replay")
		if err != nil {
			return err
		}
		r, err := c.api.EditReplayWithResponse(cmd.Context(), id, client.EditReplayJSONRequestBody{Name: args[1]})
		if done, err := c.answer(err, r); done {
			return err
		}
		fmt.Fprintf(c.stdout, "Renamed replay %d to %s\n", id, args[1])
		return nil
	}}
}

func (c *cli) replayDelete() *cobra.Command {
	var deleteLogs bool
	cmd := &cobra.Command{Use: "delete ID", Short: "Delete a replay, stopping it first if it runs", RunE: func(cmd *cobra.Command, args []string) error {
		id, err := idArg(args, "replay")
		if err != nil {
			return err
		}
		p := &client.DeleteReplayParams{}
		if deleteLogs {
			v := client.DeleteReplayParamsDeleteLogsTrue
			p.DeleteLogs = &v
		}
		r, err := c.api.DeleteReplayWithResponse(cmd.Context(), id, p)
		if done, err := c.answer(err, r); done {
			return err
		}
		fmt.Fprintf(c.stdout, "Deleted replay %d\n", id)
		return nil
	}}
	cmd.Flags().BoolVar(&deleteLogs, "delete-logs", false, "also delete its files: shards and outcomes (the API's deleteLogs)")
	return cmd
}
