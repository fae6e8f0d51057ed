package main

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscognito"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsdynamodb"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdadestinations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/lambdas"
)

// StackProps configures the stack; everything else comes from CDK context.
type StackProps struct {
	awscdk.StackProps
	// AssetsDir holds one folder per function with its bootstrap, as `make build` leaves them.
	AssetsDir string
	// WebDir holds the built web console, as `make web` leaves it; none when empty.
	WebDir string
}

// ParameterGroupTag is the tag an operator puts on an RDS parameter group, with value
// ParameterGroupTagValue, to let the worker switch its general log; the worker may change no
// other group.
const (
	ParameterGroupTag      = "mycrt-captures"
	ParameterGroupTagValue = "general-log"
)

// NewStack defines the whole service: the HTTP API with its Cognito JWT authorizer, one Lambda
// per route set, the worker and its every-minute scheduler, the table, the workload bucket and
// the key that seals database passwords. nil props means the defaults.
func NewStack(scope constructs.Construct, id string, props *StackProps) awscdk.Stack {
	if props == nil {
		props = &StackProps{}
	}
	stack := awscdk.NewStack(scope, &id, &props.StackProps)
	removal := awscdk.RemovalPolicy_RETAIN
	if ctx, _ := stack.Node().TryGetContext(jsii.String("removalPolicy")).(string); ctx == "destroy" {
		removal = awscdk.RemovalPolicy_DESTROY
	}
	s := readSettings(stack)
	d := newData(stack, removal)
	fns := functions{stack: stack, table: d.table, assets: props.AssetsDir, vpc: vpcPlacement(stack), cidrs: allowedDatabaseCIDRs(stack),
		settings: s, made: map[string]awslambda.Function{}, failures: map[string]awssqs.Queue{}}
	replayer := newReplayer(stack, d, fns)
	worker := newWorker(stack, d, fns, replayer)
	newScheduler(stack, d, fns, worker, replayer)
	httpAPI, pool, client := newAPI(stack, d, fns, worker, removal)
	if props.WebDir != "" {
		newSite(stack, s, props.WebDir, d.bucket, httpAPI, pool, client, removal)
	}
	newOperations(stack, s, fns, httpAPI)
	awscdk.NewCfnOutput(stack, jsii.String("BucketName"), &awscdk.CfnOutputProps{Value: d.bucket.BucketName()})
	return stack
}

// functions makes the stack's Lambda functions, each with what all of them get.
type functions struct {
	stack  awscdk.Stack
	table  awsdynamodb.Table
	assets string // one folder per function with its bootstrap
	vpc    placement
	cidrs  string
	settings
	made     map[string]awslambda.Function // by name, as they are made
	failures map[string]awssqs.Queue       // the asynchronous functions' failure queues, by name
}

func (f functions) new(name string, timeout float64, env map[string]*string) awslambda.Function {
	spec, ok := lambdas.Named(name)
	if !ok {
		panic("function " + name + " is not in lambdas.All")
	}
	env[lambdas.EnvTable] = f.table.TableName()
	if f.cidrs != "" && spec.ChecksHosts {
		// Those that check database hosts: when environments are written, and when the
		// worker connects.
		env[lambdas.EnvAllowedCIDRs] = jsii.String(f.cidrs)
	}
	var reserved *float64
	if n := f.concurrency[name]; n > 0 {
		reserved = jsii.Number(n)
	}
	fn := awslambda.NewFunction(f.stack, jsii.String(lambdas.Pascal(name)), &awslambda.FunctionProps{
		Runtime:                      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture:                 awslambda.Architecture_ARM_64(),
		Handler:                      jsii.String("bootstrap"),
		Code:                         awslambda.Code_FromAsset(jsii.String(f.assets+"/"+name), nil),
		MemorySize:                   jsii.Number(256),
		Timeout:                      awscdk.Duration_Seconds(jsii.Number(timeout)),
		LoggingFormat:                awslambda.LoggingFormat_JSON,
		Tracing:                      awslambda.Tracing_ACTIVE,
		ReservedConcurrentExecutions: reserved,
		Environment:                  &env,
		Description:                  jsii.String("MyCRT Captures: " + name),
		LogGroup:                     f.logGroup(f.stack, lambdas.Pascal(name)+"Logs"),
		Vpc:                          f.vpc.vpc,
		VpcSubnets:                   f.vpc.subnets,
		SecurityGroups:               f.vpc.groups,
	})
	if spec.Async() {
		f.failures[name] = onFailure(f.stack, fn, spec)
	}
	f.made[name] = fn
	return fn
}

