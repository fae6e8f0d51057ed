package main

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/mycrt/captures/pkg/lambdas"
)

// roleActions is what the template lets each of the service's functions do: its role's
// policy, by action, each with the resources (as JSON) it is allowed on.
func roleActions(t *testing.T) map[string]map[string][]string {
	_, tmpl := synth(t)
	out := map[string]map[string][]string{}
	for id, pol := range resources(tmpl, "AWS::IAM::Policy") {
		for _, f := range lambdas.All {
			prefix := lambdas.Pascal(f.Name) + "ServiceRoleDefaultPolicy"
			if !strings.HasPrefix(id, prefix) || len(id) != len(prefix)+8 {
				continue
			}
			if out[f.Name] == nil {
				out[f.Name] = map[string][]string{}
			}
			for _, st := range pol["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
				s := st.(map[string]any)
				if s["Effect"] != "Allow" {
					continue
				}
				for _, a := range asList(s["Action"]) {
					out[f.Name][a] = append(out[f.Name][a], asList(s["Resource"])...)
				}
			}
		}
	}
	return out
}

// allows reports whether the IAM action pattern granted (which may hold * and ?) covers
// action, as IAM matches them: case-insensitively.
func allows(granted, action string) bool {
	re := "(?i)^" + strings.NewReplacer(`\*`, ".*", `\?`, ".").Replace(regexp.QuoteMeta(granted)) + "$"
	return regexp.MustCompile(re).MatchString(action)
}

// TestNoGrantDefeatsRetentionOrBinding: no function of the service may scan the table, delete
// an object's versions (a deleted workload stays 30 days as a noncurrent version) or
// re-encrypt a sealed password (which would let the environments function bind environment
// A's password to environment B's id), not even through a wildcard. CDK's BucketDeployment,
// which copies the console's files into their own unversioned bucket while the stack deploys,
// is not one of the service's functions.
func TestNoGrantDefeatsRetentionOrBinding(t *testing.T) {
	_, tmpl := synth(t)
	forbidden := []string{"dynamodb:Scan", "s3:DeleteObjectVersion", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:CreateGrant"}
	n := 0
	for id, pol := range resources(tmpl, "AWS::IAM::Policy") {
		if strings.HasPrefix(id, "CustomCDKBucketDeployment") {
			continue
		}
		n++
		for _, st := range pol["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
			for _, a := range asList(st.(map[string]any)["Action"]) {
				for _, bad := range forbidden {
					if allows(a, bad) {
						t.Errorf("%s grants %s, which allows %s", id, a, bad)
					}
				}
			}
		}
	}
	if n < len(lambdas.All) {
		t.Fatalf("%d policies checked, want one per function at least (%d)", n, len(lambdas.All))
	}
}

// TestGrantsAreWhatCallsNeed: each function's role allows exactly what pkg/lambdas says it
// uses, and that covers what its calls need: by key and by index on the table for every
// function, the writes conditional puts, updates, deletes, batches and transactions make for
// those that write, a GET and a listing (so a missing key is a 404) for every reader of the
// bucket, deletes for those that delete files, puts and aborted uploads for the worker, the
// digest function's puts on digest.json only, the report function's on replays/*/report* only, one KMS action for the key's two users; and for
// every function its traces, and for those invoked asynchronously their failure queue.
func TestGrantsAreWhatCallsNeed(t *testing.T) {
	got := roleActions(t)
	read := []string{"dynamodb:GetItem", "dynamodb:BatchGetItem", "dynamodb:Query"}
	write := []string{"dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem", "dynamodb:ConditionCheckItem", "dynamodb:BatchWriteItem"}
	for _, f := range lambdas.All {
		t.Run(f.Name, func(t *testing.T) {
			actions := got[f.Name]
			if actions == nil {
				t.Fatal("no role policy")
			}
			// Exactly the declared grants, and the other services' grants the spec names.
			want := map[string]bool{}
			for _, g := range f.Grants() {
				for _, a := range g.Actions {
					want[a] = true
				}
			}
			add := func(uses bool, actions ...string) {
				for _, a := range actions {
					want[a] = want[a] || uses
				}
			}
			add(f.HandsWork || f.HandsShards, "lambda:InvokeFunction")
			add(f.CloudWatch, "cloudwatch:GetMetricData")
			add(f.DescribesRDS, "rds:DescribeDBInstances")
			add(f.SwitchesRDS, "rds:ModifyDBParameterGroup", "rds:ResetDBParameterGroup", "rds:DescribeDBParameters")
			add(f.Async(), "sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl") // its on-failure destination
			add(true, "xray:PutTraceSegments", "xray:PutTelemetryRecords")                 // its traces
			for a := range actions {
				if !want[a] {
					t.Errorf("allows %s, which it is not declared to use", a)
				}
			}
			for a, uses := range want {
				if uses && actions[a] == nil {
					t.Errorf("lacks %s", a)
				}
			}

			on := func(action, resource string) bool {
				return slices.ContainsFunc(actions[action], func(r string) bool { return regexp.MustCompile(resource).MatchString(r) })
			}
			needs := func(resource string, actions ...string) {
				t.Helper()
				for _, a := range actions {
					if !on(a, resource) {
						t.Errorf("lacks %s on %s", a, resource)
					}
				}
			}
			table, index := `^\{"Fn::GetAtt":\["Table[0-9A-F]+","Arn"\]\}$`, `Table[0-9A-F]+.*/index/\*`
			needs(table, read...)
			needs(index, "dynamodb:Query")
			if f.WritesData {
				needs(table, write...)
			}
			bucket, objects, digests := `^\{"Fn::GetAtt":\["Workloads[0-9A-F]+","Arn"\]\}$`, `Workloads[0-9A-F]+.*"/\*"`, `Workloads[0-9A-F]+.*/env-\*/capture-\*/digest\.json`
			replays := `Workloads[0-9A-F]+.*"/replays/\*"`
			if f.Files != lambdas.NoFiles {
				needs(bucket, "s3:ListBucket")
			}
			if f.Files != lambdas.NoFiles && f.Files != lambdas.DeleteReplayFiles {
				needs(objects, "s3:GetObject")
			}
			switch f.Files {
			case lambdas.PutDigests:
				needs(digests, "s3:PutObject")
				if on("s3:PutObject", objects) {
					t.Error("may put any object, not only digests")
				}
			case lambdas.PutReports:
				needs(`Workloads[0-9A-F]+.*/replays/\*/report\*`, "s3:PutObject")
				if on("s3:PutObject", objects) {
					t.Error("may put any object, not only replays' report states")
				}
			case lambdas.DeleteFiles:
				needs(objects, "s3:DeleteObject")
			case lambdas.AllFiles:
				needs(objects, "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload")
			case lambdas.ReplayFiles:
				needs(replays, "s3:PutObject", "s3:AbortMultipartUpload")
				if on("s3:PutObject", objects) {
					t.Error("may put any object, not only replays'")
				}
			case lambdas.DeleteReplayFiles:
				needs(replays, "s3:GetObject", "s3:DeleteObject")
				if on("s3:DeleteObject", objects) || on("s3:GetObject", objects) {
					t.Error("may read or delete any object, not only replays'")
				}
			}
			key := `^\{"Fn::GetAtt":\["PasswordKey[0-9A-F]+","Arn"\]\}$`
			switch f.Key {
			case lambdas.Seal:
				needs(key, "kms:Encrypt")
			case lambdas.Unseal:
				needs(key, "kms:Decrypt")
			}
		})
	}
}
