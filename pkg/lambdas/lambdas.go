// Package lambdas says what each Lambda function of the service is and what it uses: one table
// that the stack reads for each function's settings, environment and grants, and that a test
// holds each function's linked AWS clients to. The API functions' routes come from the route
// table in package api.
package lambdas

import (
	"slices"
	"strings"
)

// Files is what a function may do with the workload bucket.
type Files int

// What a function may do with the workload bucket, from nothing up.
const (
	NoFiles     Files = iota
	ReadFiles         // read captures' files
	PutDigests        // read, and keep a digest it computed (env-*/capture-*/digest.json only)
	DeleteFiles       // read and delete
	AllFiles          // read, write and delete (the worker)
	// ReplayFiles reads captures' files and reads and writes replays' (replays/*): the
	// replayer, which reads its shard and writes its outcomes.
	ReplayFiles
	// DeleteReplayFiles reads and deletes replays' files only (replays/*).
	DeleteReplayFiles
	// PutReports reads captures' and replays' files, and keeps the report states it folds
	// from a replay's outcomes (replays/*/report* only).
	PutReports
)

// Key is what a function may do with the key that seals database passwords.
type Key int

// What a function may do with the password key.
const (
	NoKey    Key = iota
	Seal         // encrypt
	Unseal       // decrypt
	SealOpen     // both: the environments function seals passwords, and opens them to check a database
)

// Spec is what one Lambda function is and uses: the stack's settings and grants for it. (The
// routes an API function serves are its api.Function, which shares its Name.)
type Spec struct {
	Name       string
	Timeout    int  // seconds
	WritesData bool // may write the table (all may read it)
	Files      Files
	Key        Key
	HandsWork  bool // invokes the worker
	CloudWatch bool // reads RDS metrics
	// DescribesRDS checks the instances environments name; SwitchesRDS switches tagged
	// parameter groups' general logs.
	DescribesRDS, SwitchesRDS bool
	ChecksHosts               bool // checks database hosts against EnvAllowedCIDRs
	ListsUsers                bool // finds members in the user pool by name or email (USER_POOL_ID)
	// HandsShards invokes the replayer, handing it replays' shard runs (REPLAYER_FUNCTION).
	HandsShards bool

	// Concurrency is the function's reserved concurrency, 0 for none: a ceiling on how many
	// of it run at once (for the worker, how many recordings reach customers' databases at
	// a time) and a share no other function can take. The stack's context may change it.
	Concurrency int
	// MaxEventAge, in seconds, says the function is invoked asynchronously (by the other
	// functions or by EventBridge): Lambda retries a failed invocation Retries times and
	// gives up on one older than this, and either way sends it to the function's failure
	// queue, whose depth and oldest message are alarmed.
	MaxEventAge, Retries int
	// WatchDuration alarms when an invocation runs close to the timeout: for the functions
	// whose work grows with what a capture records.
	WatchDuration bool
}

// The worker, the scheduler and the replayer, which no route reaches.
const (
	Worker    = "worker"
	Scheduler = "scheduler"
	Replayer  = "replayer"
)