// onFailure configures an asynchronously invoked function's retries and maximum event age,
// and the queue where an invocation that failed them all, or expired, is kept for an operator
// (alarmed by newOperations): the scheduler's sweeps redo lost work, but someone should know.
func onFailure(stack awscdk.Stack, fn awslambda.Function, spec lambdas.Spec) awssqs.Queue {
	name := lambdas.Pascal(spec.Name) + "Failures"
	q := awssqs.NewQueue(stack, jsii.String(name), &awssqs.QueueProps{
		Encryption:      awssqs.QueueEncryption_SQS_MANAGED,
		EnforceSSL:      jsii.Bool(true),
		RetentionPeriod: awscdk.Duration_Days(jsii.Number(14)),
	})
	fn.ConfigureAsyncInvoke(&awslambda.EventInvokeConfigOptions{
		OnFailure:     awslambdadestinations.NewSqsDestination(q),
		RetryAttempts: jsii.Number(spec.Retries),
		MaxEventAge:   awscdk.Duration_Seconds(jsii.Number(spec.MaxEventAge)),
	})
	awscdk.NewCfnOutput(stack, jsii.String(name+"QueueUrl"), &awscdk.CfnOutputProps{Value: q.QueueUrl()})
	return q
}

// replayer names the replayer function, which invokes itself: its own name and ARN from the
// stack's, so that neither its environment nor its role refers to the function itself (which
// CloudFormation would find circular).
type replayer struct{ name, arn *string }

// newReplayer is the replayer, with its grants, its physical name, and what catches its failed
// invocations.
func newReplayer(stack awscdk.Stack, d data, fns functions) replayer {
	name := awscdk.Fn_Join(jsii.String("-"), &[]*string{stack.StackName(), jsii.String(lambdas.Replayer)})
	r := replayer{name: name, arn: stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("lambda"), Resource: jsii.String("function"), ResourceName: name,
		ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})}
	fn := fns.new(lambdas.Replayer, float64(timeout(lambdas.Replayer)), map[string]*string{
		lambdas.EnvKey: d.key.KeyArn(), lambdas.EnvBucket: d.bucket.BucketName(), lambdas.EnvReplayer: r.name,
	})
	cfn := fn.Node().DefaultChild().(awslambda.CfnFunction)
	cfn.SetFunctionName(r.name)
	// A full vCPU keeps statements on schedule; outcomes are spooled in /tmp before upload.
	cfn.SetMemorySize(jsii.Number(1769))
	cfn.SetEphemeralStorage(&awslambda.CfnFunction_EphemeralStorageProperty{Size: jsii.Number(2048)})
	d.grant(fn, lambdas.Replayer)
	r.grantInvoke(fn)
	return r
}

// grantInvoke lets fn hand shard runs to the replayer.
func (r replayer) grantInvoke(fn awslambda.Function) {
	fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("lambda:InvokeFunction"), Resources: &[]*string{r.arn},
	}))
}

// newWorker is the worker, with its grants and what catches its failed invocations.
func newWorker(stack awscdk.Stack, d data, fns functions, replayer replayer) awslambda.Function {
	worker := fns.new(lambdas.Worker, float64(timeout(lambdas.Worker)), map[string]*string{
		lambdas.EnvKey: d.key.KeyArn(), lambdas.EnvBucket: d.bucket.BucketName(), lambdas.EnvReplayer: replayer.name,
	})
	d.grant(worker, lambdas.Worker)
	replayer.grantInvoke(worker)
	// Fragments and workload files are spooled in /tmp before upload.
	worker.Node().DefaultChild().(awslambda.CfnFunction).SetEphemeralStorage(
		&awslambda.CfnFunction_EphemeralStorageProperty{Size: jsii.Number(2048)})
	worker.AddToRolePolicy(getMetricData())
	// Turning the general log on and off for RDS environments: parameter groups only, and of
	// those only the ones the operator tagged for this tool, so no environment can name
	// another team's group and have it changed.
	parameterGroups := &[]*string{stack.FormatArn(&awscdk.ArnComponents{
		Service: jsii.String("rds"), Resource: jsii.String("pg"), ResourceName: jsii.String("*"),
		ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
	})}
	worker.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings("rds:ModifyDBParameterGroup", "rds:ResetDBParameterGroup"),
		Resources: parameterGroups,
		Conditions: &map[string]any{
			"StringEquals": map[string]any{"aws:ResourceTag/" + ParameterGroupTag: ParameterGroupTagValue},
		},
	}))
	worker.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("rds:DescribeDBParameters"), Resources: parameterGroups,
	}))
	return worker
}

