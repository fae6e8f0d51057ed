package lambdas

// The environment variables the functions read (pkg/app), set by the stack (infra): each name
// written here only.
const (
	// EnvTable names the DynamoDB table (default mycrt).
	EnvTable = "TABLE_NAME"
	// EnvDynamoDBEndpoint, when set, is the DynamoDB endpoint to use instead of AWS's: DynamoDB
	// Local, for make run, SAM and the tests (.ci/with-dynamodb sets it).
	EnvDynamoDBEndpoint = "DYNAMODB_ENDPOINT"
	// EnvKey is the KMS key that seals database passwords (functions with a Key).
	EnvKey = "KMS_KEY_ID"
	// EnvWorker is the worker function's name (functions that HandsWork).
	EnvWorker = "WORKER_FUNCTION"
	// EnvReplayer is the replayer function's name (functions that HandsShards).
	EnvReplayer = "REPLAYER_FUNCTION"
	// EnvInvocationLimit, a Go duration, bounds each shard run of a replay (default 14m):
	// tests force hand-offs every few seconds with it.
	EnvInvocationLimit = "REPLAY_INVOCATION_LIMIT"
	// EnvBucket is the bucket of workload and metrics files (functions with Files).
	EnvBucket = "WORKLOAD_BUCKET"
	// EnvAllowedCIDRs is the comma-separated networks environments' databases may be in
	// (functions that ChecksHosts); unset, any but loopback.
	EnvAllowedCIDRs = "ALLOWED_DB_CIDRS"
	// EnvUserPool is the Cognito user pool members are found in, for the environments function.
	EnvUserPool = "USER_POOL_ID"
)
