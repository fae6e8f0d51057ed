package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/mycrt/captures/pkg/lambdas"
	"github.com/mycrt/captures/pkg/layout"
)

// grant gives the named function what its spec (lambdas.Spec.Grants) says it uses of the
// table, the bucket and the key, action by action. CDK's grant methods would add actions no
// call needs: dynamodb:Scan, s3:DeleteObject* (which takes in DeleteObjectVersion, defeating
// the bucket's 30 days of deleted versions) and kms:ReEncrypt*.
func (d data) grant(fn awslambda.Function, name string) {
	spec, ok := lambdas.Named(name)
	if !ok {
		panic("function " + name + " is not in lambdas.All")
	}
	for _, g := range spec.Grants() {
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions: jsii.Strings(g.Actions...), Resources: d.arns(g.On),
		}))
	}
}

// arns are the ARNs a grant on r covers.
func (d data) arns(r lambdas.Resource) *[]*string {
	switch r {
	case lambdas.OnTable:
		return &[]*string{d.table.TableArn(), awscdk.Fn_Join(jsii.String(""), &[]*string{d.table.TableArn(), jsii.String("/index/*")})}
	case lambdas.OnBucket:
		return &[]*string{d.bucket.BucketArn()}
	case lambdas.OnObjects:
		return &[]*string{d.bucket.ArnForObjects(jsii.String("*"))}
	case lambdas.OnDigests:
		// Keeps the digest it computes for a capture recorded before digests were, and may
		// write nothing else.
		return &[]*string{d.bucket.ArnForObjects(jsii.String(layout.DigestKeyPattern))}
	case lambdas.OnReplays:
		return &[]*string{d.bucket.ArnForObjects(jsii.String(layout.ReplaysPrefix + "*"))}
	case lambdas.OnReports:
		// Keeps the report states it folds from a replay's outcomes, and may write nothing else.
		return &[]*string{d.bucket.ArnForObjects(jsii.String(layout.ReplayReportPattern))}
	case lambdas.OnKey:
		return &[]*string{d.key.KeyArn()}
	case lambdas.OnUsers:
		return &[]*string{d.pool.UserPoolArn()}
	}
	panic("no ARNs for resource " + string(r))
}
