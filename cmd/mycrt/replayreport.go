package main

import (
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mycrt/captures/pkg/client"
)

func (c *cli) replayReport() *cobra.Command {
	var limit int
	var sort string
	cmd := &cobra.Command{Use: "report ID", Short: "Show what a replay did, by fingerprint", RunE: func(cmd *cobra.Command, args []string) error {
		id, err := idArg(args, "replay")
		if err != nil {
			return err
		}
		p := &client.GetReplayReportParams{Limit: &limit}
		if p.Sort, err = enumFlag[client.ReportSort]("--sort", sort, "total, p95, errors or count"); err != nil {
			return err
		}
		r, err := c.api.GetReplayReportWithResponse(cmd.Context(), id, p)
		if done, err := c.answer(err, r); done {
			return err
		}
		d := r.JSON200
		st := d.Statements
		state := "so far"
		if d.Complete {
			state = "complete"
		}
		fmt.Fprintf(c.stdout, "%d of %d statements replayed, %d skipped, %d failed, %d not replayed; lateness p50 %s, p99 %s, max %s; %d fingerprints (%d shown), %s\n",
			st.Replayed, st.Captured, st.Skipped, st.Errors, st.NotReplayed, ms(d.Lateness.P50Ms), ms(d.Lateness.P99Ms), ms(d.Lateness.MaxMs),
			d.FingerprintCount, len(d.Fingerprints), state)
		w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "COUNT\tERRORS\tROWS\tTOTAL\tP50\tP95\tP99\tMAX\tID\tFINGERPRINT")
		for _, f := range d.Fingerprints {
			l := f.LatencyMs
			fmt.Fprintf(w, "%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", f.Count, f.Errors, f.Rows, ms(l.Total), ms(l.P50), ms(l.P95), ms(l.P99), ms(l.Max), f.Id, short(f.Fingerprint))
			for _, code := range sortedCodes(f.ErrorCodes) {
				e := f.ErrorCodes[code]
				fmt.Fprintf(w, "\t\t\t\t\t\t\t\t\t  error %s ×%d: %s\n", code, e.Count, short(e.Message))
			}
		}
		return w.Flush()
	}}
	f := cmd.Flags()
	f.IntVar(&limit, "limit", 20, "how many fingerprints (1 to 1000)")
	f.StringVar(&sort, "sort", "", "total (default: total latency, largest first), p95, errors or count")
	return cmd
}

// failOnVerdicts are what --fail-on names: a verdict that, when the compare finds it, fails
// the command (exit 1), for CI pipelines that gate an upgrade on a compare.
var failOnVerdicts = []string{"regressed", "errors", "diverged"}

func (c *cli) replayCompare() *cobra.Command {
	var limit int
	var sort, verdict string
	var failOn []string
	cmd := &cobra.Command{Use: "compare BASE CANDIDATE", Short: "Compare two replays of one capture, fingerprint by fingerprint", RunE: func(cmd *cobra.Command, args []string) error {
		if len(args) != 2 {
			return usagef("want a base and a candidate replay id")
		}
		base, err := idArg(args[:1], "replay")
		if err != nil {
			return err
		}
		cand, err := idArg(args[1:], "replay")
		if err != nil {
			return err
		}
		for _, v := range failOn {
			if !slices.Contains(failOnVerdicts, v) {
				return usagef("--fail-on %q: want regressed, errors or diverged", v)
			}
		}
		p := &client.CompareReplaysParams{Base: base, Candidate: cand, Limit: &limit}
		if p.Sort, err = enumFlag[client.CompareSort]("--sort", sort, "impact, p95Ratio, verdict or rowsDiffer"); err != nil {
			return err
		}
		if p.Verdict, err = enumFlag[client.CompareVerdict]("--verdict", verdict, "errors, diverged, regressed, improved or same"); err != nil {
			return err
		}
		r, err := c.api.CompareReplaysWithResponse(cmd.Context(), p)
		if done, err := c.answer(err, r); done && (err != nil || r.JSON200 == nil) {
			return err
		} else if !done {
			c.printComparison(r.JSON200)
		}
		return gate(r.JSON200, failOn)
	}}
	f := cmd.Flags()
	f.IntVar(&limit, "limit", 20, "how many fingerprints (1 to 1000)")
	f.StringVar(&sort, "sort", "", "impact (default: the change in total latency), p95Ratio, verdict or rowsDiffer")
	f.StringVar(&verdict, "verdict", "", "only fingerprints with this verdict: errors, diverged, regressed, improved or same")
	f.StringSliceVar(&failOn, "fail-on", nil, "exit 1 when any fingerprint is regressed, has new errors (errors) or any statement differs (diverged); repeat or comma-separate")
	return cmd
}

func (c *cli) printComparison(d *client.ReplayComparison) {
	s := d.Summary
	state := "so far"
	if d.Complete {
		state = "complete"
	}
	fmt.Fprintf(c.stdout, "candidate %d against base %d: %d regressed, %d improved, %d with new errors, %d diverged, %d same; %d of %d statements differ; %s\n",
		d.Candidate, d.Base, s.Regressed, s.Improved, s.NewErrors, s.Diverged, s.Same, d.RowsDiffer, d.Compared, state)
	w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "VERDICT\tP95 BASE\tP95 CAND\tRATIO\tTOTAL Δ\tROWS≠\tNEW ERR\tID\tFINGERPRINT")
	for _, f := range d.Fingerprints {
		ratio := "-"
		if f.P95Ratio != nil {
			ratio = fmt.Sprintf("%.2f×", *f.P95Ratio)
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%+.1f ms\t%d\t%d\t%s\t%s\n", f.Verdict, ms(f.Base.LatencyMs.P95), ms(f.Candidate.LatencyMs.P95), ratio,
			f.Candidate.LatencyMs.Total-f.Base.LatencyMs.Total, f.RowsDiffer, f.NewErrors, f.Id, short(f.Fingerprint))
		for _, code := range sortedCodes(f.Candidate.ErrorCodes) {
			if _, before := f.Base.ErrorCodes[code]; !before {
				e := f.Candidate.ErrorCodes[code]
				fmt.Fprintf(w, "\t\t\t\t\t\t\t\t  new error %s ×%d: %s\n", code, e.Count, short(e.Message))
			}
		}
	}
	w.Flush()
}

// gate fails when the comparison has a verdict failOn names.
func gate(d *client.ReplayComparison, failOn []string) error {
	var hit []string
	for _, v := range failOn {
		switch {
		case v == "regressed" && d.Summary.Regressed > 0:
			hit = append(hit, plural(d.Summary.Regressed, "fingerprint")+" regressed")
		case v == "errors" && d.Summary.NewErrors > 0:
			hit = append(hit, plural(d.Summary.NewErrors, "fingerprint")+" with new errors")
		case v == "diverged" && d.RowsDiffer > 0:
			hit = append(hit, plural(int(d.RowsDiffer), "statement")+" differ")
		}
	}
	if len(hit) > 0 {
		return fmt.Errorf("candidate %d against base %d: %s", d.Candidate, d.Base, strings.Join(hit, ", "))
	}
	return nil
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

func ms(v float32) string { return fmt.Sprintf("%.2f ms", v) }

func short(s string) string {
	if len(s) > 80 {
		return s[:77] + "..."
	}
	return s
}

func sortedCodes[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
