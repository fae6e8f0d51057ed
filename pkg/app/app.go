// Package app builds the Lambda functions from their environment. This package holds what
// every function needs (the table, the AWS configuration, logging, the API server); each
// AWS client only some functions need lives in its own with* package, so that a function links
// only the SDK clients it uses.
package app

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/auth"
	"github.com/mycrt/captures/pkg/dbtls"
	"github.com/mycrt/captures/pkg/lambdas"
	"github.com/mycrt/captures/pkg/logctx"
	"github.com/mycrt/captures/pkg/netguard"
	"github.com/mycrt/captures/pkg/store"
)

// DefaultTable is the table name when TABLE_NAME is unset.
const DefaultTable = "mycrt"

// Env returns the environment variable name, or fallback when it is unset.
func Env(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

// Network is the database network policy of a function on AWS: no loopback (the function's own
// sandbox), and only ALLOWED_DB_CIDRS when it is set (comma-separated CIDRs).
func Network() (netguard.Policy, error) {
	allowed, err := netguard.ParseCIDRs(os.Getenv(lambdas.EnvAllowedCIDRs))
	return netguard.Policy{Allowed: allowed}, err
}

// Logger writes JSON logs to stdout, as Lambda's JSON log format expects, each line with the
// ids its context carries (logctx).
func Logger() *slog.Logger { return logctx.JSON(os.Stdout) }

// AWS is what every Lambda function builds from its environment: the table named by
// TABLE_NAME, and the AWS configuration for the clients only some functions need.
type AWS struct {
	Store  *store.Store
	Config aws.Config
}

// LoadAWS reads the function's environment.
func LoadAWS(context.Context) (AWS, error) {
	cfg := LambdaConfig()
	db := store.Connect(cfg, os.Getenv(lambdas.EnvDynamoDBEndpoint))
	return AWS{Store: store.New(db, Env(lambdas.EnvTable, DefaultTable)), Config: cfg}, nil
}

// LambdaConfig is the AWS configuration of a Lambda function, built once from what Lambda puts
// in its environment: the region (AWS_REGION) and the execution role's credentials
// (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN). The SDK's default chain would
// find the same, but linking it costs every function about 2 MB of credential providers (SSO,
// STS, ...) that a Lambda never uses, and its set-up time at every cold start.
func LambdaConfig() aws.Config {
	return aws.Config{
		Region: os.Getenv("AWS_REGION"),
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(
			os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), os.Getenv("AWS_SESSION_TOKEN"))),
	}
}

// Endpoint is AWS_ENDPOINT_URL_<service> (as the SDK's default configuration reads it), or
// "" for the service's regional endpoint: for tests that stand in for a service.
func Endpoint(service string) string { return os.Getenv("AWS_ENDPOINT_URL_" + service) }

// Option gives an API function what only it needs (withkms.SealsPasswords,
// withworker.HandsWork, withs3.KeepsFiles, withcloudwatch.ReadsMetrics).
type Option func(AWS, *api.Server)

// Lambda builds the server an API function runs: callers named by API Gateway's JWT
// authorizer, plus whatever its options add.
func Lambda(ctx context.Context, opts ...Option) (*api.Server, error) {
	a, err := LoadAWS(ctx)
	if err != nil {
		return nil, err
	}
	network, err := Network()
	if err != nil {
		return nil, err
	}
	srv := &api.Server{Store: a.Store, Authenticate: auth.APIGateway, Network: network, Log: Logger(), Now: time.Now,
		TLSProbe: dbtls.Prober{Dial: network.Dialer(3 * time.Second)}}
	for _, opt := range opts {
		opt(a, srv)
	}
	return srv, nil
}

// How long a capture may stay STARTED, STARTING or STOPPING before the scheduler retries its
// work: past the worker's own timeout on AWS, and quicker locally where the work runs in process.
const (
	StuckAfterLambda = 3 * time.Minute
	StuckAfterLocal  = 30 * time.Second
)