// newScheduler is the scheduler and the rule that runs it every minute.
func newScheduler(stack awscdk.Stack, d data, fns functions, worker awslambda.Function, replayer replayer) {
	scheduler := fns.new(lambdas.Scheduler, float64(timeout(lambdas.Scheduler)), map[string]*string{
		lambdas.EnvWorker: worker.FunctionName(), lambdas.EnvReplayer: replayer.name,
	})
	d.grant(scheduler, lambdas.Scheduler)
	worker.GrantInvoke(scheduler)
	replayer.grantInvoke(scheduler)
	// A tick EventBridge cannot deliver (throttled, or the function missing) is retried for a
	// minute and then kept in the scheduler's failure queue, beside the invocations that failed.
	awsevents.NewRule(stack, jsii.String("Tick"), &awsevents.RuleProps{
		Description: jsii.String("Runs the MyCRT scheduler every minute"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Minutes(jsii.Number(1))),
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(scheduler, &awseventstargets.LambdaFunctionProps{
			DeadLetterQueue: fns.failures[lambdas.Scheduler],
			MaxEventAge:     awscdk.Duration_Seconds(jsii.Number(tickMaxAge)),
			RetryAttempts:   jsii.Number(tickRetries),
		})},
	})
}

// How long EventBridge keeps trying to deliver a tick: past a minute the next tick does its
// work.
const (
	tickMaxAge  = 60
	tickRetries = 2
)

// newAPI is the HTTP API, its user pool, and one function per route set with its grants.
func newAPI(stack awscdk.Stack, d data, fns functions, worker awslambda.Function, removal awscdk.RemovalPolicy) (awsapigatewayv2.HttpApi, awscognito.UserPool, awscognito.UserPoolClient) {
	pool := awscognito.NewUserPool(stack, jsii.String("Users"), &awscognito.UserPoolProps{
		SelfSignUpEnabled: jsii.Bool(false),
		SignInAliases:     &awscognito.SignInAliases{Username: jsii.Bool(true), Email: jsii.Bool(true)},
		PasswordPolicy: &awscognito.PasswordPolicy{
			MinLength: jsii.Number(12), RequireDigits: jsii.Bool(true), RequireLowercase: jsii.Bool(true),
			RequireUppercase: jsii.Bool(true), RequireSymbols: jsii.Bool(true),
		},
		Mfa:                          awscognito.Mfa_REQUIRED,
		MfaSecondFactor:              &awscognito.MfaSecondFactor{Otp: jsii.Bool(true), Sms: jsii.Bool(false)},
		FeaturePlan:                  awscognito.FeaturePlan_PLUS,
		StandardThreatProtectionMode: awscognito.StandardThreatProtectionMode_FULL_FUNCTION,
		AccountRecovery:              awscognito.AccountRecovery_EMAIL_ONLY,
		RemovalPolicy:                removal,
		// Deleting the pool deletes every user: not by mistake, unless the stack is a
		// throwaway one (removalPolicy=destroy).
		DeletionProtection: jsii.Bool(removal != awscdk.RemovalPolicy_DESTROY),
	})
	// A public client (no secret): the console and `mycrt login` sign in through the Hosted
	// UI with the authorization code grant and PKCE; their callbacks are set with the site.
	client := pool.AddClient(jsii.String("Client"), &awscognito.UserPoolClientOptions{
		AuthFlows:      &awscognito.AuthFlow{UserSrp: jsii.Bool(true)},
		GenerateSecret: jsii.Bool(false),
		OAuth: &awscognito.OAuthSettings{
			Flows:  &awscognito.OAuthFlows{AuthorizationCodeGrant: jsii.Bool(true)},
			Scopes: &[]awscognito.OAuthScope{awscognito.OAuthScope_OPENID(), awscognito.OAuthScope_EMAIL(), awscognito.OAuthScope_PROFILE()},
		},
		PreventUserExistenceErrors: jsii.Bool(true),
		IdTokenValidity:            awscdk.Duration_Hours(jsii.Number(1)),
		AccessTokenValidity:        awscdk.Duration_Hours(jsii.Number(1)),
		RefreshTokenValidity:       awscdk.Duration_Days(jsii.Number(30)),
	})

	d.pool = pool
	accessLogs := fns.logGroup(stack, "ApiAccessLogs")
	props := &awsapigatewayv2.HttpApiProps{
		ApiName:           jsii.String("mycrt-captures"),
		DefaultAuthorizer: awsapigatewayv2authorizers.NewHttpUserPoolAuthorizer(jsii.String("Cognito"), pool, &awsapigatewayv2authorizers.HttpUserPoolAuthorizerProps{UserPoolClients: &[]awscognito.IUserPoolClient{client}}),
	}
	apiURL := customDomain(stack, fns.settings, props)
	httpAPI := awsapigatewayv2.NewHttpApi(stack, jsii.String("Api"), props)
	if apiURL == nil {
		apiURL = httpAPI.ApiEndpoint()
	}
	stage := httpAPI.DefaultStage().Node().DefaultChild().(awsapigatewayv2.CfnStage)
	// Every route's throttle (API Gateway answers 429 past it), well under the account's
	// 10,000 requests/s, so a runaway client cannot run up the functions' bill.
	stage.SetDefaultRouteSettings(&awsapigatewayv2.CfnStage_RouteSettingsProperty{
		ThrottlingRateLimit: jsii.Number(fns.apiRate), ThrottlingBurstLimit: jsii.Number(fns.apiBurst),
	})
	stage.SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: accessLogs.LogGroupArn(),
		Format:         jsii.String(`{"requestId":"$context.requestId","ip":"$context.identity.sourceIp","user":"$context.authorizer.claims.sub","time":"$context.requestTime","route":"$context.routeKey","status":"$context.status","latency":"$context.responseLatency"}`),
	})

	for _, f := range api.Functions() {
		spec, ok := lambdas.Named(f.Name)
		if !ok {
			panic("function " + f.Name + " serves routes but is not in lambdas.All")
		}
		fn := newAPIFunction(stack, d, fns, worker, spec)
		integration := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String(lambdas.Pascal(f.Name)+"Integration"), fn, nil)
		for _, route := range f.Patterns() {
			method, path, _ := strings.Cut(route, " ")
			httpAPI.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
				Path:        jsii.String(path),
				Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod(method)},
				Integration: integration,
			})
		}
	}

	awscdk.NewCfnOutput(stack, jsii.String("ApiUrl"), &awscdk.CfnOutputProps{Value: apiURL})
	awscdk.NewCfnOutput(stack, jsii.String("UserPoolId"), &awscdk.CfnOutputProps{Value: pool.UserPoolId()})
	awscdk.NewCfnOutput(stack, jsii.String("UserPoolClientId"), &awscdk.CfnOutputProps{Value: client.UserPoolClientId()})
	return httpAPI, pool, client
}

