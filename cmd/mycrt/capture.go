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

func (c *cli) captureCommand() *cobra.Command {
	cap := &cobra.Command{Use: "capture", Short: "Captures: record a database's workload over a window", RunE: group}
	cap.AddCommand(c.captureList(), c.captureGet(), c.captureCreate(), c.captureRename(), c.captureStop(),
		c.captureDelete(), c.captureWait(), c.captureMetrics(), c.captureDigest(), c.captureDownload(), c.captureExport())
	return cap
}

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
	return &cobra.Command{Use: "get ID", Short: "Show a capture", RunE: func(cmd *cobra.Command, args []string) error {
		id, err := idArg(args, "capture")
		if err != nil {
			return err
		}
		r, err := c.api.GetCaptureWithResponse(cmd.Context(), id)
		if done, err := c.answer(err, r); done {
			return err
		}
		c.printCapture(r.JSON200)
		return nil
	}}
}

func (c *cli) captureCreate() *cobra.Command {
	var in client.CreateCapture
	var at, env string
	var duration time.Duration
	var maxStatements int
	var filters func() *client.Filters // set once the flags are declared
	cmd := &cobra.Command{Use: "create", Short: "Record now, or at --at", Args: cobra.NoArgs, RunE: func(cmd *cobra.Command, _ []string) error {
		var err error
		if in.EnvId, err = c.envID(cmd.Context(), env); err != nil {
			return err
		}
		if at != "" {
			t, err := parseAt(at, c.zone())
			if err != nil {
				return err
			}
			s := t.UTC().Format(time.RFC3339)
			in.ScheduledStart = &s
		}
		if duration != 0 {
			secs := float32(duration.Seconds())
			in.Duration = &secs
		}
		if maxStatements != 0 {
			in.MaxStatements = &maxStatements
		}
		in.Filters = filters()
		r, err := c.api.CreateCaptureWithResponse(cmd.Context(), in)
		if done, err := c.answer(err, r); done {
			return err
		}
		fmt.Fprintln(c.stdout, c.created(r.JSON200))
		return nil
	}}
	f := cmd.Flags()
	f.StringVar(&env, "env", "", "the environment to record: its id or name")
	f.StringVar(&in.Name, "name", "", "the capture's name")
	f.StringVar(&at, "at", "", "when to start: RFC 3339, or \"2006-01-02 15:04\" in the local zone (UTC with --utc; default now)")
	f.DurationVar(&duration, "duration", 0, "how long to record (90s, 1h); none records until stopped")
	f.IntVar(&maxStatements, "max-statements", 0, "stop by itself after this many statements")
	filters = filterFlags(f, "record statements")
	return cmd
}

func (c *cli) captureRename() *cobra.Command {
	return &cobra.Command{Use: "rename ID NAME", Short: "Rename a capture", RunE: func(cmd *cobra.Command, args []string) error {
		if len(args) != 2 {
			return usagef("want a capture id and a name")
		}
		id, err := idArg(args[:1], "capture")
		if err != nil {
			return err
		}
		r, err := c.api.EditCaptureWithResponse(cmd.Context(), id, client.EditCaptureJSONRequestBody{Name: &args[1]})
		if done, err := c.answer(err, r); done {
			return err
		}
		fmt.Fprintf(c.stdout, "Renamed capture %d to %s\n", id, args[1])
		return nil
	}}
}

func (c *cli) captureStop() *cobra.Command {
	return &cobra.Command{Use: "stop ID", Short: "Stop recording now", RunE: func(cmd *cobra.Command, args []string) error {
		id, err := idArg(args, "capture")
		if err != nil {
			return err
		}
		r, err := c.api.StopCaptureWithResponse(cmd.Context(), id)
		if done, err := c.answer(err, r); done {
			return err
		}
		fmt.Fprintf(c.stdout, "Stopping capture %d (%s)\n", id, r.JSON200.Status)
		return nil
	}}
}

func (c *cli) captureDelete() *cobra.Command {
	var deleteLogs bool
	cmd := &cobra.Command{Use: "delete ID", Short: "Delete a capture", RunE: func(cmd *cobra.Command, args []string) error {
		id, err := idArg(args, "capture")
		if err != nil {
			return err
		}
		if cmd.Flags().Changed("workload") {
			fmt.Fprintln(c.stderr, "mycrt: --workload is deprecated: use --delete-logs")
		}
		p := &client.DeleteCaptureParams{}
		if deleteLogs {
			v := client.DeleteCaptureParamsDeleteLogsTrue
			p.DeleteLogs = &v
		}
		r, err := c.api.DeleteCaptureWithResponse(cmd.Context(), id, p)
		if done, err := c.answer(err, r); done {
			return err
		}
		fmt.Fprintf(c.stdout, "Deleted capture %d\n", id)
		return nil
	}}
	cmd.Flags().BoolVar(&deleteLogs, "delete-logs", false, "also delete its files: workload and metrics (the API's deleteLogs)")
	// The flag's first name, kept (hidden) for scripts that use it.
	cmd.Flags().BoolVar(&deleteLogs, "workload", false, "deprecated: use --delete-logs")
	_ = cmd.Flags().MarkHidden("workload")
	return cmd
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
	return c.waitCommand("capture", time.Hour, false, func(ctx context.Context, id int) (waited, error) {
		r, err := c.api.GetCaptureWithResponse(ctx, id)
		if err != nil {
			return waited{}, c.unreachable(err)
		}
		if r.StatusCode() >= 400 {
			_, err := c.answer(nil, r)
			return waited{}, err
		}
		return waited{status: string(r.JSON200.Status), line: progressLine(r.JSON200), reason: deref(r.JSON200.Reason),
			print:  func() { c.printCapture(r.JSON200) },
			answer: func() error { _, err := c.answer(nil, r); return err }}, nil
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
		if sort != "" {
			by := client.GetCaptureDigestParamsSort(sort)
			if !by.Valid() {
				return usagef("--sort %q: want count, firstSeen, lastSeen or fingerprint", sort)
			}
			p.Sort = &by
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
