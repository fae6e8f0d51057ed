package main

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/mycrt/captures/pkg/api"
)

// synth builds the app as `make synth` does, with the bootstraps `make build` left in ../build.
func synth(t *testing.T) (awscdk.Stack, assertions.Template) {
	t.Helper()
	if _, err := os.Stat("../build/worker/bootstrap"); err != nil {
		t.Fatal("no ../build: run the tests with `make test`, which builds the bootstraps first")
	}
	if _, err := os.Stat("../web/dist/index.html"); err != nil {
		t.Fatal("no ../web/dist: run the tests with `make test`, which builds the console first")
	}
	app := awscdk.NewApp(nil)
	stack := NewApp(app, "../build", "../web/dist")
	return stack, assertions.Template_FromStack(stack, nil)
}

// check runs a CDK assertion, which panics on failure, and turns its panic into a test failure.
func check(t *testing.T, what string, assert func()) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Errorf("%s: %v", what, p)
		}
	}()
	assert()
}

func resources(tmpl assertions.Template, typ string) map[string]map[string]any {
	out := map[string]map[string]any{}
	for id, r := range *tmpl.FindResources(jsii.String(typ), nil) {
		b, _ := json.Marshal(r)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		out[id] = m
	}
	return out
}

func TestStack(t *testing.T) {
	stack, tmpl := synth(t)
	nRoutes := 0
	for _, fn := range api.Functions() {
		nRoutes += len(fn.Routes)
	}
	for typ, n := range map[string]int{
		// Ours (+ worker, scheduler, replayer) and CDK's, which copies the console's files to its bucket.
		"AWS::Lambda::Function":         len(api.Functions()) + 3 + 1,
		"AWS::ApiGatewayV2::Route":      nRoutes,
		"AWS::ApiGatewayV2::Api":        1,
		"AWS::ApiGatewayV2::Authorizer": 1,
		"AWS::DynamoDB::Table":          1,
		"AWS::Events::Rule":             1,
		"AWS::S3::Bucket":               2, // workloads, console
		"AWS::Cognito::UserPool":        1,
		"AWS::KMS::Key":                 1,
		"AWS::SQS::Queue":               3, // the worker's, the scheduler's and the replayer's failures
		"AWS::SNS::Topic":               1,
	} {
		check(t, typ, func() { tmpl.ResourceCountIs(jsii.String(typ), jsii.Number(n)) })
	}

	for id, fn := range resources(tmpl, "AWS::Lambda::Function") {
		if cdkFunction(id) {
			continue
		}
		p := fn["Properties"].(map[string]any)
		if fmt.Sprint(p["Architectures"]) != "[arm64]" || p["Runtime"] != "provided.al2023" || p["Handler"] != "bootstrap" {
			t.Errorf("%s: %v %v %v, want arm64 provided.al2023 bootstrap", id, p["Architectures"], p["Runtime"], p["Handler"])
		}
		if lc, _ := p["LoggingConfig"].(map[string]any); lc["LogFormat"] != "JSON" {
			t.Errorf("%s logs %v, want JSON", id, lc)
		}
	}
	check(t, "scheduler timeout covers its in-minute waits", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
			"Description": "MyCRT Captures: scheduler", "Timeout": 90,
		})
	})

	for id, r := range resources(tmpl, "AWS::ApiGatewayV2::Route") {
		p := r["Properties"].(map[string]any)
		if p["AuthorizationType"] != "JWT" || p["AuthorizerId"] == nil {
			t.Errorf("route %s (%v) has no JWT authorizer", id, p["RouteKey"])
		}
	}
	for _, fn := range api.Functions() {
		for _, route := range fn.Patterns() {
			check(t, "route "+route, func() {
				tmpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Route"), map[string]any{"RouteKey": route})
			})
		}
	}
	check(t, "JWT authorizer", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Authorizer"), map[string]any{"AuthorizerType": "JWT"})
	})
	check(t, "$default stage with access logs", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), map[string]any{
			"StageName": "$default", "AutoDeploy": true, "AccessLogSettings": assertions.Match_ObjectLike(&map[string]any{"DestinationArn": assertions.Match_AnyValue()}),
		})
	})

	check(t, "table", func() {
		tmpl.HasResource(jsii.String("AWS::DynamoDB::Table"), map[string]any{
			"DeletionPolicy": "Retain",
			"Properties": map[string]any{
				"BillingMode": "PAY_PER_REQUEST",
				"KeySchema": []any{
					map[string]any{"AttributeName": "pk", "KeyType": "HASH"},
					map[string]any{"AttributeName": "sk", "KeyType": "RANGE"},
				},
				"PointInTimeRecoverySpecification": map[string]any{"PointInTimeRecoveryEnabled": true},
				"GlobalSecondaryIndexes": assertions.Match_ArrayWith(&[]any{
					map[string]any{"IndexName": "envCaptures", "Projection": map[string]any{"ProjectionType": "ALL"}, "KeySchema": []any{
						map[string]any{"AttributeName": "envId", "KeyType": "HASH"}, map[string]any{"AttributeName": "captureId", "KeyType": "RANGE"}}},
					map[string]any{"IndexName": "userEnvs", "Projection": map[string]any{"ProjectionType": "ALL"}, "KeySchema": []any{
						map[string]any{"AttributeName": "memberId", "KeyType": "HASH"}, map[string]any{"AttributeName": "envId", "KeyType": "RANGE"}}},
					map[string]any{"IndexName": "due", "Projection": map[string]any{"ProjectionType": "ALL"}, "KeySchema": []any{
						map[string]any{"AttributeName": "status", "KeyType": "HASH"}, map[string]any{"AttributeName": "dueAt", "KeyType": "RANGE"}}},
				}),
			},
		})
	})

	check(t, "every-minute rule targets the scheduler", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Events::Rule"), map[string]any{
			"ScheduleExpression": "rate(1 minute)",
			"State":              "ENABLED",
			"Targets": []any{assertions.Match_ObjectLike(&map[string]any{
				"Arn": map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^Scheduler")), "Arn"}},
			})},
		})
	})

	check(t, "bucket", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::S3::Bucket"), map[string]any{
			"PublicAccessBlockConfiguration": map[string]any{
				"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true,
			},
			"BucketEncryption": assertions.Match_ObjectLike(&map[string]any{"ServerSideEncryptionConfiguration": assertions.Match_AnyValue()}),
		})
		tmpl.HasResourceProperties(jsii.String("AWS::S3::BucketPolicy"), map[string]any{
			"PolicyDocument": assertions.Match_ObjectLike(&map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{"Effect": "Deny", "Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}}),
			})}),
		})
	})

	check(t, "counter samples expire by TTL", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), map[string]any{
			"TimeToLiveSpecification": map[string]any{"AttributeName": "expires", "Enabled": true},
		})
	})
	check(t, "worker spools in 2 GB of /tmp", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
			"Description": "MyCRT Captures: worker", "EphemeralStorage": map[string]any{"Size": 2048},
		})
	})
	check(t, "the worker changes only parameter groups tagged for it", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::IAM::Policy"), map[string]any{
			"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{
					"Action":    []any{"rds:ModifyDBParameterGroup", "rds:ResetDBParameterGroup"},
					"Condition": map[string]any{"StringEquals": map[string]any{"aws:ResourceTag/" + ParameterGroupTag: ParameterGroupTagValue}},
				}),
			})},
		})
		for id, pol := range resources(tmpl, "AWS::IAM::Policy") {
			for _, st := range pol["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)["Statement"].([]any) {
				s := st.(map[string]any)
				if slices.Contains(asList(s["Action"]), "rds:ModifyDBParameterGroup") && s["Condition"] == nil {
					t.Errorf("%s may modify any parameter group", id)
				}
			}
		}
	})
	check(t, "the replayer: its own physical name, a full vCPU, 2 GB of /tmp, 15 minutes", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), map[string]any{
			"FunctionName": assertions.Match_StringLikeRegexp(jsii.String("^MycrtCaptures-replayer$")),
			"MemorySize":   1769, "EphemeralStorage": map[string]any{"Size": 2048}, "Timeout": 900,
		})
	})
	check(t, "failed worker invocations go to an alarmed queue", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Lambda::EventInvokeConfig"), map[string]any{
			"DestinationConfig": map[string]any{"OnFailure": map[string]any{
				"Destination": map[string]any{"Fn::GetAtt": assertions.Match_ArrayWith(&[]any{assertions.Match_StringLikeRegexp(jsii.String("^WorkerFailures"))})},
			}},
		})
		tmpl.HasResourceProperties(jsii.String("AWS::CloudWatch::Alarm"), map[string]any{
			"MetricName": "ApproximateNumberOfMessagesVisible", "Threshold": 1,
		})
	})
	check(t, "the bucket expires deleted versions and abandoned uploads", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::S3::Bucket"), map[string]any{
			"LifecycleConfiguration": map[string]any{"Rules": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{
					"NoncurrentVersionExpiration":    map[string]any{"NoncurrentDays": 30},
					"AbortIncompleteMultipartUpload": map[string]any{"DaysAfterInitiation": 7},
					"Status":                         "Enabled",
				}),
			})},
		})
	})
	check(t, "the bucket expires collections' files of servers no longer recorded, after any capture's life", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::S3::Bucket"), map[string]any{
			"LifecycleConfiguration": map[string]any{"Rules": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{
					"Prefix": "collectors/", "ExpirationInDays": 45, "Status": "Enabled",
				}),
			})},
		})
	})
	check(t, "the environments function may only describe RDS instances", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::IAM::Policy"), map[string]any{
			"PolicyDocument": map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{"Action": "rds:DescribeDBInstances", "Effect": "Allow"}),
			})},
			"Roles": assertions.Match_ArrayWith(&[]any{map[string]any{"Ref": assertions.Match_StringLikeRegexp(jsii.String("^EnvironmentsServiceRole"))}}),
		})
	})

	for _, out := range []string{"ApiUrl", "UserPoolId", "UserPoolClientId", "BucketName", "WorkerFailuresQueueUrl", "SchedulerFailuresQueueUrl", "ReplayerFailuresQueueUrl"} {
		check(t, "output "+out, func() { tmpl.HasOutput(jsii.String(out), map[string]any{}) })
	}

	check(t, "cdk-nag finds no error", func() {
		assertions.Annotations_FromStack(stack).HasNoError(jsii.String("*"), assertions.Match_AnyValue())
	})
}

