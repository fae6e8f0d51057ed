package store

import (
	"context"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/guregu/dynamo/v2"
)

// Connect returns a DynamoDB handle. An empty endpoint means AWS itself, with credentials and
// region from the environment (as in Lambda); otherwise it is a local DynamoDB-compatible
// server, reached with fixed dummy credentials so every process sees the same local database.
func Connect(ctx context.Context, endpoint string, opts ...func(*dynamodb.Options)) (*dynamo.DB, error) {
	loadOpts := []func(*config.LoadOptions) error{
		config.WithRetryer(func() aws.Retryer {
			// Transactions that touch the same name claim conflict under concurrency; they are
			// retried rather than failed, and without a retry quota that a burst could drain.
			return retry.NewStandard(dynamo.RetryTxConflicts, func(o *retry.StandardOptions) {
				o.MaxAttempts = 10
				o.RateLimiter = ratelimit.None
			})
		}),
	}
	if endpoint != "" {
		loadOpts = append(loadOpts,
			config.WithRegion("us-east-1"),
			config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider("local", "local", "")),
		)
		opts = append([]func(*dynamodb.Options){func(o *dynamodb.Options) {
			o.BaseEndpoint = aws.String(endpoint)
			// DynamoDB Local's error responses carry a CRC32 header that does not match their body.
			o.DisableValidateResponseChecksum = true
		}}, opts...)
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("load AWS config: %w", err)
	}
	return dynamo.New(cfg, opts...), nil
}
