package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/mycrt/captures/pkg/client"
)

// The verbs captures and replays share (get, stop, rename, delete, wait) are one command each,
// built for a kind ("capture" or "replay") from the generated client's calls for it: the kinds
// differ only in the calls, the words and what an answer shows.

// call is a generated client method on one id, as a method expression
// ((*client.ClientWithResponses).GetCaptureWithResponse): a command built before its run has
// connected calls it on the client the run connects.
type call[R response] func(*client.ClientWithResponses, context.Context, client.Id, ...client.RequestEditorFn) (R, error)

// byID is "VERB ID" for kind: it reads the id, makes the call and hands the answer to show,
// unless it is the API's error (exit 1) or --json has printed it as it came.
func byID[R response](c *cli, verb, kind, short string, f call[R], show func(id int, r R)) *cobra.Command {
	return &cobra.Command{Use: verb + " ID", Short: short, RunE: func(cmd *cobra.Command, args []string) error {
		id, err := idArg(args, kind)
		if err != nil {
			return err
		}
		r, err := f(c.api, cmd.Context(), id)
		if done, err := c.answer(err, r); done {
			return err
		}
		show(id, r)
		return nil
	}}
}

// stopCommand is "stop ID" for kind: it says the status the stop left it in.
func stopCommand[R response](c *cli, kind, short string, f call[R], status func(R) client.Status) *cobra.Command {
	return byID(c, "stop", kind, short, f, func(id int, r R) {
		fmt.Fprintf(c.stdout, "Stopping %s %d (%s)\n", kind, id, status(r))
	})
}

// renameCommand is "rename ID NAME" for kind, renaming with edit.
func (c *cli) renameCommand(kind string, edit func(ctx context.Context, id int, name string) (response, error)) *cobra.Command {
	return &cobra.Command{Use: "rename ID NAME", Short: "Rename a " + kind, RunE: func(cmd *cobra.Command, args []string) error {
		if len(args) != 2 {
			return usagef("want a %s id and a name", kind)
		}
		id, err := idArg(args[:1], kind)
		if err != nil {
			return err
		}
		r, err := edit(cmd.Context(), id, args[1])
		if done, err := c.answer(err, r); done {
			return err
		}
		fmt.Fprintf(c.stdout, "Renamed %s %d to %s\n", kind, id, args[1])
		return nil
	}}
}

// deleteCommand is "delete ID" for kind, deleting with del; --delete-logs (files says what
// they are) also deletes its files. A non-empty alias is the flag's earlier name, kept hidden
// for scripts that use it, with a word on stderr that it is deprecated.
func (c *cli) deleteCommand(kind, short, files, alias string, del func(ctx context.Context, id int, files bool) (response, error)) *cobra.Command {
	var deleteLogs bool
	cmd := &cobra.Command{Use: "delete ID", Short: short, RunE: func(cmd *cobra.Command, args []string) error {
		id, err := idArg(args, kind)
		if err != nil {
			return err
		}
		if alias != "" && cmd.Flags().Changed(alias) {
			fmt.Fprintf(c.stderr, "mycrt: --%s is deprecated: use --delete-logs\n", alias)
		}
		r, err := del(cmd.Context(), id, deleteLogs)
		if done, err := c.answer(err, r); done {
			return err
		}
		fmt.Fprintf(c.stdout, "Deleted %s %d\n", kind, id)
		return nil
	}}
	cmd.Flags().BoolVar(&deleteLogs, "delete-logs", false, "also delete its files: "+files+" (the API's deleteLogs)")
	if alias != "" {
		cmd.Flags().BoolVar(&deleteLogs, alias, false, "deprecated: use --delete-logs")
		_ = cmd.Flags().MarkHidden(alias)
	}
	return cmd
}

// createFlags declares the flags a create of either kind takes alike: --name (into name), --at
// and the filter flags (does: what the kind does with the statements they keep). What it
// returns reads them once they are parsed: --at as the API's scheduledStart (nil: now), and
// the filters.
func (c *cli) createFlags(f *pflag.FlagSet, kind string, name *string, does string) func() (start *string, filters *client.Filters, err error) {
	var at string
	f.StringVar(name, "name", "", "the "+kind+"'s name")
	f.StringVar(&at, "at", "", "when to start: RFC 3339, or \"2006-01-02 15:04\" in the local zone (UTC with --utc; default now)")
	filters := filterFlags(f, does)
	return func() (*string, *client.Filters, error) {
		if at == "" {
			return nil, filters(), nil
		}
		t, err := parseAt(at, c.zone())
		if err != nil {
			return nil, nil, err
		}
		s := t.UTC().Format(time.RFC3339)
		return &s, filters(), nil
	}
}

// deleteLogs is a delete's deleteLogs parameter (yes: the generated "true"), nil unless files.
func deleteLogs[V ~string](files bool, yes V) *V {
	if !files {
		return nil
	}
	return &yes
}