// TestSite: the console is a private bucket behind CloudFront with origin access control, the
// API is under /api/* of the same distribution (never cached, every method, the caller's
// headers but Host), people sign in through the Cognito Hosted UI with the code grant (a
// public client, so PKCE, whose refresh tokens can be revoked), the console's policy names the
// exact hosts it talks to, and the stack says where the console and sign-in are.
func TestSite(t *testing.T) {
	_, tmpl := synth(t)
	check(t, "console bucket private", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::S3::Bucket"), map[string]any{
			"PublicAccessBlockConfiguration": map[string]any{"BlockPublicAcls": true, "BlockPublicPolicy": true, "IgnorePublicAcls": true, "RestrictPublicBuckets": true},
			"WebsiteConfiguration":           assertions.Match_Absent(),
		})
	})
	check(t, "origin access control", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::CloudFront::OriginAccessControl"), map[string]any{
			"OriginAccessControlConfig": assertions.Match_ObjectLike(&map[string]any{"OriginAccessControlOriginType": "s3", "SigningBehavior": "always"}),
		})
	})
	check(t, "only CloudFront reads the console bucket", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::S3::BucketPolicy"), map[string]any{
			"PolicyDocument": assertions.Match_ObjectLike(&map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{"Action": "s3:GetObject", "Principal": map[string]any{"Service": "cloudfront.amazonaws.com"}}),
			})}),
		})
	})
	const cachingDisabled, allViewerExceptHost = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad", "b689b0a8-53d0-40ab-baf2-68738e2966ac"
	check(t, "distribution", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::CloudFront::Distribution"), map[string]any{
			"DistributionConfig": assertions.Match_ObjectLike(&map[string]any{
				"DefaultRootObject":    "index.html",
				"DefaultCacheBehavior": assertions.Match_ObjectLike(&map[string]any{"ViewerProtocolPolicy": "redirect-to-https"}),
				"CacheBehaviors": []any{assertions.Match_ObjectLike(&map[string]any{
					"PathPattern":           "/api/*",
					"AllowedMethods":        []any{"GET", "HEAD", "OPTIONS", "PUT", "PATCH", "POST", "DELETE"},
					"CachePolicyId":         cachingDisabled,
					"OriginRequestPolicyId": allViewerExceptHost,
					"ViewerProtocolPolicy":  "https-only",
				})},
			}),
		})
	})
	checkConsoleCSP(t, tmpl)
	check(t, "the workload bucket lets the console read downloads", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::S3::Bucket"), map[string]any{
			"CorsConfiguration": map[string]any{"CorsRules": []any{assertions.Match_ObjectLike(&map[string]any{
				"AllowedMethods": []any{"GET", "HEAD"},
				"AllowedOrigins": []any{map[string]any{"Fn::Join": []any{"", []any{"https://", map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^Site")), "DomainName"}}}}}},
			})}},
		})
	})
	check(t, "Hosted UI domain", func() { tmpl.ResourceCountIs(jsii.String("AWS::Cognito::UserPoolDomain"), jsii.Number(1)) })
	check(t, "public client with the code grant, called back at the console and the CLI", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Cognito::UserPoolClient"), map[string]any{
			"AllowedOAuthFlows":               []any{"code"},
			"AllowedOAuthFlowsUserPoolClient": true,
			"GenerateSecret":                  false,
			"AllowedOAuthScopes":              assertions.Match_ArrayWith(&[]any{"openid"}),
			"CallbackURLs": []any{
				map[string]any{"Fn::Join": []any{"", assertions.Match_ArrayWith(&[]any{map[string]any{"Fn::GetAtt": []any{assertions.Match_StringLikeRegexp(jsii.String("^Site")), "DomainName"}}})}},
				CLICallback,
			},
		})
	})
	for _, out := range []string{"ConsoleUrl", "SignInUrl", "ApiUrl"} {
		check(t, "output "+out, func() { tmpl.HasOutput(jsii.String(out), map[string]any{}) })
	}
}
