package main

import (
	"context"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/client"
)

func (c *cli) captureList() *cobra.Command {
	var env, name, status, search, from, to string
	var limit int
	cmd := &cobra.Command{Use: "list", Short: "List captures across your environments, newest first", Args: cobra.NoArgs, RunE: func(cmd *cobra.Command, _ []string) error {
		want, err := statusFlag(status)
		if err != nil {
			return err
		}
		if limit < 0 {
			return usagef("--limit %d: want a positive number, or 0 for all", limit)
		}
		p := client.ListCapturesParams{Name: opt(name), Search: opt(search)}
		since, until, err := c.timeWindow(from, to)
		if err != nil {
			return err
		}
		if !since.IsZero() {
			p.From = &since
		}
		if !until.IsZero() {
			p.To = &until
		}
		if id, err := c.envID(cmd.Context(), env); err != nil {
			return err
		} else if id != 0 {
			p.EnvId = &id
		}
		p.Limit = pageSize(limit)
		caps := []client.Capture{}
		err = c.eachCapture(cmd.Context(), p, func(cp client.Capture) bool {
			if want == "" || cp.Status == want {
				caps = append(caps, cp)
			}
			return limit > 0 && len(caps) == limit
		})
		if err != nil {
			return err
		}
		return table(c, caps, "No captures: mycrt capture create --env ID --name NAME --duration 10m",
			"ID\tENV\tNAME\tSTATUS\tSTART\tEND\tSTATEMENTS\tBYTES", func(cp client.Capture) string {
				stmts, bytes := "-", "-"
				if cp.Workload != nil {
					stmts, bytes = fmt.Sprint(cp.Workload.Statements), humanBytes(int64(cp.Workload.Bytes))
				}
				start, end := c.window(cp)
				return fmt.Sprintf("%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s", cp.Id, cp.EnvId, cp.Name, cp.Status, start, end, stmts, bytes)
			})
	}}
	cmd.Flags().StringVar(&env, "env", "", "only this environment's (its id or name)")
	cmd.Flags().StringVar(&name, "name", "", "only captures with this name")
	cmd.Flags().StringVar(&search, "search", "", "only captures whose name contains this, in any case")
	cmd.Flags().StringVar(&from, "from", "", "only captures listed at or after this time (RFC 3339, or \"2006-01-02 15:04\" in your zone)")
	cmd.Flags().StringVar(&to, "to", "", "only captures listed before this time")
	cmd.Flags().StringVar(&status, "status", "", "only captures in this status (any case)")
	cmd.Flags().IntVar(&limit, "limit", 0, "at most this many, newest first (default all, fetched page after page)")
	return cmd
}

func (c *cli) captureGet() *cobra.Command {
	return byID(c, "get", "capture", "Show a capture", (*client.ClientWithResponses).GetCaptureWithResponse,
		func(_ int, r *client.GetCaptureResponse) { c.printCapture(r.JSON200) })
}

func (c *cli) captureCreate() *cobra.Command {
	var in client.CreateCapture
	var env string
	var duration time.Duration
	var maxStatements int
	cmd := &cobra.Command{Use: "create", Short: "Record now, or at --at", Args: cobra.NoArgs}
	f := cmd.Flags()
	f.StringVar(&env, "env", "", "the environment to record: its id or name")
	read := c.createFlags(f, "capture", &in.Name, "record statements")
	f.DurationVar(&duration, "duration", 0, "how long to record (90s, 1h); none records until stopped")
	f.IntVar(&maxStatements, "max-statements", 0, "stop by itself after this many statements")
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		var err error
		if in.EnvId, err = c.envID(cmd.Context(), env); err != nil {
			return err
		}
		if in.ScheduledStart, in.Filters, err = read(); err != nil {
			return err
		}
		in.Duration, in.MaxStatements = opt(float32(duration.Seconds())), opt(maxStatements)
		r, err := c.api.CreateCaptureWithResponse(cmd.Context(), in)
		if done, err := c.answer(err, r); done {
			return err
		}
		fmt.Fprintln(c.stdout, c.created(r.JSON200))
		return nil
	}
	return cmd
}

func (c *cli) captureRename() *cobra.Command {
	return c.renameCommand("capture", func(ctx context.Context, id int, name string) (response, error) {
		return c.api.EditCaptureWithResponse(ctx, id, client.EditCaptureJSONRequestBody{Name: &name})
	})
}

func (c *cli) captureStop() *cobra.Command {
	return stopCommand(c, "capture", "Stop recording now", (*client.ClientWithResponses).StopCaptureWithResponse,
		func(r *client.StopCaptureResponse) client.Status { return r.JSON200.Status })
}

func (c *cli) captureDelete() *cobra.Command {
	// --workload: the flag's first name.
	return c.deleteCommand("capture", "Delete a capture and its replays (a running one is stopped first)", "workload and metrics, and its replays'", "workload", func(ctx context.Context, id int, files bool) (response, error) {
		return c.api.DeleteCaptureWithResponse(ctx, id, &client.DeleteCaptureParams{DeleteLogs: deleteLogs(files, client.DeleteCaptureParamsDeleteLogsTrue)})
	})
}

