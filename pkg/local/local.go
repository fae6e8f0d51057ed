// Package local builds what `make run` serves on this machine: the whole API, the worker and
// the scheduler in one process, over DynamoDB Local, with files and keys in a data folder.
package local

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/app"
	"github.com/mycrt/captures/pkg/auth"
	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/lifecycle"
	"github.com/mycrt/captures/pkg/metrics"
	"github.com/mycrt/captures/pkg/netguard"
	"github.com/mycrt/captures/pkg/recording"
	"github.com/mycrt/captures/pkg/secret"
	"github.com/mycrt/captures/pkg/store"
)

// Config is where the local server keeps its state.
type Config struct {
	DataDir  string // keys live here; DynamoDB Local keeps its file here too
	Endpoint string // DynamoDB Local
	Table    string
	Port     string // served on 127.0.0.1
	// AllowedCIDRs, when set, are the only networks (comma-separated CIDRs) environments'
	// databases may be in; loopback is allowed besides.
	AllowedCIDRs string
}

// ConfigFromEnv reads DATA_DIR (default .local), DYNAMODB_ENDPOINT, TABLE_NAME, PORT
// (default 3000) and ALLOWED_DB_CIDRS.
func ConfigFromEnv() Config {
	return Config{
		DataDir:      app.Env("DATA_DIR", ".local"),
		Endpoint:     os.Getenv("DYNAMODB_ENDPOINT"),
		Table:        app.Env("TABLE_NAME", app.DefaultTable),
		Port:         app.Env("PORT", "3000"),
		AllowedCIDRs: os.Getenv("ALLOWED_DB_CIDRS"),
	}
}

// Files is the folder of captures' files: workloads and metrics.
func (c Config) Files() blob.Dir { return blob.Dir{Root: filepath.Join(c.DataDir, "files")} }

// Issuer loads the local token signer from the data folder.
func (c Config) Issuer() (*auth.Issuer, error) {
	return auth.LoadIssuer(filepath.Join(c.DataDir, "keys", "token.key"))
}

// Service is everything `make run` runs in one process.
type Service struct {
	API       *api.Server
	Scheduler *lifecycle.Scheduler
	Handoff   *lifecycle.InProcess // the worker, run in this process
}

// New builds what `make run` serves: DynamoDB Local, passwords sealed with a key in the data
// folder, callers named by local bearer tokens, and the worker and scheduler in process. It
// creates the table if it is missing.
func New(ctx context.Context, c Config) (*Service, error) {
	if c.Endpoint == "" {
		return nil, fmt.Errorf("DYNAMODB_ENDPOINT is not set: start the server with `make run`")
	}
	// DynamoDB Local needs no AWS configuration: Connect supplies its dummy credentials.
	st := store.New(store.Connect(aws.Config{}, c.Endpoint), c.Table)
	if err := st.CreateTable(ctx); err != nil {
		return nil, err
	}
	issuer, err := c.Issuer()
	if err != nil {
		return nil, err
	}
	sealer, err := secret.LoadLocal(filepath.Join(c.DataDir, "keys", "secrets.key"))
	if err != nil {
		return nil, err
	}
	log := app.Logger()
	files := c.Files()
	// The scheduler ticks every second here: leases are swept, and failed restores retried, at
	// every tick.
	allowed, err := netguard.ParseCIDRs(c.AllowedCIDRs)
	if err != nil {
		return nil, err
	}
	// Databases on this machine are what `make run` is most often pointed at.
	network := netguard.Policy{AllowLoopback: true, Allowed: allowed}
	rec := &recording.Recorder{Secrets: sealer, Network: network, Store: st, Blobs: files, Now: time.Now, Log: log,
		SweepEvery: time.Second, RestoreRetry: func(int) time.Duration { return 0 }}
	// Without AWS there is no CloudWatch: RDS environments' metrics are unavailable locally.
	keeper := &metrics.Keeper{Samples: st, Files: files, Now: time.Now}
	worker := &lifecycle.InProcess{Worker: &lifecycle.Worker{Store: st, Recorder: rec, Metrics: keeper, Now: time.Now, Log: log}}
	return &Service{
		API: &api.Server{
			Store:        st,
			Secrets:      sealer,
			Handoff:      worker,
			Files:        files,
			Metrics:      keeper,
			Network:      network,
			Authenticate: issuer.Authenticate,
			Log:          log,
			Now:          time.Now,
		},
		Scheduler: &lifecycle.Scheduler{
			Store: st, Trigger: worker, Clock: lifecycle.RealClock{}, StuckAfter: app.StuckAfterLocal, Log: log,
		},
		Handoff: worker,
	}, nil
}
