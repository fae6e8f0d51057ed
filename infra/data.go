package main

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"

	"github.com/guregu/dynamo/v2"

	"github.com/mycrt/captures/pkg/layout"
	"github.com/mycrt/captures/pkg/store"
)

// data is what the functions share: the table, the workload bucket and the password key.
type data struct {
	table  awsdynamodb.Table
	key    awskms.Key
	bucket awss3.Bucket
	pool   awscognito.UserPool // set by newAPI, for the functions that find users in it
}

func newData(stack awscdk.Stack, removal awscdk.RemovalPolicy) data {
	table := awsdynamodb.NewTable(stack, jsii.String("Table"), &awsdynamodb.TableProps{
		PartitionKey: &awsdynamodb.Attribute{Name: jsii.String("pk"), Type: awsdynamodb.AttributeType_STRING},
		SortKey:      &awsdynamodb.Attribute{Name: jsii.String("sk"), Type: awsdynamodb.AttributeType_STRING},
		BillingMode:  awsdynamodb.BillingMode_PAY_PER_REQUEST,
		// The AWS managed key (aws/dynamodb), so its use shows in CloudTrail; passwords are
		// sealed with the stack's own key besides.
		Encryption: awsdynamodb.TableEncryption_AWS_MANAGED,
		// Status counter samples expire once no capture window can need them.
		TimeToLiveAttribute: jsii.String("expires"),
		RemovalPolicy:       removal,
		// Deleting the table deletes every capture and environment: not by mistake, unless
		// the stack is a throwaway one (removalPolicy=destroy).
		DeletionProtection: jsii.Bool(removal != awscdk.RemovalPolicy_DESTROY),
		PointInTimeRecoverySpecification: &awsdynamodb.PointInTimeRecoverySpecification{
			PointInTimeRecoveryEnabled: jsii.Bool(true),
		},
	})
	attrType := map[dynamo.KeyType]awsdynamodb.AttributeType{
		dynamo.StringType: awsdynamodb.AttributeType_STRING, dynamo.NumberType: awsdynamodb.AttributeType_NUMBER,
	}
	for _, idx := range store.Indexes { // the schema the store makes locally, declared once
		table.AddGlobalSecondaryIndex(&awsdynamodb.GlobalSecondaryIndexProps{
			IndexName:      jsii.String(idx.Name),
			PartitionKey:   &awsdynamodb.Attribute{Name: jsii.String(idx.HashKey), Type: attrType[idx.HashKeyType]},
			SortKey:        &awsdynamodb.Attribute{Name: jsii.String(idx.RangeKey), Type: attrType[idx.RangeKeyType]},
			ProjectionType: awsdynamodb.ProjectionType_ALL,
		})
	}

	key := awskms.NewKey(stack, jsii.String("PasswordKey"), &awskms.KeyProps{
		Description:       jsii.String("Seals MyCRT environments' database passwords"),
		EnableKeyRotation: jsii.Bool(true),
		RemovalPolicy:     removal,
	})
	// No one may give another principal the use of the key through a grant: only an AWS
	// service, for a resource of its own (none of the stack's functions makes grants).
	key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Effect:     awsiam.Effect_DENY,
		Principals: &[]awsiam.IPrincipal{awsiam.NewAnyPrincipal()},
		Actions:    jsii.Strings("kms:CreateGrant"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]any{"BoolIfExists": map[string]any{
			"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false",
		}},
	}), nil)

	bucket := awss3.NewBucket(stack, jsii.String("Workloads"), &awss3.BucketProps{
		BucketName:        workloadBucketName(stack),
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		EnforceSSL:        jsii.Bool(true),
		Versioned:         jsii.Bool(true),
		RemovalPolicy:     removal,
		// A throwaway stack empties the bucket, every version, as it goes: a bucket that
		// is not empty cannot be deleted.
		AutoDeleteObjects: jsii.Bool(removal == awscdk.RemovalPolicy_DESTROY),
		// Versioning keeps a deleted workload as a noncurrent version: kept 30 days to undo a
		// mistaken delete, then gone. A multipart upload a worker never finished goes after 7.
		// What a server's collection keeps (its sessions' databases) outlives the last capture
		// that recorded it; by age it goes, since a server being recorded rewrites it each tick.
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                                  jsii.String("ExpireDeletedAndAbandoned"),
			NoncurrentVersionExpiration:         awscdk.Duration_Days(jsii.Number(30)),
			AbortIncompleteMultipartUploadAfter: awscdk.Duration_Days(jsii.Number(7)),
		}, {
			Id:         jsii.String("ExpireCollectorFiles"),
			Prefix:     jsii.String(layout.CollectorsPrefix),
			Expiration: awscdk.Duration_Days(jsii.Number(layout.CollectorFilesLife.Hours() / 24)),
		}},
	})

	return data{table: table, key: key, bucket: bucket}
}

// workloadBucketName is the workload bucket's name, settled before the bucket exists so that
// the console's content security policy can name the bucket's host without referring to the
// bucket (which, by its CORS rule naming the distribution, would be a dependency cycle):
// mycrt-workloads-<the stack's UUID, from its id>, unique, kept for the stack's life, and
// naming no account in the download links the console is sent to.
func workloadBucketName(stack awscdk.Stack) *string {
	uuid := awscdk.Fn_Select(jsii.Number(2), awscdk.Fn_Split(jsii.String("/"), stack.StackId(), nil))
	return awscdk.Fn_Join(jsii.String(""), &[]*string{jsii.String("mycrt-workloads-"), uuid})
}
