package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/mycrt/captures/pkg/client"
)

// Exit codes.
const (
	exitOK    = 0
	exitAPI   = 1 // the API (or the network) refused
	exitUsage = 2 // the command line was wrong
)

// usageError is a mistake on the command line.
type usageError struct{ error }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// apiError is the API's {"code", "message"} answer: openapi.yaml's Error, as pkg/client has it.
type apiError client.Error

func (e *apiError) Error() string { return e.Message }

// cli is one run of the command: its streams, settings and client.
type cli struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	url, token     string
	json           bool
	utc            bool // times in UTC rather than the local zone
	http           *http.Client
	transport      http.RoundTripper           // nil: Go's default (tests keep the traffic in process)
	raw            *client.Client              // for answers read as streams (a download)
	api            *client.ClientWithResponses // for answers parsed whole
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	return (&cli{stdin: stdin, stdout: stdout, stderr: stderr, getenv: getenv}).main(ctx, args)
}

// main runs the command line args and returns the exit code.
func (c *cli) main(ctx context.Context, args []string) int {
	root := c.rootCommand()
	root.SetArgs(args)
	root.SetIn(c.stdin)
	root.SetOut(c.stdout)
	root.SetErr(c.stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(c.stderr, "mycrt:", err)
	var u usageError
	if errors.As(err, &u) || strings.HasPrefix(err.Error(), "unknown command") || strings.HasPrefix(err.Error(), "unknown flag") {
		return exitUsage
	}
	return exitAPI
}

func (c *cli) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:           "mycrt",
		Short:         "Record MySQL workloads and replay them with MyCRT Captures",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return c.connect(cmd)
		},
	}
	root.PersistentFlags().StringVar(&c.url, "url", "", "the API's URL (default $MYCRT_URL, then the login's, then http://127.0.0.1:3000)")
	root.PersistentFlags().BoolVar(&c.json, "json", false, "print exactly what the API returned")
	root.PersistentFlags().BoolVar(&c.utc, "utc", false, "show times in UTC (default: the local zone, with its offset)")
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError{err} })
	root.AddCommand(c.loginCommand(), c.logoutCommand(), c.envCommand(),
		groupCommand("capture", "Captures: record a database's workload over a window",
			c.captureList(), c.captureGet(), c.captureCreate(), c.captureRename(), c.captureStop(),
			c.captureDelete(), c.captureWait(), c.captureMetrics(), c.captureDigest(), c.captureDownload(), c.captureExport()),
		groupCommand("replay", "Replays: run a done capture's workload again on a target environment, see what it did, compare two",
			c.replayList(), c.replayGet(), c.replayCreate(), c.replayWait(), c.replayStop(), c.replayRename(), c.replayDelete(),
			c.replayReport(), c.replayCompare()))
	return root
}

// connect settles the URL and token (flag, environment, saved login) and builds the client.
// A bearer token goes only over https, or plain http to this machine: sending one elsewhere,
// or signing in there, is a usage error.
func (c *cli) connect(cmd *cobra.Command) error {
	saved, _ := loadLogin(c.getenv)
	c.url = first(c.url, c.getenv("MYCRT_URL"), saved.URL, "http://127.0.0.1:3000")
	c.http = &http.Client{Timeout: 10 * time.Minute, Transport: c.transport, CheckRedirect: keepBearer}
	if cmd.Name() == "logout" { // it talks to the sign-in service only, if at all
		return nil
	}
	if cmd.Name() == "login" {
		if err := plainText(c.url, "a sign-in"); err != nil {
			return usageError{err}
		}
	} else {
		c.token = c.getenv("MYCRT_TOKEN")
		if _, kept := saved.Tokens[c.url]; c.token != "" || kept {
			if err := plainText(c.url, "the bearer token"); err != nil {
				return usageError{err}
			}
		}
		if c.token == "" {
			c.token = c.tokenFor(cmd.Context(), saved, c.url)
		}
	}
	raw, err := client.NewClient(strings.TrimSuffix(c.url, "/"),
		client.WithHTTPClient(c.http),
		client.WithRequestEditorFn(func(_ context.Context, r *http.Request) error {
			if c.token != "" {
				r.Header.Set("Authorization", "Bearer "+c.token)
			}
			return nil
		}))
	if err != nil {
		return usagef("--url: %v", err)
	}
	c.raw, c.api = raw, &client.ClientWithResponses{ClientInterface: raw}
	return nil
}

func first(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// response is what every generated answer offers.
type response interface {
	GetBody() []byte
	StatusCode() int
	Status() string
}

// answer checks an API answer (r is not touched when err is set): a status of 400 or more is
// the API's error; otherwise, with --json, the body is printed as is and done is true, so the
// caller prints nothing more.
func (c *cli) answer(err error, r response) (done bool, _ error) {
	if err != nil {
		return true, c.unreachable(err)
	}
	body := r.GetBody()
	if r.StatusCode() >= 400 {
		e := &apiError{}
		if json.Unmarshal(body, e) != nil || e.Message == "" {
			e = &apiError{Code: r.StatusCode(), Message: fmt.Sprintf("%s answered %s", c.url, r.Status())}
		}
		if r.StatusCode() == http.StatusUnauthorized && c.token == "" {
			e.Message += " (sign in with mycrt login, or set MYCRT_TOKEN)"
		}
		return true, e
	}
	if c.json {
		c.stdout.Write(body)
		if len(body) > 0 && body[len(body)-1] != '\n' {
			fmt.Fprintln(c.stdout)
		}
		return true, nil
	}
	return false, nil
}

// groupCommand is a command that only holds subs (capture, replay, env).
func groupCommand(use, short string, subs ...*cobra.Command) *cobra.Command {
	g := &cobra.Command{Use: use, Short: short, RunE: group}
	g.AddCommand(subs...)
	return g
}

// group runs a command that only holds others: help, or a usage error for a name it lacks.
func group(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return usagef("unknown command %q for %q", args[0], cmd.CommandPath())
	}
	return cmd.Help()
}

// enumFlag is a flag's value (s, given as --flag) as the API's enum E: nil when it is unset,
// a usage error saying what it may be (want) when it is none of E's.
func enumFlag[E interface {
	~string
	Valid() bool
}](flag, s, want string) (*E, error) {
	if s == "" {
		return nil, nil
	}
	if v := E(s); v.Valid() {
		return &v, nil
	}
	return nil, usagef("%s %q: want %s", flag, s, want)
}

// idArg parses a command's one numeric id.
func idArg(args []string, what string) (int, error) {
	if len(args) != 1 {
		return 0, usagef("want one %s id", what)
	}
	var id int
	if _, err := fmt.Sscan(args[0], &id); err != nil || id <= 0 || fmt.Sprint(id) != args[0] {
		return 0, usagef("%q is not a %s id", args[0], what)
	}
	return id, nil
}
