package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/client"
)

// when shows an API time as RFC 3339 with its offset: in the local zone, or UTC with --utc.
// An empty time is "-".
func (c *cli) when(s string) string {
	if s == "" {
		return "-"
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	if c.utc {
		return t.UTC().Format(time.RFC3339)
	}
	return t.In(c.zone()).Format(time.RFC3339)
}

// zone is where times are shown: the local zone unless --utc.
func (c *cli) zone() *time.Location {
	if c.utc {
		return time.UTC
	}
	return time.Local
}

// humanBytes shows a byte count as people read it: 512 B, 1.5 KiB, 3.2 MiB.
func humanBytes(n int64) string {
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	v, unit := float64(n), ""
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB", "PiB"} {
		v, unit = v/1024, u
		if v < 1024 {
			break
		}
	}
	return fmt.Sprintf("%.1f %s", v, unit)
}

// window is a capture's start and end as a list shows them: what happened, or what is
// scheduled, marked so; "-" for what never happened (a capture cancelled before it began has
// no start).
func (c *cli) window(cp client.Capture) (start, end string) {
	start, end = c.when(deref(cp.Start)), c.when(deref(cp.End))
	if cp.Start == nil && cp.Status == client.StatusSCHEDULED && cp.ScheduledStart != nil {
		start = c.when(*cp.ScheduledStart) + " (scheduled)"
	}
	if cp.End == nil && cp.ScheduledEnd != nil && capture.Status(cp.Status).Live() {
		end = c.when(*cp.ScheduledEnd) + " (scheduled)"
	}
	return start, end
}

// statusFlag reads --status: one of the statuses, in any case (see checkStatus).
func statusFlag(s string) (client.Status, error) {
	if err := checkStatus("--status", s); err != nil || s == "" {
		return "", err
	}
	return client.Status(strings.ToUpper(s)), nil
}

func (c *cli) printCapture(cp *client.Capture) {
	fmt.Fprintf(c.stdout, "Capture %d  %s  (environment %d, %s)\nStatus     %s\n", cp.Id, cp.Name, cp.EnvId, cp.Type, cp.Status)
	if cp.Reason != nil {
		fmt.Fprintf(c.stdout, "Reason     %s\n", *cp.Reason)
	}
	if cp.ScheduledStart != nil || cp.ScheduledEnd != nil {
		fmt.Fprintf(c.stdout, "Scheduled  %s → %s\n", c.when(deref(cp.ScheduledStart)), c.when(deref(cp.ScheduledEnd)))
	}
	switch {
	case cp.Start != nil:
		fmt.Fprintf(c.stdout, "Recorded   %s → %s\n", c.when(*cp.Start), c.when(deref(cp.End)))
	case cp.End != nil:
		fmt.Fprintf(c.stdout, "Ended      %s, never started\n", c.when(*cp.End))
	}
	if cp.Workload != nil {
		fmt.Fprintf(c.stdout, "Workload   %d statements, %s\n", cp.Workload.Statements, humanBytes(int64(max(cp.Workload.Bytes, deref0(cp.Workload.Collected)))))
	}
}

// created says what a new capture does next: start now, or at its scheduled time.
func (c *cli) created(cp *client.Capture) string {
	if cp.Status == client.StatusSCHEDULED {
		return fmt.Sprintf("Created capture %d (%s): scheduled to start at %s", cp.Id, cp.Name, c.when(deref(cp.ScheduledStart)))
	}
	until := "until stopped"
	if cp.ScheduledEnd != nil {
		until = "until " + c.when(*cp.ScheduledEnd)
	}
	return fmt.Sprintf("Created capture %d (%s): starting now, recording %s", cp.Id, cp.Name, until)
}

func deref0(n *int) int {
	if n == nil {
		return 0
	}
	return *n
}

// microTime is a digest's time (to the microsecond), "" for null.
func microTime(t *client.MicroTime) string {
	if t == nil {
		return ""
	}
	return *t
}

// table prints rows: as JSON with --json; else empty when there are none; else a table of
// header (tab-separated columns) and one line of each row.
func table[T any](c *cli, rows []T, empty, header string, line func(T) string) error {
	if c.json {
		return json.NewEncoder(c.stdout).Encode(rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(c.stdout, empty)
		return nil
	}
	w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, header)
	for _, r := range rows {
		fmt.Fprintln(w, line(r))
	}
	return w.Flush()
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// parseAt reads --at: RFC 3339, or a date and time in zone.
// timeWindow reads the --from and --to flags' values: zero times for those not given.
func (c *cli) timeWindow(from, to string) (since, until time.Time, err error) {
	for _, t := range []struct {
		flag, value string
		to          *time.Time
	}{{"--from", from, &since}, {"--to", to, &until}} {
		if t.value == "" {
			continue
		}
		if *t.to, err = parseAt(t.value, c.zone()); err != nil {
			return since, until, usagef("%s %q: want RFC 3339 or \"2006-01-02 15:04\"", t.flag, t.value)
		}
	}
	return since, until, nil
}

func parseAt(s string, zone *time.Location) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04:05", "2006-01-02 15:04", "2006-01-02T15:04:05", "2006-01-02T15:04"} {
		if t, err := time.ParseInLocation(layout, s, zone); err == nil {
			return t, nil
		}
	}
	return time.Time{}, usagef("--at %q: want RFC 3339 or a local \"2006-01-02 15:04\"", s)
}
