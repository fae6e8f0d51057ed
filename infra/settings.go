package main

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/mycrt/captures/pkg/lambdas"
)

// settings are the operator's choices, from CDK context (`-c key=value`), with their defaults.
type settings struct {
	logRetentionDays  int    // logRetentionDays: every log group's, 90 days
	apiRate, apiBurst int    // apiRateLimit, apiBurstLimit: the stage's throttle, requests/s
	alarmEmail        string // alarmEmail: subscribed to the alarm topic; none by default
	// apiDomainName and apiCertificateArn: a custom domain for the API (a regional ACM
	// certificate for it in the stack's region); the execute-api endpoint is then disabled.
	apiDomain, apiCertificate string
	concurrency               map[string]int // <function>Concurrency: reserved concurrency
}

// Defaults of the settings that have one.
const (
	defaultLogRetentionDays = 90
	defaultAPIRate          = 50
	defaultAPIBurst         = 100
)

// retentionDays are the values CloudWatch Logs accepts for a log group's retention.
var retentionDays = []int{1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653}

// readSettings reads the context; a value that does not parse or is out of range stops the
// synthesis with a message naming the key.
func readSettings(scope constructs.Construct) settings {
	s := settings{
		logRetentionDays: contextInt(scope, "logRetentionDays", defaultLogRetentionDays),
		apiRate:          contextInt(scope, "apiRateLimit", defaultAPIRate),
		apiBurst:         contextInt(scope, "apiBurstLimit", defaultAPIBurst),
		alarmEmail:       contextString(scope, "alarmEmail"),
		apiDomain:        contextString(scope, "apiDomainName"),
		apiCertificate:   contextString(scope, "apiCertificateArn"),
		concurrency:      map[string]int{},
	}
	if !slices.Contains(retentionDays, s.logRetentionDays) {
		panic(fmt.Sprintf("context logRetentionDays: %d is not one of CloudWatch's retention periods %v", s.logRetentionDays, retentionDays))
	}
	if s.apiRate < 1 || s.apiBurst < 1 {
		panic("context apiRateLimit and apiBurstLimit must be at least 1")
	}
	if s.alarmEmail != "" && !strings.Contains(s.alarmEmail, "@") {
		panic("context alarmEmail: " + strconv.Quote(s.alarmEmail) + " is not an email address")
	}
	if (s.apiDomain == "") != (s.apiCertificate == "") {
		panic("context apiDomainName and apiCertificateArn go together: the domain, and the ACM certificate for it")
	}
	for _, f := range lambdas.All {
		n := contextInt(scope, ConcurrencyKey(f.Name), f.Concurrency)
		if n < 0 {
			panic("context " + ConcurrencyKey(f.Name) + " must be 0 (no reservation) or more")
		}
		s.concurrency[f.Name] = n
	}
	return s
}

// ConcurrencyKey is the context key that sets a function's reserved concurrency:
// workerConcurrency for the worker.
func ConcurrencyKey(function string) string {
	p := lambdas.Pascal(function)
	return strings.ToLower(p[:1]) + p[1:] + "Concurrency"
}

func contextString(scope constructs.Construct, key string) string {
	s, _ := scope.Node().TryGetContext(jsii.String(key)).(string)
	return strings.TrimSpace(s)
}

// contextInt reads an integer from the context: a string from the command line, a number
// from cdk.json or a test.
func contextInt(scope constructs.Construct, key string, def int) int {
	switch v := scope.Node().TryGetContext(jsii.String(key)).(type) {
	case nil:
		return def
	case float64:
		if v == float64(int(v)) {
			return int(v)
		}
	case string:
		if n, err := strconv.Atoi(strings.TrimSpace(v)); err == nil {
			return n
		}
	}
	panic(fmt.Sprintf("context %s: %v is not a whole number", key, scope.Node().TryGetContext(jsii.String(key))))
}

// logGroup is a log group kept for the configured retention, deleted with the stack (what it
// holds is operational, and a retained group would block a redeploy under the same name).
func (s settings) logGroup(scope constructs.Construct, id string) awslogs.LogGroup {
	g := awslogs.NewLogGroup(scope, jsii.String(id), &awslogs.LogGroupProps{RemovalPolicy: awscdk.RemovalPolicy_DESTROY})
	g.Node().DefaultChild().(awslogs.CfnLogGroup).SetRetentionInDays(jsii.Number(s.logRetentionDays))
	return g
}
