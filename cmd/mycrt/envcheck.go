package main

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/mycrt/captures/pkg/client"
)

// envArg reads a command's one environment argument: its id or name.
func (c *cli) envArg(cmd *cobra.Command, args []string) (int, error) {
	if len(args) != 1 || args[0] == "" {
		return 0, usagef("want one environment (its id or name)")
	}
	return c.envID(cmd.Context(), args[0])
}

// printCheck says what checking an environment's database found; nothing if it was not checked.
// For a replay target (target), the general log's privileges and rotation are said to be
// needless, since a replay neither switches nor reads the log.
func (c *cli) printCheck(ch *client.EnvironmentCheck, target bool) {
	if ch == nil {
		return
	}
	if !ch.Ok {
		fmt.Fprintf(c.stdout, "Check        FAILED: %s\n", deref(ch.Problem))
		return
	}
	tls := "not encrypted"
	if ch.Tls.Encrypted {
		tls = "encrypted (" + deref(ch.Tls.Cipher) + ")"
	}
	fmt.Fprintf(c.stdout, "Check        ok: %s\nTLS          %s, %s\n", deref(ch.Version), ch.Tls.Mode, tls)
	if target {
		fmt.Fprintf(c.stdout, "General log  not needed: a replay target (switched by %s, readable %v)\n", orDash(ch.Privileges.SwitchLog), ch.Privileges.ReadLog)
		return
	}
	switchLog := "-"
	if ch.Privileges.SwitchLog != nil {
		switchLog = string(*ch.Privileges.SwitchLog)
	}
	fmt.Fprintf(c.stdout, "General log  switched by %s, readable %v\n", switchLog, ch.Privileges.ReadLog)
	rotation := "-"
	if ch.Rotation != nil {
		rotation = string(*ch.Rotation)
	}
	if rotation == "none" {
		rotation += " (each collection reads the whole log table: install pkg/recording/rotation.sql)"
	}
	fmt.Fprintf(c.stdout, "Rotation     %s\n", rotation)
}

func (c *cli) envCheckCommand() *cobra.Command {
	return &cobra.Command{Use: "check ENV", Short: "Sign in to an environment's database again and say what it allows", RunE: func(cmd *cobra.Command, args []string) error {
		id, err := c.envArg(cmd, args)
		if err != nil {
			return err
		}
		r, err := c.api.CheckEnvironmentWithResponse(cmd.Context(), id)
		if done, err := c.answer(err, r); done {
			return err
		}
		// A target's check reports the general log's privileges without asking for them.
		target := false
		if e, err := c.api.GetEnvironmentWithResponse(cmd.Context(), id); err == nil && e.JSON200 != nil {
			target = e.JSON200.Target
		}
		c.printCheck(r.JSON200, target)
		if !r.JSON200.Ok {
			return fmt.Errorf("environment %d: the check failed", id)
		}
		return nil
	}}
}

func (c *cli) envEditCommand() *cobra.Command {
	var in client.EditEnvironment
	var host, db, user, tls, instance, group string
	var port int
	var passwordStdin, noCheck, target bool
	cmd := &cobra.Command{Use: "edit ENV", Short: "Change an environment's connection (checked first); not while it records", RunE: func(cmd *cobra.Command, args []string) error {
		id, err := c.envArg(cmd, args)
		if err != nil {
			return err
		}
		f := cmd.Flags()
		for _, o := range []struct {
			flag string
			from string
			to   **string
		}{{"host", host, &in.Host}, {"db", db, &in.DbName}, {"db-user", user, &in.User}, {"tls", tls, &in.Tls},
			{"instance", instance, &in.Instance}, {"parameter-group", group, &in.ParameterGroup}} {
			if f.Changed(o.flag) {
				v := o.from
				*o.to = &v
			}
		}
		if f.Changed("port") {
			in.Port = &port
		}
		if noCheck {
			in.Check = &[]bool{false}[0]
		}
		if f.Changed("target") {
			in.Target = &target
		}
		if passwordStdin {
			line, err := bufio.NewReader(c.stdin).ReadString('\n')
			if err != nil && line == "" {
				return usagef("--password-stdin: nothing on standard input")
			}
			pass := strings.TrimRight(line, "\r\n")
			in.Pass = &pass
		}
		r, err := c.api.EditEnvironmentWithResponse(cmd.Context(), id, in)
		if done, err := c.answer(err, r); done {
			return err
		}
		fmt.Fprintf(c.stdout, "Changed environment %d (%s): %s on %s:%d as %s\n", r.JSON200.Id, r.JSON200.EnvName, r.JSON200.DbName, r.JSON200.Host, r.JSON200.Port, r.JSON200.User)
		c.printCheck(r.JSON200.Check, r.JSON200.Target)
		return nil
	}}
	f := cmd.Flags()
	f.StringVar(&host, "host", "", "the database's host")
	f.IntVar(&port, "port", 0, "the database's port")
	f.StringVar(&db, "db", "", "the database to connect to")
	f.StringVar(&user, "db-user", "", "the account captures (on a replay target, replays) connect as")
	f.BoolVar(&passwordStdin, "password-stdin", false, "read the account's new password from standard input")
	f.StringVar(&tls, "tls", "", "TLS as MySQL's --ssl-mode")
	f.StringVar(&instance, "instance", "", "the RDS instance id")
	f.StringVar(&group, "parameter-group", "", "the RDS parameter group")
	f.BoolVar(&noCheck, "no-check", false, "save it without signing in first")
	f.BoolVar(&target, "target", false, "a replay target only: its user need not switch or read the general log (--target=false: no longer one, checked as a capture's; captures are refused in a target)")
	return cmd
}

// orDash is what p points to, or "-" for nil.
func orDash[T ~string](p *T) string {
	if p == nil {
		return "-"
	}
	return string(*p)
}
