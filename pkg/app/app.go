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

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/kms"

	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/auth"
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

// Lambda builds the server a Lambda function runs: the table named by TABLE_NAME, passwords
// sealed with the KMS key KMS_KEY_ID, and callers named by API Gateway's JWT authorizer.
func Lambda(ctx context.Context) (*api.Server, error) {
	db, err := store.Connect(ctx, os.Getenv("DYNAMODB_ENDPOINT"))
	if err != nil {
		return nil, err
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	return &api.Server{
		Store:        store.New(db, env("TABLE_NAME", DefaultTable)),
		Secrets:      &secret.KMS{Client: kms.NewFromConfig(cfg), KeyID: os.Getenv("KMS_KEY_ID")},
		Authenticate: auth.APIGateway,
		Log:          Logger(),
		Now:          time.Now,
	}, nil
}

// LocalConfig is where the local server keeps its state.
type LocalConfig struct {
	DataDir  string // keys live here; DynamoDB Local keeps its file here too
	Endpoint string // DynamoDB Local
	Table    string
}

// LocalConfigFromEnv reads DATA_DIR (default .local), DYNAMODB_ENDPOINT and TABLE_NAME.
func LocalConfigFromEnv() LocalConfig {
	return LocalConfig{
		DataDir:  env("DATA_DIR", ".local"),
		Endpoint: os.Getenv("DYNAMODB_ENDPOINT"),
		Table:    env("TABLE_NAME", DefaultTable),
	}
}

// Issuer loads the local token signer from the data folder.
func (c LocalConfig) Issuer() (*auth.Issuer, error) {
	return auth.LoadIssuer(filepath.Join(c.DataDir, "keys", "token.key"))
}

// Local builds the server `make run` serves: DynamoDB Local, passwords sealed with a key in the
// data folder, callers named by local bearer tokens. It creates the table if it is missing.
func Local(ctx context.Context, c LocalConfig) (*api.Server, error) {
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
	return &api.Server{
		Store:        st,
		Secrets:      sealer,
		Authenticate: issuer.Authenticate,
		Log:          Logger(),
		Now:          time.Now,
	}, nil
}
