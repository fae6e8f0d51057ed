package main

import (
	"bufio"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/mycrt/captures/pkg/client"
)

func (c *cli) envCommand() *cobra.Command {
	return groupCommand("env", "Environments: the databases captures record and replays run on, and who may use them",
		&cobra.Command{Use: "list", Short: "List your environments", Args: cobra.NoArgs, RunE: func(cmd *cobra.Command, _ []string) error {
			envs, err := c.environments(cmd.Context())
			if err != nil {
				return err
			}
			return table(c, envs, "No environments yet: mycrt env create --name NAME --host HOST --db DB --db-user USER",
				"ID\tNAME\tHOST\tDATABASE\tOWNER", func(e client.Environment) string {
					return fmt.Sprintf("%d\t%s\t%s:%d\t%s\t%s", e.Id, e.EnvName, e.Host, e.Port, e.DbName, first(deref(e.OwnerName), e.OwnerId))
				})
		}},
		&cobra.Command{Use: "get ENV", Short: "Show an environment (its id or name) and its general log", RunE: func(cmd *cobra.Command, args []string) error {
			id, err := c.envArg(cmd, args)
			if err != nil {
				return err
			}
			r, err := c.api.GetEnvironmentWithResponse(cmd.Context(), id)
			if done, err := c.answer(err, r); done {
				return err
			}
			e := r.JSON200
			fmt.Fprintf(c.stdout, "Environment %d  %s\nDatabase     %s on %s:%d as %s (TLS %s)\nOwner        %s\n",
				e.Id, e.EnvName, e.DbName, e.Host, e.Port, e.User, e.Tls, first(deref(e.OwnerName), e.OwnerId))
			if e.Instance != nil {
				fmt.Fprintf(c.stdout, "RDS          instance %s, parameter group %s\n", *e.Instance, str(e.ParameterGroup))
			}
			if e.Target {
				fmt.Fprintln(c.stdout, "Use          replay target only (checked without the general log's privileges)")
			}
			if g := e.GeneralLog; g != nil {
				state := "not held"
				if len(g.Holders) > 0 {
					state = fmt.Sprintf("on for captures %v", g.Holders)
				}
				if g.RestorePending {
					state += ", restore pending"
				}
				if g.LastError != nil {
					state += ", last restore failed: " + *g.LastError
				}
				fmt.Fprintf(c.stdout, "General log  %s\n", state)
			}
			return nil
		}},
		c.envCreateCommand(), c.envEditCommand(), c.envCheckCommand(),
		&cobra.Command{Use: "delete ENV", Short: "Delete an environment, its captures, the replays of them and into it (a running one is stopped first), and their files", RunE: func(cmd *cobra.Command, args []string) error {
			id, err := c.envArg(cmd, args)
			if err != nil {
				return err
			}
			r, err := c.api.DeleteEnvironmentWithResponse(cmd.Context(), id)
			if done, err := c.answer(err, r); done {
				return err
			}
			fmt.Fprintf(c.stdout, "Deleted environment %d\n", id)
			return nil
		}},
		&cobra.Command{Use: "members ENV", Short: "List an environment's members", RunE: func(cmd *cobra.Command, args []string) error {
			id, err := c.envArg(cmd, args)
			if err != nil {
				return err
			}
			r, err := c.api.ListMembersWithResponse(cmd.Context(), id)
			if done, err := c.answer(err, r); done {
				return err
			}
			w := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tID\tADMIN")
			for _, m := range *r.JSON200 {
				fmt.Fprintf(w, "%s\t%s\t%v\n", first(deref(m.Name), m.User), m.User, m.IsAdmin)
			}
			return w.Flush()
		}},
		c.addMemberCommand(),
		&cobra.Command{Use: "remove-member ENV USER", Short: "Take a member out of an environment (USER: a user name, email or id)", RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) != 2 {
				return usagef("want an environment and a user")
			}
			id, err := c.envArg(cmd, args[:1])
			if err != nil {
				return err
			}
			r, err := c.api.RemoveMemberWithResponse(cmd.Context(), id, args[1])
			if done, err := c.answer(err, r); done {
				return err
			}
			fmt.Fprintf(c.stdout, "Removed %s from environment %d\n", args[1], id)
			return nil
		}},
	)
}

