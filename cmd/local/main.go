// Command local serves the whole MyCRT service (captures, replays, the console) on this machine, on DynamoDB Local, with
// the same handlers the Lambda functions run. `make run` starts it; `local token USER` prints a
// bearer token it accepts.
package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/mycrt/captures/pkg/local"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "local:", err)
		os.Exit(1)
	}
}

func run() error {
	cfg := local.ConfigFromEnv()
	if len(os.Args) == 3 && os.Args[1] == "token" {
		issuer, err := cfg.Issuer()
		if err != nil {
			return err
		}
		tok, err := issuer.Token(os.Args[2], 24*time.Hour)
		if err != nil {
			return err
		}
		fmt.Println(tok)
		return nil
	}
	if len(os.Args) != 1 {
		return errors.New("usage: local [token USER]")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	svc, err := local.New(ctx, cfg)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+cfg.Port)
	if err != nil {
		return err
	}
	// The address listened on (PORT=0 picks a free port): the handler answers only to its
	// names with this port.
	addr := ln.Addr().String()
	hs := &http.Server{Handler: svc.Handler(), ReadHeaderTimeout: 10 * time.Second}
	fmt.Print(banner(addr, cfg.DataDir))
	// The server, the scheduler and the shutdown, joined: run returns only once all three are
	// done and the worker's running work has finished.
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return err
		}
		return nil
	})
	// The scheduler ticks every second here, where EventBridge ticks every minute on AWS:
	// the same code, so scheduled captures start and stop by themselves locally too.
	g.Go(func() error { svc.Scheduler.Run(gctx, time.Second); return nil })
	g.Go(func() error {
		<-gctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		return hs.Shutdown(shutdown)
	})
	err = g.Wait()
	// Shard runs in flight end with the process: the next start's scheduler runs each again
	// from its checkpoint once its heartbeat is a minute old.
	svc.Shards.Close()
	svc.Handoff.Close()
	svc.Handoff.Wait()
	return err
}

// banner is what the server prints once it listens on addr with its data in dataDir: commands
// that work as printed, whatever PORT and DATA_DIR are (the CLI told the URL, `make token` the
// folder holding the key that signs tokens).
func banner(addr, dataDir string) string {
	url := "http://" + addr
	login := "go run ./cmd/mycrt login --user alice"
	if addr != "127.0.0.1:3000" {
		login = "go run ./cmd/mycrt login --url " + url + " --user alice"
	}
	token := "make -s token USER=alice"
	if filepath.Clean(dataDir) != ".local" {
		token = "DATA_DIR=" + dataDir + " " + token
	}
	return fmt.Sprintf("MyCRT (captures and replays) on %[1]s (data in %[2]s)\n"+
		"Web console:  %[1]s/ (sign in with any user name)\n"+
		"Command line: %[3]s && go run ./cmd/mycrt env list\n"+
		"Or curl:      TOKEN=$(%[4]s)\n"+
		"              curl -H \"Authorization: Bearer $TOKEN\" %[1]s/api/captures\n", url, dataDir, login, token)
}
