// Package app builds the API server from its environment: on AWS for the Lambda functions,
// and on this machine for the local server and the tests that run the Lambda path.
package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	"github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/auth"
	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/blob/s3blob"
	"github.com/mycrt/captures/pkg/lifecycle"
	"github.com/mycrt/captures/pkg/metrics"
	"github.com/mycrt/captures/pkg/metrics/rdsmetrics"
	"github.com/mycrt/captures/pkg/recording"
	"github.com/mycrt/captures/pkg/secret"
	"github.com/mycrt/captures/pkg/store"
)

// DefaultTable is the table name when TABLE_NAME is unset.
const DefaultTable = "mycrt"

func env(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

// Logger writes JSON logs to stdout, as Lambda's JSON log format expects.
func Logger() *slog.Logger { return slog.New(slog.NewJSONHandler(os.Stdout, nil)) }

// onAWS is what every Lambda function builds from its environment: the table named by
// TABLE_NAME, and the AWS configuration for the clients only some functions need.
type onAWS struct {
	store *store.Store
	cfg   aws.Config
}

func loadAWS(ctx context.Context) (onAWS, error) {
	db, err := store.Connect(ctx, os.Getenv("DYNAMODB_ENDPOINT"))
	if err != nil {
		return onAWS{}, err
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return onAWS{}, fmt.Errorf("load AWS config: %w", err)
	}
	return onAWS{store: store.New(db, env("TABLE_NAME", DefaultTable)), cfg: cfg}, nil
}

// passwords seals and opens with the KMS key KMS_KEY_ID.
func (a onAWS) passwords() *secret.KMS {
	return &secret.KMS{Client: kms.NewFromConfig(a.cfg), KeyID: os.Getenv("KMS_KEY_ID")}
}

// worker hands work to the worker function WORKER_FUNCTION.
func (a onAWS) worker() *lifecycle.Invoker {
	return &lifecycle.Invoker{Client: lambda.NewFromConfig(a.cfg), Function: os.Getenv("WORKER_FUNCTION")}
}

// files is the workload bucket WORKLOAD_BUCKET.
func (a onAWS) files() s3blob.Bucket {
	return s3blob.Bucket{Client: s3.NewFromConfig(a.cfg), Bucket: os.Getenv("WORKLOAD_BUCKET")}
}

// metrics reads CloudWatch for RDS environments, the table's samples for others, and keeps
// copies in the workload bucket.
func (a onAWS) metrics() *metrics.Keeper {
	return &metrics.Keeper{
		RDS:     rdsmetrics.CloudWatch{Client: cloudwatch.NewFromConfig(a.cfg)},
		Samples: a.store, Files: a.files(), Now: time.Now,
	}
}

// Option gives an API function what only it needs. A function's main names its options, so
// the clients the others never use are not linked into their binaries.
type Option func(onAWS, *api.Server)

// HandsWork lets a function hand captures' slow work to the worker function.
func HandsWork(a onAWS, s *api.Server) { s.Worker = a.worker() }

// SealsPasswords lets a function seal environments' database passwords.
func SealsPasswords(a onAWS, s *api.Server) { s.Secrets = a.passwords() }

// KeepsFiles lets a function read and delete captures' files in the workload bucket.
func KeepsFiles(a onAWS, s *api.Server) { s.Files = a.files() }

// ReadsMetrics lets a function read captures' metrics.
func ReadsMetrics(a onAWS, s *api.Server) { s.Metrics = a.metrics() }

// Lambda builds the server an API function runs: callers named by API Gateway's JWT
// authorizer, plus whatever its options add.
func Lambda(ctx context.Context, opts ...Option) (*api.Server, error) {
	a, err := loadAWS(ctx)
	if err != nil {
		return nil, err
	}
	srv := &api.Server{Store: a.store, Authenticate: auth.APIGateway, Log: Logger(), Now: time.Now}
	for _, opt := range opts {
		opt(a, srv)
	}
	return srv, nil
}

// LambdaWorker builds the worker function's worker.
func LambdaWorker(ctx context.Context) (*lifecycle.Worker, error) {
	a, err := loadAWS(ctx)
	if err != nil {
		return nil, err
	}
	log := Logger()
	rec := &recording.Recorder{
		Secrets: a.passwords(), Store: a.store, Blobs: a.files(), RDS: rds.NewFromConfig(a.cfg),
		Now: time.Now, Log: log,
	}
	return &lifecycle.Worker{Store: a.store, Recorder: rec, Metrics: a.metrics(), Now: time.Now, Log: log}, nil
}

// LambdaScheduler builds the scheduler function's scheduler; it hands work to WORKER_FUNCTION.
func LambdaScheduler(ctx context.Context) (*lifecycle.Scheduler, error) {
	a, err := loadAWS(ctx)
	if err != nil {
		return nil, err
	}
	return &lifecycle.Scheduler{
		Store:      a.store,
		Trigger:    a.worker(),
		Clock:      lifecycle.RealClock{},
		StuckAfter: StuckAfterLambda,
		Log:        Logger(),
	}, nil
}

// How long a capture may stay STARTED, STARTING or STOPPING before the scheduler retries its
// work: past the worker's own timeout on AWS, and quicker locally where the work runs in process.
const (
	StuckAfterLambda = 3 * time.Minute
	StuckAfterLocal  = 30 * time.Second
)

// LocalConfig is where the local server keeps its state.
type LocalConfig struct {
	DataDir  string // keys live here; DynamoDB Local keeps its file here too
	Endpoint string // DynamoDB Local
	Table    string
	Port     string // served on 127.0.0.1
}

// LocalConfigFromEnv reads DATA_DIR (default .local), DYNAMODB_ENDPOINT, TABLE_NAME and PORT
// (default 3000).
func LocalConfigFromEnv() LocalConfig {
	return LocalConfig{
		DataDir:  env("DATA_DIR", ".local"),
		Endpoint: os.Getenv("DYNAMODB_ENDPOINT"),
		Table:    env("TABLE_NAME", DefaultTable),
		Port:     env("PORT", "3000"),
	}
}

// Files is the folder of captures' files: workloads and metrics.
func (c LocalConfig) Files() blob.Dir { return blob.Dir{Root: filepath.Join(c.DataDir, "files")} }

// Issuer loads the local token signer from the data folder.
func (c LocalConfig) Issuer() (*auth.Issuer, error) {
	return auth.LoadIssuer(filepath.Join(c.DataDir, "keys", "token.key"))
}

// Local is everything `make run` runs in one process.
type Local struct {
	API       *api.Server
	Scheduler *lifecycle.Scheduler
	Worker    *lifecycle.InProcess
}

// NewLocal builds what `make run` serves: DynamoDB Local, passwords sealed with a key in the data
// folder, callers named by local bearer tokens, and the worker and scheduler in process. It
// creates the table if it is missing.
func NewLocal(ctx context.Context, c LocalConfig) (*Local, error) {
	if c.Endpoint == "" {
		return nil, fmt.Errorf("DYNAMODB_ENDPOINT is not set: start the server with `make run`")
	}
	db, err := store.Connect(ctx, c.Endpoint)
	if err != nil {
		return nil, err
	}
	st := store.New(db, c.Table)
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
	log := Logger()
	files := c.Files()
	rec := &recording.Recorder{Secrets: sealer, Store: st, Blobs: files, Now: time.Now, Log: log}
	// Without AWS there is no CloudWatch: RDS environments' metrics are unavailable locally.
	keeper := &metrics.Keeper{Samples: st, Files: files, Now: time.Now}
	worker := &lifecycle.InProcess{Worker: &lifecycle.Worker{Store: st, Recorder: rec, Metrics: keeper, Now: time.Now, Log: log}}
	return &Local{
		API: &api.Server{
			Store:        st,
			Secrets:      sealer,
			Worker:       worker,
			Files:        files,
			Metrics:      keeper,
			Authenticate: issuer.Authenticate,
			Log:          log,
			Now:          time.Now,
		},
		Scheduler: &lifecycle.Scheduler{
			Store: st, Trigger: worker, Clock: lifecycle.RealClock{}, StuckAfter: StuckAfterLocal, Log: log,
		},
		Worker: worker,
	}, nil
}