func (c *cli) envCreateCommand() *cobra.Command {
	var in client.CreateEnvironment
	var port int
	var tls, instance, group string
	var passwordStdin, noCheck, target bool
	cmd := &cobra.Command{Use: "create", Short: "Add a database to record (signed in to and checked first)", Args: cobra.NoArgs, RunE: func(cmd *cobra.Command, _ []string) error {
		if port != 0 {
			in.Port = &port
		}
		if noCheck {
			in.Check = &[]bool{false}[0]
		}
		if target {
			in.Target = &target
		}
		in.Tls, in.Instance, in.ParameterGroup = opt(tls), opt(instance), opt(group)
		if passwordStdin {
			line, err := bufio.NewReader(c.stdin).ReadString('\n')
			if err != nil && line == "" {
				return usagef("--password-stdin: nothing on standard input")
			}
			pass := strings.TrimRight(line, "\r\n")
			in.Pass = &pass
		}
		r, err := c.api.CreateEnvironmentWithResponse(cmd.Context(), in)
		if done, err := c.answer(err, r); done {
			return err
		}
		fmt.Fprintf(c.stdout, "Created environment %d (%s)\n", r.JSON200.Id, r.JSON200.EnvName)
		c.printCheck(r.JSON200.Check, target)
		return nil
	}}
	f := cmd.Flags()
	f.StringVar(&in.EnvName, "name", "", "the environment's name")
	f.StringVar(&in.Host, "host", "", "the database's host")
	f.IntVar(&port, "port", 0, "the database's port (default 3306)")
	f.StringVar(&in.DbName, "db", "", "the database to connect to")
	f.StringVar(&in.User, "db-user", "", "the account captures (on a replay target, replays) connect as")
	f.BoolVar(&passwordStdin, "password-stdin", false, "read the account's password from standard input (never a flag: flags show in ps)")
	f.StringVar(&tls, "tls", "", "TLS as MySQL's --ssl-mode (default VERIFY_IDENTITY on RDS, PREFERRED elsewhere)")
	f.StringVar(&instance, "instance", "", "the RDS instance id")
	f.StringVar(&group, "parameter-group", "", "the RDS parameter group")
	f.BoolVar(&noCheck, "no-check", false, "save it without signing in first (a database not reachable yet)")
	f.BoolVar(&target, "target", false, "a replay target only: its user need not switch or read the general log (captures are refused in it)")
	return cmd
}

func (c *cli) addMemberCommand() *cobra.Command {
	var admin bool
	cmd := &cobra.Command{Use: "add-member ENV USER", Short: "Let a user use an environment (USER: a user name, email or id)", RunE: func(cmd *cobra.Command, args []string) error {
		if len(args) != 2 {
			return usagef("want an environment and a user")
		}
		id, err := c.envArg(cmd, args[:1])
		if err != nil {
			return err
		}
		r, err := c.api.AddMemberWithResponse(cmd.Context(), id, client.AddMemberJSONRequestBody{User: args[1], IsAdmin: &admin})
		if done, err := c.answer(err, r); done {
			return err
		}
		m := r.JSON200
		fmt.Fprintf(c.stdout, "Added %s (id %s) to environment %d\n", first(deref(m.Name), m.User), m.User, id)
		return nil
	}}
	cmd.Flags().BoolVar(&admin, "admin", false, "may also manage members and delete the environment")
	return cmd
}

// opt is v's address, nil for its zero value: a flag left unset, for which the API has its default.
func opt[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

func str(s *string) string {
	if s == nil {
		return "-"
	}
	return *s
}