// All is every function.
var All = []Spec{
	{Name: "list-captures", Timeout: 10},
	{Name: "create-capture", Timeout: 10, WritesData: true, HandsWork: true},
	{Name: "get-capture", Timeout: 10},
	{Name: "edit-capture", Timeout: 10, WritesData: true},
	{Name: "delete-capture", Timeout: 10, WritesData: true, Files: DeleteFiles, HandsWork: true},
	{Name: "stop-capture", Timeout: 10, WritesData: true, HandsWork: true},
	{Name: "get-capture-metrics", Timeout: 10, Files: ReadFiles, CloudWatch: true},
	{Name: "get-capture-workload", Timeout: 10, Files: ReadFiles},
	{Name: "get-capture-digest", Timeout: 10, Files: PutDigests},
	{Name: "list-replays", Timeout: 10},
	{Name: "create-replay", Timeout: 10, WritesData: true, HandsWork: true},
	{Name: "get-replay", Timeout: 10},
	{Name: "edit-replay", Timeout: 10, WritesData: true},
	{Name: "delete-replay", Timeout: 10, WritesData: true, Files: DeleteReplayFiles, HandsWork: true},
	{Name: "stop-replay", Timeout: 10, WritesData: true, HandsWork: true},
	{Name: "get-replay-metrics", Timeout: 10, CloudWatch: true},
	// 29 s, inside the HTTP API's 30 s: a report or compare of a large replay folds millions
	// of outcomes (about a second each million) the first time it is read.
	{Name: "get-replay-report", Timeout: 29, Files: PutReports, WatchDuration: true},
	{Name: "compare-replays", Timeout: 29, Files: ReadFiles, WatchDuration: true},
	// It hands work too: deleting an environment stops and releases the replays into it.
	{Name: "environments", Timeout: 10, WritesData: true, Files: DeleteFiles, Key: SealOpen, DescribesRDS: true, ChecksHosts: true, ListsUsers: true, HandsWork: true},
	// Ten at once: each holds a connection to a customer's database. An event older than 15
	// minutes is dropped: by then the scheduler's sweeps have redone or failed its work.
	{Name: Worker, Timeout: 120, WritesData: true, Files: AllFiles, Key: Unseal, CloudWatch: true, SwitchesRDS: true, ChecksHosts: true,
		HandsShards: true, Concurrency: 10, MaxEventAge: 900, Retries: 2, WatchDuration: true},
	// The shard runner: one invocation of one shard of a replay, up to Lambda's 15 minutes,
	// each starting its successor before it ends. Fifty at once bound the connections replays
	// hold on targets; a failed run is not retried by Lambda (it would run statements twice),
	// the scheduler runs a shard whose heartbeat stopped again from its checkpoint.
	{Name: Replayer, Timeout: 900, WritesData: true, Files: ReplayFiles, Key: Unseal, ChecksHosts: true,
		HandsShards: true, Concurrency: 50, MaxEventAge: 300, Retries: 0, WatchDuration: true},
	// 90 s: its tick waits inside the minute for each capture's second. A failed or late tick
	// is not retried: the next, a minute later, does the same work.
	{Name: Scheduler, Timeout: 90, WritesData: true, HandsWork: true, HandsShards: true, MaxEventAge: 120},
}

// Async reports whether f is invoked asynchronously, and so has a failure queue.
func (f Spec) Async() bool { return f.MaxEventAge > 0 }

// Pascal is a function's name as its construct ids in the stack and its api.Function in Go
// spell it: get-capture → GetCapture.
func Pascal(name string) string {
	var b strings.Builder
	for _, part := range strings.Split(name, "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

// Named returns the function called name.
func Named(name string) (Spec, bool) {
	i := slices.IndexFunc(All, func(f Spec) bool { return f.Name == name })
	if i < 0 {
		return Spec{}, false
	}
	return All[i], true
}

// Callers are the packages that call each AWS service, by the service's SDK package name: the
// SDK's own client for DynamoDB (guregu/dynamo is built on it), and this module's for the rest,
// which make their few calls through package awsreq rather than link the SDK's whole model of
// each service.
var Callers = map[string]string{
	"dynamodb":   "github.com/aws/aws-sdk-go-v2/service/dynamodb",
	"lambda":     "github.com/mycrt/captures/pkg/lifecycle/lambdainvoke",
	"s3":         "github.com/mycrt/captures/pkg/blob/s3blob",
	"kms":        "github.com/mycrt/captures/pkg/secret",
	"cloudwatch": "github.com/mycrt/captures/pkg/metrics/rdsmetrics",
	"rds":        "github.com/mycrt/captures/pkg/awsrds",
	// The user pool's ListUsers, finding members by name.
	"cognitoidentityprovider": "github.com/mycrt/captures/pkg/awscognito",
}

// Clients are the AWS services f calls, by the SDK's package name, sorted: the Callers it may
// link.
func (f Spec) Clients() []string {
	out := []string{"dynamodb"}
	if f.HandsWork || f.HandsShards {
		out = append(out, "lambda")
	}
	if f.Files != NoFiles {
		out = append(out, "s3")
	}
	if f.Key != NoKey {
		out = append(out, "kms")
	}
	if f.CloudWatch {
		out = append(out, "cloudwatch")
	}
	if f.DescribesRDS || f.SwitchesRDS {
		out = append(out, "rds")
	}
	if f.ListsUsers {
		out = append(out, "cognitoidentityprovider")
	}
	slices.Sort(out)
	return out
}
