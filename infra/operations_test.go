package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"

	"github.com/mycrt/captures/pkg/lambdas"
)

// synthWith synthesizes the app with the context an operator gives with -c.
func synthWith(t *testing.T, ctx map[string]any) assertions.Template {
	t.Helper()
	synth(t) // checks ../build and ../web/dist are there
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
	return assertions.Template_FromStack(NewApp(app, "../build", "../web/dist"), nil)
}

// idOf is the logical id CDK gave the resource made with construct id name: name and an
// 8-character hash.
func idOf(t *testing.T, tmpl assertions.Template, typ, name string) string {
	t.Helper()
	for id := range resources(tmpl, typ) {
		if strings.HasPrefix(id, name) && len(id) == len(name)+8 {
			return id
		}
	}
	t.Fatalf("no %s %s", typ, name)
	return ""
}

func props(r map[string]any) map[string]any { p, _ := r["Properties"].(map[string]any); return p }

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }

// TestAlarmsReachSomeone: every alarm notifies the one topic (when it fires and when it is
// over), and for every function in lambdas.All there are its Errors and Throttles alarms, a
// Duration alarm near its timeout if it asks for one, and for each asynchronous one its
// failure queue's depth and oldest-message alarms; the API has 5xx and p99 latency alarms;
// one dashboard shows them.
func TestAlarmsReachSomeone(t *testing.T) {
	_, tmpl := synth(t)
	check(t, "one topic", func() { tmpl.ResourceCountIs(jsii.String("AWS::SNS::Topic"), jsii.Number(1)) })
	check(t, "no subscription without alarmEmail", func() { tmpl.ResourceCountIs(jsii.String("AWS::SNS::Subscription"), jsii.Number(0)) })
	check(t, "the topic takes TLS only", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::SNS::TopicPolicy"), map[string]any{
			"PolicyDocument": assertions.Match_ObjectLike(&map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{
				assertions.Match_ObjectLike(&map[string]any{"Effect": "Deny", "Condition": map[string]any{"Bool": map[string]any{"aws:SecureTransport": "false"}}}),
			})}),
		})
	})
	topic := jsonOf(map[string]any{"Ref": idOf(t, tmpl, "AWS::SNS::Topic", "Alarms")})
	alarms := resources(tmpl, "AWS::CloudWatch::Alarm")
	byKey := map[string]map[string]any{} // "namespace metric dimension-value-json" → properties
	for id, a := range alarms {
		p := props(a)
		if jsonOf(p["AlarmActions"]) != "["+topic+"]" || jsonOf(p["OKActions"]) != "["+topic+"]" {
			t.Errorf("%s notifies %v / %v, want the topic %s", id, p["AlarmActions"], p["OKActions"], topic)
		}
		if p["TreatMissingData"] != "notBreaching" {
			t.Errorf("%s: no data is %v, want notBreaching (no traffic is no fault)", id, p["TreatMissingData"])
		}
		var dims []any
		if d, ok := p["Dimensions"].([]any); ok && len(d) == 1 {
			dims = d
		}
		if len(dims) != 1 {
			t.Errorf("%s: dimensions %v, want one", id, p["Dimensions"])
			continue
		}
		byKey[fmt.Sprint(p["Namespace"], " ", p["MetricName"], " ", jsonOf(dims[0].(map[string]any)["Value"]))] = p
	}
	want := 0
	expect := func(what, key string, threshold float64, stat string) {
		t.Helper()
		want++
		p, ok := byKey[key]
		if !ok {
			t.Errorf("no alarm on %s (%s)", what, key)
			return
		}
		got := p["Statistic"]
		if got == nil {
			got = p["ExtendedStatistic"]
		}
		if p["Threshold"] != threshold || got != stat || p["ComparisonOperator"] != "GreaterThanOrEqualToThreshold" {
			t.Errorf("%s alarms at %s %v %v, want >= %v (%s)", what, p["ComparisonOperator"], p["Threshold"], got, threshold, stat)
		}
	}
	for _, f := range lambdas.All {
		fn := jsonOf(map[string]any{"Ref": idOf(t, tmpl, "AWS::Lambda::Function", lambdas.Pascal(f.Name))})
		expect(f.Name+" errors", "AWS/Lambda Errors "+fn, 1, "Sum")
		expect(f.Name+" throttles", "AWS/Lambda Throttles "+fn, 1, "Sum")
		if f.WatchDuration {
			expect(f.Name+" duration", "AWS/Lambda Duration "+fn, 0.8*float64(f.Timeout)*1000, "Maximum")
		}
		if f.Async() {
			q := jsonOf(map[string]any{"Fn::GetAtt": []any{idOf(t, tmpl, "AWS::SQS::Queue", lambdas.Pascal(f.Name)+"Failures"), "QueueName"}})
			expect(f.Name+" failures", "AWS/SQS ApproximateNumberOfMessagesVisible "+q, 1, "Maximum")
			expect(f.Name+" failures' age", "AWS/SQS ApproximateAgeOfOldestMessage "+q, 7*24*3600, "Maximum")
		}
	}
	api := jsonOf(map[string]any{"Ref": idOf(t, tmpl, "AWS::ApiGatewayV2::Api", "Api")})
	expect("API 5xx", "AWS/ApiGateway 5xx "+api, 1, "Sum")
	expect("API latency", "AWS/ApiGateway Latency "+api, 3000, "p99")
	if len(alarms) != want {
		t.Errorf("%d alarms, want %d", len(alarms), want)
	}
	if p := byKey["AWS/ApiGateway Latency "+api]; p != nil && p["EvaluationPeriods"] != float64(3) {
		t.Errorf("latency alarm over %v periods, want 3 (15 minutes)", p["EvaluationPeriods"])
	}
	check(t, "one dashboard", func() { tmpl.ResourceCountIs(jsii.String("AWS::CloudWatch::Dashboard"), jsii.Number(1)) })
	for _, out := range []string{"AlarmTopicArn", "DashboardUrl"} {
		check(t, "output "+out, func() { tmpl.HasOutput(jsii.String(out), map[string]any{}) })
	}
}

