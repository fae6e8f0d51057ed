package main

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

func regex(r string) interface{} { return &cdknag.RegexAppliesTo{Regex: jsii.String(r)} }

// suppress records, each with its reason, the cdk-nag findings the stack accepts. Anything
// else cdk-nag reports as an error fails synthesis.
func suppress(stack awscdk.Stack) {
	cdknag.NagSuppressions_AddStackSuppressions(stack, &[]*cdknag.NagPackSuppression{
		{
			Id:        jsii.String("AwsSolutions-IAM4"),
			Reason:    jsii.String("AWSLambdaBasicExecutionRole only lets a function write its own CloudWatch logs; writing an equivalent inline policy by hand adds nothing."),
			AppliesTo: &[]interface{}{"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"},
		},
		{
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String("Queries go through the table's own GSIs (envCaptures, userEnvs, due); index/* is scoped to this one table."),
			AppliesTo: &[]interface{}{regex(`/^Resource::<Table[0-9A-F]+\.Arn>\/index\/\*$/g`)},
		},
		{
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String("Invoking the worker function by any of its versions or aliases (<arn>:*) is what grantInvoke allows; it is one function."),
			AppliesTo: &[]interface{}{regex(`/^Resource::<Worker[0-9A-F]+\.Arn>:\*$/g`)},
		},
		{
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String("Workload fragments, files and metrics are objects under keys made per environment and capture at run time, in this one bucket; the functions get single actions on them (lambdas.Spec.Grants)."),
			AppliesTo: &[]interface{}{regex(`/^Resource::<Workloads[0-9A-F]+\.Arn>\/\*$/g`)},
		},
		{
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String("These action groups are CDK's BucketDeployment's own, for the console bucket and the CDK assets bucket only; none of the service's functions has them."),
			AppliesTo: &[]interface{}{"Action::s3:Abort*", "Action::s3:DeleteObject*", "Action::s3:GetBucket*", "Action::s3:GetObject*", "Action::s3:List*"},
		},
		{
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String("The digest function may put only capture digests (env-*/capture-*/digest.json), whose environment and capture ids are known at run time, to keep one it computed for a capture recorded before digests were kept."),
			AppliesTo: &[]interface{}{regex(`/^Resource::<Workloads[0-9A-F]+\.Arn>\/env-\*\/capture-\*\/digest\.json$/g`)},
		},
		{
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String("The replay report function may put only replays' report states (replays/*/report*), whose replay ids are known at run time, so that a report folds each outcome file once."),
			AppliesTo: &[]interface{}{regex(`/^Resource::<Workloads[0-9A-F]+\.Arn>\/replays\/\*\/report\*$/g`)},
		},
		{
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String("cloudwatch:GetMetricData, and X-Ray's xray:PutTraceSegments and xray:PutTelemetryRecords (every function's active tracing), support no resource-level permissions: AWS requires Resource \"*\"."),
			AppliesTo: &[]interface{}{"Resource::*"},
		},
		{
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String("Environments name their RDS parameter groups at run time, so the worker may modify parameter groups of this account and region only (pg:*), and only those two actions."),
			AppliesTo: &[]interface{}{"Resource::arn:<AWS::Partition>:rds:<AWS::Region>:<AWS::AccountId>:pg:*"},
		},
		{
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String("Environments name their RDS instance at run time: the environments function may describe instances of this account and region only (db:*), to check an environment's endpoint and parameter group, and do nothing else with them."),
			AppliesTo: &[]interface{}{"Resource::arn:<AWS::Partition>:rds:<AWS::Region>:<AWS::AccountId>:db:*"},
		},
		{
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String("The replayer puts, and delete-replay reads and deletes, only replays' files (replays/*), whose replay ids are known at run time: a replay's shards and outcomes, never a capture's files."),
			AppliesTo: &[]interface{}{regex(`/^Resource::<Workloads[0-9A-F]+\.Arn>\/replays\/\*$/g`)},
		},
		{
			Id:     jsii.String("AwsSolutions-SQS3"),
			Reason: jsii.String("WorkerFailures, SchedulerFailures and ReplayerFailures are themselves where failed invocations end up (on-failure destinations, and the scheduler's tick's dead-letter queue; alarmed); nothing consumes them, so they need no dead-letter queue of their own."),
		},
		{
			Id:        jsii.String("AwsSolutions-IAM5"),
			Reason:    jsii.String("The console's files are deployed by CDK's BucketDeployment, which reads them from the CDK assets bucket and writes them under the console bucket: the two wildcards are those object prefixes."),
			AppliesTo: &[]interface{}{regex(`/^Resource::arn:<AWS::Partition>:s3:::cdk-[a-z0-9]+-assets-<AWS::AccountId>-<AWS::Region>\/\*$/g`), regex(`/^Resource::<Console[0-9A-F]+\.Arn>\/\*$/g`)},
		},
		{
			Id:     jsii.String("AwsSolutions-S1"),
			Reason: jsii.String("Only the stack's own functions read and write the workload bucket (public access blocked, SSL enforced); S3 server access logs would add a second bucket with nothing to audit. Enable CloudTrail data events if your organisation needs them."),
		},
	}, jsii.Bool(true))
	for _, c := range *stack.Node().Children() {
		id := *c.Node().Id()
		switch {
		case strings.HasPrefix(id, "Custom::CDKBucketDeployment"):
			cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{{
				Id:     jsii.String("AwsSolutions-L1"),
				Reason: jsii.String("CDK's BucketDeployment brings its own function and picks its runtime; it runs only while the stack deploys the console's files."),
			}}, jsii.Bool(true))
		case id == "Site":
			cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{
				{
					Id:     jsii.String("AwsSolutions-CFR3"),
					Reason: jsii.String("Every API call through the distribution is logged by the HTTP API's access log; the rest are the console's own static files, public code with nothing to audit."),
				},
				{
					Id:     jsii.String("AwsSolutions-CFR4"),
					Reason: jsii.String("The distribution uses CloudFront's default *.cloudfront.net certificate, whose security policy AWS fixes; a custom domain with its own ACM certificate is how to require TLSv1.2_2021, left to the operator."),
				},
			}, jsii.Bool(true))
		}
	}
}
