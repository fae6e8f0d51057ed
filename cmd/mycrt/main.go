// Command mycrt is the MyCRT Captures command-line client: environments and captures over the
// public API, through a client generated from pkg/api/openapi.yaml.
//
//	mycrt login --user alice                  # against make run: a local token
//	mycrt env create --name shop --host db.internal --db shop --db-user mycrt --password-stdin
//	mycrt capture create --env 1 --name "nightly run" --at "2026-12-01 02:00" --duration 1h
//	mycrt capture wait 7 --for DONE
//	mycrt capture download 7 -o nightly.jsonl.gz
//	mycrt logout                              # revokes the refresh token, forgets the tokens
//
// Every command takes --json and prints exactly what the API returned. Exit codes: 0 success,
// 1 an API error (its message on stderr), 2 a usage error, among them a URL that would carry a
// token over plain http to another machine than this one.
package main

import (
	"context"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv)
	stop()
	os.Exit(code)
}