// TestAsynchronousPaths: every function something invokes asynchronously (named in another's
// WORKER_FUNCTION, or an EventBridge rule's target) has its retries, maximum event age and
// on-failure queue as lambdas.All declares them, and EventBridge's target has a retry policy
// and that queue as its dead-letter queue.
func TestAsynchronousPaths(t *testing.T) {
	_, tmpl := synth(t)
	fnIDs := map[string]lambdas.Spec{}
	for _, f := range lambdas.All {
		fnIDs[idOf(t, tmpl, "AWS::Lambda::Function", lambdas.Pascal(f.Name))] = f
	}
	invokeConfigs := map[string]map[string]any{}
	for _, c := range resources(tmpl, "AWS::Lambda::EventInvokeConfig") {
		ref, _ := props(c)["FunctionName"].(map[string]any)["Ref"].(string)
		invokeConfigs[ref] = props(c)
	}
	invoked := map[string]bool{}
	for _, fn := range resources(tmpl, "AWS::Lambda::Function") {
		vars, _ := props(fn)["Environment"].(map[string]any)["Variables"].(map[string]any)
		if ref, ok := vars["WORKER_FUNCTION"].(map[string]any); ok {
			invoked[ref["Ref"].(string)] = true
		}
		if _, ok := vars["REPLAYER_FUNCTION"]; ok { // by its physical name (it invokes itself)
			invoked[idOf(t, tmpl, "AWS::Lambda::Function", lambdas.Pascal(lambdas.Replayer))] = true
		}
	}
	for _, rule := range resources(tmpl, "AWS::Events::Rule") {
		for _, target := range props(rule)["Targets"].([]any) {
			tg := target.(map[string]any)
			fn := tg["Arn"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
			invoked[fn] = true
			q := idOf(t, tmpl, "AWS::SQS::Queue", lambdas.Pascal(fnIDs[fn].Name)+"Failures")
			if jsonOf(tg["DeadLetterConfig"]) != jsonOf(map[string]any{"Arn": map[string]any{"Fn::GetAtt": []any{q, "Arn"}}}) {
				t.Errorf("rule target %s: dead-letter queue %v, want %s", fn, tg["DeadLetterConfig"], q)
			}
			if jsonOf(tg["RetryPolicy"]) != `{"MaximumEventAgeInSeconds":60,"MaximumRetryAttempts":2}` {
				t.Errorf("rule target %s: retry policy %v", fn, tg["RetryPolicy"])
			}
		}
	}
	if len(invoked) < 2 {
		t.Fatalf("asynchronously invoked: %v, want the worker and the scheduler at least", invoked)
	}
	for id := range invoked {
		f := fnIDs[id]
		c := invokeConfigs[id]
		if !f.Async() || c == nil {
			t.Errorf("%s is invoked asynchronously but declares no MaxEventAge (%v) or has no invoke config", id, f.MaxEventAge)
			continue
		}
		q := idOf(t, tmpl, "AWS::SQS::Queue", lambdas.Pascal(f.Name)+"Failures")
		if c["MaximumRetryAttempts"] != float64(f.Retries) || c["MaximumEventAgeInSeconds"] != float64(f.MaxEventAge) ||
			jsonOf(c["DestinationConfig"]) != jsonOf(map[string]any{"OnFailure": map[string]any{"Destination": map[string]any{"Fn::GetAtt": []any{q, "Arn"}}}}) {
			t.Errorf("%s: %v, want %d retries, %d s, on failure %s", f.Name, c, f.Retries, f.MaxEventAge, q)
		}
	}
	if len(invokeConfigs) != len(invoked) {
		t.Errorf("%d invoke configs for %d asynchronously invoked functions", len(invokeConfigs), len(invoked))
	}
}

// TestLimits: the stage throttles every route; the functions that declare reserved
// concurrency have it and no other does; without a custom domain the execute-api endpoint
// stays, since it is the distribution's way to the API.
func TestLimits(t *testing.T) {
	_, tmpl := synth(t)
	check(t, "stage throttle", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Stage"), map[string]any{
			"DefaultRouteSettings": map[string]any{"ThrottlingRateLimit": defaultAPIRate, "ThrottlingBurstLimit": defaultAPIBurst},
		})
	})
	reserved := 0
	for _, f := range lambdas.All {
		p := props(resources(tmpl, "AWS::Lambda::Function")[idOf(t, tmpl, "AWS::Lambda::Function", lambdas.Pascal(f.Name))])
		got, ok := p["ReservedConcurrentExecutions"]
		if f.Concurrency > 0 {
			reserved++
		}
		if (f.Concurrency > 0) != ok || (ok && got != float64(f.Concurrency)) {
			t.Errorf("%s: reserved concurrency %v, want %d", f.Name, got, f.Concurrency)
		}
	}
	if w, _ := lambdas.Named(lambdas.Worker); w.Concurrency == 0 || reserved == 0 {
		t.Error("the worker reserves no concurrency: its fan-out onto databases is unbounded")
	}
	check(t, "execute-api endpoint kept without a custom domain", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::ApiGatewayV2::Api"), map[string]any{"DisableExecuteApiEndpoint": assertions.Match_Absent()})
	})
}

