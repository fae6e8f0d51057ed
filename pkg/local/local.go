// Package local builds what `make run` serves on this machine: the whole API, the worker and
// the scheduler in one process, over DynamoDB Local, with files and keys in a data folder.
package local

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/app"
	"github.com/mycrt/captures/pkg/app/withreplay"
	"github.com/mycrt/captures/pkg/auth"
	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/csp"
	"github.com/mycrt/captures/pkg/dbtls"
	"github.com/mycrt/captures/pkg/lambdas"
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
	// WebDir holds the built web console (make run builds it into web/dist), served at /.
	WebDir string
	// InvocationLimit is REPLAY_INVOCATION_LIMIT, a Go duration: how long each shard run of a
	// replay lasts before it hands over to the next (default 14m, Lambda's less a margin).
	InvocationLimit string
}

// ConfigFromEnv reads DATA_DIR (default .local), DYNAMODB_ENDPOINT, TABLE_NAME, PORT
// (default 3000), ALLOWED_DB_CIDRS, WEB_DIR (default web/dist) and REPLAY_INVOCATION_LIMIT.
func ConfigFromEnv() Config {
	return Config{
		DataDir:      app.Env("DATA_DIR", ".local"),
		Endpoint:     os.Getenv(lambdas.EnvDynamoDBEndpoint),
		Table:        app.Env(lambdas.EnvTable, app.DefaultTable),
		Port:         app.Env("PORT", "3000"),
		AllowedCIDRs: os.Getenv(lambdas.EnvAllowedCIDRs),
		WebDir:       app.Env("WEB_DIR", filepath.Join("web", "dist")),
		// The name is lambdas' own: the replayer reads the same variable on AWS.
		InvocationLimit: os.Getenv(lambdas.EnvInvocationLimit),
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
	Issuer    *auth.Issuer // signs the tokens the API accepts
	WebDir    string       // the built web console
	Scheduler *lifecycle.Scheduler
	Handoff   *lifecycle.InProcess // the worker, run in this process
	Shards    *lifecycle.InProcess // replays' shard runs, in goroutines of this process
}

// shardRunsAtOnce bounds the shard runs make run holds at once, as the replayer's reserved
// concurrency does on AWS (pkg/lambdas); apart from the worker's, so replays never keep a
// capture's start waiting.
const shardRunsAtOnce = 50

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
	limit, err := lifecycle.ParseInvocationLimit(c.InvocationLimit)
	if err != nil {
		return nil, err
	}
	w := &lifecycle.Worker{Store: st, Recorder: rec, Metrics: keeper, Now: time.Now, Log: log,
		Replayer: withreplay.Engine{Recorder: rec, Files: files}, InvocationLimit: limit}
	worker := &lifecycle.InProcess{Worker: w}
	shards := &lifecycle.InProcess{Worker: w, Limit: shardRunsAtOnce}
	w.Replays = shards
	w.Shards = withreplay.Runner(st, files, rec, shards)
	return &Service{
		API: &api.Server{
			Store:        st,
			Secrets:      sealer,
			Handoff:      worker,
			Files:        files,
			Metrics:      keeper,
			Network:      network,
			TLSProbe:     dbtls.Prober{Dial: network.Dialer(3 * time.Second)},
			Authenticate: issuer.Authenticate,
			Users:        auth.LocalUsers{},
			Checker:      rec,
			Log:          log,
			Now:          time.Now,
		},
		Scheduler: &lifecycle.Scheduler{
			Store: st, Handoff: worker, Replays: shards, Clock: lifecycle.RealClock{}, StuckAfter: app.StuckAfterLocal, Log: log,
		},
		Handoff: worker,
		Shards:  shards,
		Issuer:  issuer,
		WebDir:  c.WebDir,
	}, nil
}

// TokenPath is the local sign-in route: POST {"user": "alice"} answers {"token": "...",
// "expiresIn": seconds}, a bearer token the API accepts for that user. It exists only here,
// in `make run`, which listens on loopback, answers only to its own names and takes writes
// only from its own origin, and has no users to check: on AWS, Cognito signs people in and no
// such route exists.
const TokenPath = "/local/token"

// tokenTTL is how long a local sign-in lasts.
const tokenTTL = 24 * time.Hour

// Handler serves the API, the local sign-in route and the web console (at /, from WebDir),
// each only to requests that name this server by its own names, and writes only from its own
// origin (see ownNames). It must be served from a listener: the port it answers to is the one
// each request came in on.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/api/", s.API.Handler())
	mux.HandleFunc("POST "+TokenPath, s.signIn)
	mux.Handle("/", console(s.WebDir))
	return ownNames(mux)
}

// console serves the built web console. Everything it loads comes from here (the policy
// allows nothing else), and no page may frame it.
func console(dir string) http.Handler {
	files := http.FileServer(http.Dir(dir))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			jsonError(w, http.StatusMethodNotAllowed, "the console's files are read with GET or HEAD")
			return
		}
		if dir == "" {
			jsonError(w, http.StatusNotFound, "this server has no web console: make run builds it")
			return
		}
		h := w.Header()
		// make run signs in on its own origin: the policy names nothing else.
		h.Set("Content-Security-Policy", csp.Console(""))
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		files.ServeHTTP(w, r)
	})
}

func (s *Service) signIn(w http.ResponseWriter, r *http.Request) {
	var in struct{ User string }
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&in); err != nil || !validUser(in.User) {
		jsonError(w, http.StatusBadRequest, "user must be 1 to 64 letters, digits, or . _ @ -")
		return
	}
	tok, err := s.Issuer.Token(in.User, tokenTTL)
	if err != nil {
		jsonError(w, http.StatusInternalServerError, "could not sign a token")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(map[string]any{"token": tok, "expiresIn": int(tokenTTL.Seconds())})
}

func validUser(u string) bool {
	if u == "" || len(u) > 64 {
		return false
	}
	for _, c := range u {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._@-", c)) {
			return false
		}
	}
	return true
}
