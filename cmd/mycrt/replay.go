package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/client"
)

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
	return byID(c, "get", "replay", "Show a replay", (*client.ClientWithResponses).GetReplayWithResponse,
		func(_ int, r *client.GetReplayResponse) { c.printReplay(r.JSON200) })
}

func (c *cli) replayCreate() *cobra.Command {
	var in client.CreateReplay
	var target, mode string
	var speed float64
	var maxConnections int
	cmd := &cobra.Command{Use: "create", Short: "Replay a done capture into a target environment now, or at --at", Args: cobra.NoArgs}
	f := cmd.Flags()
	f.IntVar(&in.CaptureId, "capture", 0, "the done capture to replay")
	f.StringVar(&target, "target", "", "the environment to replay into, which you administer: its id or name")
	read := c.createFlags(f, "replay", &in.Name, "replay statements")
	f.Float64Var(&speed, "speed", 1, "1: the captured timing; 2: twice as fast; 0: as fast as each session allows")
	f.StringVar(&mode, "mode", "", "all (default), or read-only: only statements that cannot write, on read-only sessions")
	f.IntVar(&maxConnections, "max-connections", 0, fmt.Sprintf("the most connections on the target at once (default %d)", capture.DefaultMaxConnections))
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		var err error
		if in.EnvId, err = c.envID(cmd.Context(), target); err != nil {
			return err
		}
		if in.EnvId == 0 {
			return usagef("--target is required: the environment to replay into (its id or name)")
		}
		if in.ScheduledStart, in.Filters, err = read(); err != nil {
			return err
		}
		if cmd.Flags().Changed("speed") {
			v := float32(speed)
			in.Speed = &v // 0 is a speed: as fast as each session allows
		}
		in.Mode, in.MaxConnections = opt(client.CreateReplayMode(mode)), opt(maxConnections)
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
	}
	return cmd
}

func (c *cli) replayWait() *cobra.Command {
	return waitCommand(c, "replay", 24*time.Hour, true, (*client.ClientWithResponses).GetReplayWithResponse,
		func(id int, r *client.GetReplayResponse) waited {
			s := r.JSON200.Status
			return waited{status: string(s), line: fmt.Sprintf("replay %d %s: %s", id, s, progressOf(*r.JSON200)), reason: deref(r.JSON200.Reason),
				print: func() { c.printReplay(r.JSON200) }}
		})
}

func (c *cli) replayStop() *cobra.Command {
	return stopCommand(c, "replay", "Stop a running replay, or cancel a scheduled one", (*client.ClientWithResponses).StopReplayWithResponse,
		func(r *client.StopReplayResponse) client.Status { return r.JSON200.Status })
}

func (c *cli) replayRename() *cobra.Command {
	return c.renameCommand("replay", func(ctx context.Context, id int, name string) (response, error) {
		return c.api.EditReplayWithResponse(ctx, id, client.EditReplayJSONRequestBody{Name: name})
	})
}

func (c *cli) replayDelete() *cobra.Command {
	return c.deleteCommand("replay", "Delete a replay, stopping it first if it runs", "shards and outcomes", "", func(ctx context.Context, id int, files bool) (response, error) {
		return c.api.DeleteReplayWithResponse(ctx, id, &client.DeleteReplayParams{DeleteLogs: deleteLogs(files, client.DeleteReplayParamsDeleteLogsTrue)})
	})
}