// TestTracingRetentionProtection: X-Ray active on every function of the service; every log
// group, CDK's BucketDeployment's included, kept logRetentionDays (90 by default) and every
// function logging to one of them; the table and the user pool protected from deletion, the
// table encrypted with KMS, and the password key letting no one create grants but AWS services.
func TestTracingRetentionProtection(t *testing.T) {
	_, tmpl := synth(t)
	groups := resources(tmpl, "AWS::Logs::LogGroup")
	for id, g := range groups {
		if props(g)["RetentionInDays"] != float64(defaultLogRetentionDays) {
			t.Errorf("log group %s kept %v days, want %d", id, props(g)["RetentionInDays"], defaultLogRetentionDays)
		}
	}
	for id, fn := range resources(tmpl, "AWS::Lambda::Function") {
		p := props(fn)
		lc, _ := p["LoggingConfig"].(map[string]any)
		ref, _ := lc["LogGroup"].(map[string]any)["Ref"].(string)
		if _, ok := groups[ref]; !ok {
			t.Errorf("%s logs to %v, not a log group of the stack (Lambda would make one that never expires)", id, lc["LogGroup"])
		}
		if !cdkFunction(id) && jsonOf(p["TracingConfig"]) != `{"Mode":"Active"}` {
			t.Errorf("%s: tracing %v, want Active", id, p["TracingConfig"])
		}
	}
	check(t, "the table", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::DynamoDB::Table"), map[string]any{
			"DeletionProtectionEnabled": true, "SSESpecification": map[string]any{"SSEEnabled": true},
		})
	})
	check(t, "the user pool", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::Cognito::UserPool"), map[string]any{"DeletionProtection": "ACTIVE"})
	})
	check(t, "grants on the password key are for AWS services only", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::KMS::Key"), map[string]any{
			"KeyPolicy": assertions.Match_ObjectLike(&map[string]any{"Statement": assertions.Match_ArrayWith(&[]any{map[string]any{
				"Effect": "Deny", "Action": "kms:CreateGrant", "Principal": map[string]any{"AWS": "*"}, "Resource": "*",
				"Condition": map[string]any{"BoolIfExists": map[string]any{"kms:GrantIsForAWSResource": "false", "aws:PrincipalIsAWSService": "false"}},
			}})}),
		})
	})
}