// checkStatus is a usage error unless s (a flag's value, any case) is empty or a status.
func checkStatus(flag, s string) error {
	if s == "" || capture.Status(strings.ToUpper(s)).Valid() {
		return nil
	}
	names := make([]string, len(capture.Statuses))
	for i, st := range capture.Statuses {
		names[i] = string(st)
	}
	return usagef("%s %q is not a status: one of %s", flag, s, strings.Join(names, ", "))
}

func (c *cli) captureWait() *cobra.Command {
	return waitCommand(c, "capture", time.Hour, false, (*client.ClientWithResponses).GetCaptureWithResponse,
		func(_ int, r *client.GetCaptureResponse) waited {
			return waited{status: string(r.JSON200.Status), line: progressLine(r.JSON200), reason: deref(r.JSON200.Reason),
				print: func() { c.printCapture(r.JSON200) }}
		})
}

// progressLine is how far a capture has got, as wait shows it while waiting.
func progressLine(cp *client.Capture) string {
	line := fmt.Sprintf("capture %d %s", cp.Id, cp.Status)
	if cp.Workload != nil {
		line += fmt.Sprintf(": %d statements, %s", cp.Workload.Statements, humanBytes(int64(max(cp.Workload.Bytes, deref0(cp.Workload.Collected)))))
	}
	return line
}

// sparks draws values as a line of block characters, lowest to highest.
func sparks(vals []float64) string {
	if len(vals) == 0 {
		return "(no points)"
	}
	lo, hi := vals[0], vals[0]
	for _, v := range vals {
		lo, hi = min(lo, v), max(hi, v)
	}
	blocks := []rune("▁▂▃▄▅▆▇█")
	var b strings.Builder
	for _, v := range vals {
		i := 0
		if hi > lo {
			i = int((v - lo) / (hi - lo) * float64(len(blocks)-1))
		}
		b.WriteRune(blocks[i])
	}
	return b.String()
}

func (c *cli) captureMetrics() *cobra.Command {
	var spark bool
	cmd := &cobra.Command{Use: "metrics ID", Short: "Show a capture's metrics over its window", RunE: func(cmd *cobra.Command, args []string) error {
		id, err := idArg(args, "capture")
		if err != nil {
			return err
		}
		r, err := c.api.GetCaptureMetricsWithResponse(cmd.Context(), id, &client.GetCaptureMetricsParams{})
		if done, err := c.answer(err, r); done {
			return err
		}
		w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		if !spark {
			fmt.Fprintln(w, "METRIC\tTIME\tMAXIMUM\tUNIT")
		}
		for _, m := range *r.JSON200 {
			var vals []float64
			for _, p := range m.DataPoints {
				vals = append(vals, float64(p.Maximum))
				if !spark {
					fmt.Fprintf(w, "%s\t%s\t%g\t%s\n", m.DisplayName, c.when(p.Timestamp), p.Maximum, p.Unit)
				}
			}
			if spark {
				fmt.Fprintf(w, "%s\t%s\t%d points\n", m.DisplayName, sparks(vals), len(vals))
			}
		}
		return w.Flush()
	}}
	cmd.Flags().BoolVar(&spark, "spark", false, "one sparkline per series instead of a table")
	return cmd
}

func (c *cli) captureDigest() *cobra.Command {
	var limit int
	var sort, user, database string
	cmd := &cobra.Command{Use: "digest ID", Short: "Show a capture's statements by fingerprint, as pt-query-digest groups them", RunE: func(cmd *cobra.Command, args []string) error {
		id, err := idArg(args, "capture")
		if err != nil {
			return err
		}
		p := &client.GetCaptureDigestParams{Limit: &limit, User: opt(user), Database: opt(database)}
		if p.Sort, err = enumFlag[client.GetCaptureDigestParamsSort]("--sort", sort, "count, firstSeen, lastSeen or fingerprint"); err != nil {
			return err
		}
		r, err := c.api.GetCaptureDigestWithResponse(cmd.Context(), id, p)
		if done, err := c.answer(err, r); done {
			return err
		}
		d := r.JSON200
		fmt.Fprintln(c.stdout, c.digestSummary(d))
		w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "COUNT\tSHARE\tID\tFINGERPRINT")
		for _, f := range d.Fingerprints {
			fp := f.Fingerprint
			if len(fp) > 80 {
				fp = fp[:77] + "..."
			}
			fmt.Fprintf(w, "%d\t%5.1f%%\t%s\t%s\n", f.Count, 100*f.Share, f.Id, fp)
		}
		return w.Flush()
	}}
	f := cmd.Flags()
	f.IntVar(&limit, "limit", 10, "how many fingerprints (1 to 1000)")
	f.StringVar(&sort, "sort", "", "count (default, most first), firstSeen, lastSeen or fingerprint")
	f.StringVar(&user, "user", "", "only this account's sessions")
	f.StringVar(&database, "database", "", "only statements run in this database")
	return cmd
}

// digestSummary is a digest's one-line summary: how much, over when, how many shown.
func (c *cli) digestSummary(d *client.Digest) string {
	state := "so far"
	if d.Complete {
		state = "complete"
	}
	return fmt.Sprintf("%d statements in %d sessions, %d fingerprints (%d shown), %s → %s, %s",
		d.Statements, d.Sessions, d.FingerprintCount, len(d.Fingerprints), c.when(microTime(d.From)), c.when(microTime(d.To)), state)
}
