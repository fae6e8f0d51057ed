package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/mycrt/captures/pkg/lambdas"
)

// TestOperatorSettings: what an operator sets with -c reaches the template: the alarm email
// is subscribed, every log group keeps the retention asked for, the stage the throttle,
// workerConcurrency=0 and replayerConcurrency=0 reserve nothing, a throwaway stack protects nothing from deletion, and
// a custom API domain disables the execute-api endpoint and becomes the distribution's origin
// and the ApiUrl.
func TestOperatorSettings(t *testing.T) {
	tmpl := synthWith(t, map[string]any{
		"alarmEmail": "dba@example.com", "logRetentionDays": "365", "apiRateLimit": "5", "apiBurstLimit": "10",
		ConcurrencyKey(lambdas.Worker): "0", ConcurrencyKey(lambdas.Replayer): "0", "removalPolicy": "destroy",
		"apiDomainName": "api.mycrt.example.com", "apiCertificateArn": "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000",
	})
	check(t, "email subscription", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::SNS::Subscription"), map[string]any{"Protocol": "email", "Endpoint": "dba@example.com"})
	})
	for id, g := range resources(tmpl, "AWS::Logs::LogGroup") {
		if props(g)["RetentionInDays"] != float64(365) {
			t.Errorf("log group %s kept %v days, want 365", id, props(g)["RetentionInDays"])
		}
	}
	check(t, "stage throttle", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), map[string]any{
			"DefaultRouteSettings": map[string]any{"ThrottlingRateLimit": 5, "ThrottlingBurstLimit": 10},
		})
	})
	for id, fn := range resources(tmpl, "AWS::Lambda::Function") {
		if v, ok := props(fn)["ReservedConcurrentExecutions"]; ok {
			t.Errorf("%s reserves %v with workerConcurrency=0", id, v)
		}
	}
	check(t, "throwaway table", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), map[string]any{"DeletionProtectionEnabled": false})
	})
	check(t, "throwaway buckets are emptied as they go", func() {
		tmpl.ResourceCountIs(jsii.String("Custom::S3AutoDeleteObjects"), jsii.Number(2))
	})
	check(t, "throwaway pool", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Cognito::UserPool"), map[string]any{"DeletionProtection": "INACTIVE"})
	})
	check(t, "custom domain", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::DomainName"), map[string]any{
			"DomainName":               "api.mycrt.example.com",
			"DomainNameConfigurations": []any{assertions.Match_ObjectLike(&map[string]any{"EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2"})},
		})
		tmpl.ResourceCountIs(jsii.String("AWS::ApiGatewayV2::ApiMapping"), jsii.Number(1))
		tmpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Api"), map[string]any{"DisableExecuteApiEndpoint": true})
		tmpl.HasResourceProperties(jsii.String("AWS::CloudFront::Distribution"), map[string]any{
			"DistributionConfig": assertions.Match_ObjectLike(&map[string]any{"Origins": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{"DomainName": "api.mycrt.example.com"}),
			})}),
		})
		tmpl.HasOutput(jsii.String("ApiUrl"), map[string]any{"Value": "https://api.mycrt.example.com"})
		tmpl.HasOutput(jsii.String("ApiDomainTarget"), map[string]any{})
	})
}

// TestBadSettingsStopTheSynthesis: a setting that cannot be right fails before anything is
// deployed, with a message naming it.
func TestBadSettingsStopTheSynthesis(t *testing.T) {
	for _, tc := range []struct {
		ctx  map[string]any
		want string
	}{
		{map[string]any{"logRetentionDays": "45"}, "logRetentionDays"},
		{map[string]any{"logRetentionDays": "ninety"}, "logRetentionDays"},
		{map[string]any{"apiRateLimit": "0"}, "apiRateLimit"},
		{map[string]any{"alarmEmail": "dba"}, "alarmEmail"},
		{map[string]any{ConcurrencyKey(lambdas.Worker): "-1"}, "workerConcurrency"},
		{map[string]any{"apiDomainName": "api.example.com"}, "apiCertificateArn"},
	} {
		t.Run(fmt.Sprint(tc.ctx), func(t *testing.T) {
			defer func() {
				p := recover()
				if p == nil || !strings.Contains(fmt.Sprint(p), tc.want) {
					t.Errorf("synthesis went on or said %v, want a message naming %s", p, tc.want)
				}
			}()
			app := awscdk.NewApp(&awscdk.AppProps{Context: &tc.ctx})
			readSettings(awscdk.NewStack(app, jsii.String("S"), nil))
		})
	}
}
