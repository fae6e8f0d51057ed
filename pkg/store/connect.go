package store

import (
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/guregu/dynamo/v2"
)

// Connect returns a DynamoDB handle over the caller's AWS configuration, as guregu/dynamo's own
// New does. An empty endpoint means AWS itself, as cfg says (region, credentials); otherwise
// it is a local DynamoDB-compatible server, reached with fixed dummy credentials so that every
// process sees the same local database, whatever cfg holds.
func Connect(cfg aws.Config, endpoint string, opts ...func(*dynamodb.Options)) *dynamo.DB {
	// Transactions that touch the same name claim conflict under concurrency; they are retried
	// rather than failed, and without a retry quota that a burst could drain.
	cfg.Retryer = func() aws.Retryer {
		return retry.NewStandard(dynamo.RetryTxConflicts, func(o *retry.StandardOptions) {
			o.MaxAttempts = 10
			o.RateLimiter = ratelimit.None
		})
	}
	if endpoint != "" {
		cfg.Region = "us-east-1"
		cfg.Credentials = credentials.NewStaticCredentialsProvider("local", "local", "")
		opts = append([]func(*dynamodb.Options){func(o *dynamodb.Options) {
			o.BaseEndpoint = aws.String(endpoint)
			// DynamoDB Local's error responses carry a CRC32 header that does not match their body.
			o.DisableValidateResponseChecksum = true
		}}, opts...)
	}
	return dynamo.New(cfg, opts...)
}