// timeout is the named function's timeout, in seconds, from its spec.
func timeout(name string) int {
	spec, ok := lambdas.Named(name)
	if !ok {
		panic("function " + name + " is not in lambdas.All")
	}
	return spec.Timeout
}

// newAPIFunction makes an API function with the environment and grants its spec asks for.
func newAPIFunction(stack awscdk.Stack, d data, fns functions, worker awslambda.Function, spec lambdas.Spec) awslambda.Function {
	env := map[string]*string{}
	if spec.Key != lambdas.NoKey {
		env[lambdas.EnvKey] = d.key.KeyArn()
	}
	if spec.HandsWork {
		env[lambdas.EnvWorker] = worker.FunctionName()
	}
	if spec.Files != lambdas.NoFiles {
		env[lambdas.EnvBucket] = d.bucket.BucketName()
	}
	if spec.ListsUsers {
		env[lambdas.EnvUserPool] = d.pool.UserPoolId()
	}
	fn := fns.new(spec.Name, float64(spec.Timeout), env)
	d.grant(fn, spec.Name)
	if spec.DescribesRDS {
		// Checks the instance (endpoint, parameter groups) an environment names.
		fn.AddToRolePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Actions: jsii.Strings("rds:DescribeDBInstances"),
			Resources: &[]*string{stack.FormatArn(&awscdk.ArnComponents{
				Service: jsii.String("rds"), Resource: jsii.String("db"), ResourceName: jsii.String("*"),
				ArnFormat: awscdk.ArnFormat_COLON_RESOURCE_NAME,
			})},
		}))
	}
	if spec.HandsWork {
		worker.GrantInvoke(fn)
	}
	if spec.CloudWatch {
		fn.AddToRolePolicy(getMetricData())
	}
	return fn
}

// getMetricData lets a function read CloudWatch metrics. GetMetricData has no resource-level
// permissions: AWS requires "*".
func getMetricData() awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions: jsii.Strings("cloudwatch:GetMetricData"), Resources: jsii.Strings("*"),
	})
}
