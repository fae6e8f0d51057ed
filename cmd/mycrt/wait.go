package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mycrt/captures/pkg/capture"
)

// waited is what a wait command reads of a capture or a replay each time it asks.
type waited struct {
	status string
	line   string // its progress, as wait shows it on stderr
	print  func() // shows it once the wait is over (with --json, the API's answer is printed instead)
	reason string // why it failed, if it did
}

// waitCommand is "wait ID" for kind ("capture" or "replay"): it makes the call get every --every
// until the thing (as read makes it of the answer) reaches --for or ends, a progress line on
// stderr each time that changes. A thing that ends in another status than --for is an error, and
// so is a FAILED one when failedIsError.
func waitCommand[R response](c *cli, kind string, timeoutDefault time.Duration, failedIsError bool, get call[R], read func(id int, r R) waited) *cobra.Command {
	var want string
	var timeout, every time.Duration
	var quiet bool
	cmd := &cobra.Command{Use: "wait ID", Short: "Wait until a " + kind + " reaches --for, or ends, showing its progress", RunE: func(cmd *cobra.Command, args []string) error {
		id, err := idArg(args, kind)
		if err != nil {
			return err
		}
		if err := checkStatus("--for", want); err != nil {
			return err
		}
		deadline := time.Now().Add(timeout)
		shown := ""
		for {
			r, err := get(c.api, cmd.Context(), id)
			if err != nil {
				return c.unreachable(err)
			}
			if r.StatusCode() >= 400 {
				_, err := c.answer(nil, r)
				return err
			}
			w := read(id, r)
			if !quiet && !c.json && w.line != shown {
				// On stderr, a line each time it changes: stdout keeps only the answer.
				fmt.Fprintln(c.stderr, w.line)
				shown = w.line
			}
			if strings.EqualFold(w.status, want) || !capture.Status(w.status).Live() {
				if c.json {
					_, err := c.answer(nil, r)
					return err
				}
				w.print()
				switch {
				case want != "" && !strings.EqualFold(w.status, want):
					return fmt.Errorf("%s %d ended %s, not %s", kind, id, w.status, strings.ToUpper(want))
				case want == "" && failedIsError && w.status == string(capture.Failed):
					return fmt.Errorf("%s %d failed: %s", kind, id, w.reason)
				}
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("%s %d is still %s after %s", kind, id, w.status, timeout)
			}
			select {
			case <-cmd.Context().Done():
				return cmd.Context().Err()
			case <-time.After(every):
			}
		}
	}}
	cmd.Flags().StringVar(&want, "for", "", "the status to wait for (default: until it ends, DONE or FAILED)")
	cmd.Flags().DurationVar(&timeout, "timeout", timeoutDefault, "give up after this long")
	cmd.Flags().DurationVar(&every, "every", time.Second, "how often to ask")
	cmd.Flags().BoolVarP(&quiet, "quiet", "q", false, "no progress on stderr while waiting")
	return cmd
}
