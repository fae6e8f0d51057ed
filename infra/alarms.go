package main

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/aws-cdk-go/awscdk/v2/interfaces/interfacesawscloudwatch"
	"github.com/aws/jsii-runtime-go"

	"github.com/mycrt/captures/pkg/lambdas"
)

// The alarms' thresholds.
const (
	// A failure kept this long in a failure queue is half-way to being lost (SQS keeps it
	// 14 days): the depth alarm fired at the first message, this is the reminder.
	failureAgeAlarmSeconds = 7 * 24 * 3600
	// The API's p99 latency above this for 15 minutes: the handlers answer in milliseconds.
	apiLatencyAlarmMs = 3000
	// A watched function's longest invocation past this share of its timeout.
	durationAlarmShare = 0.8
)

var fiveMinutes = awscdk.Duration_Minutes(jsii.Number(5))

// operations is what tells an operator the service is unwell: one SNS topic every alarm
// notifies (an email subscribed with context alarmEmail), and one dashboard.
type operations struct {
	stack  awscdk.Stack
	action awscloudwatchactions.SnsAction
	alarms []interfacesawscloudwatch.IAlarmRef
}

// newOperations makes the topic, every alarm and the dashboard, for every function in
// lambdas.All as the stack made it: a function declared there (a replay function too) gets
// its Errors and Throttles alarms, a Duration alarm if it asks for one, and alarms on its
// failure queue if it is invoked asynchronously, with nothing else to write.
func newOperations(stack awscdk.Stack, s settings, fns functions, httpAPI awsapigatewayv2.HttpApi) {
	topic := awssns.NewTopic(stack, jsii.String("Alarms"), &awssns.TopicProps{
		DisplayName: jsii.String("MyCRT Captures alarms"), EnforceSSL: jsii.Bool(true),
	})
	if s.alarmEmail != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(s.alarmEmail), nil))
	}
	o := &operations{stack: stack, action: awscloudwatchactions.NewSnsAction(topic)}
	dash := awscloudwatch.NewDashboard(stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DefaultInterval: awscdk.Duration_Hours(jsii.Number(6)),
	})

	sum := &awscloudwatch.MetricOptions{Period: fiveMinutes, Statistic: jsii.String("Sum")}
	p99 := &awscloudwatch.MetricOptions{Period: fiveMinutes, Statistic: jsii.String("p99")}
	o.alarm("Api5xxAlarm", httpAPI.MetricServerError(sum), 1, 1,
		"The MyCRT API answered 5xx: a function failed or timed out (the handlers answer every error they know as JSON 4xx); see the API access log and the functions' Errors")
	o.alarm("ApiLatencyAlarm", httpAPI.MetricLatency(p99), apiLatencyAlarmMs, 3,
		fmt.Sprintf("The MyCRT API's p99 latency has been over %d ms for 15 minutes", apiLatencyAlarmMs))
	dash.AddWidgets(
		graph("API requests", 12, httpAPI.MetricCount(sum), httpAPI.MetricClientError(sum), httpAPI.MetricServerError(sum)),
		graph("API latency (ms)", 12, httpAPI.MetricLatency(&awscloudwatch.MetricOptions{Period: fiveMinutes, Statistic: jsii.String("p50")}), httpAPI.MetricLatency(p99)),
	)

	var invocations, errors, throttles, durations, concurrent []awscloudwatch.IMetric
	for _, spec := range lambdas.All {
		fn, name := fns.made[spec.Name], lambdas.Pascal(spec.Name)
		label := &awscloudwatch.MetricOptions{Period: fiveMinutes, Statistic: jsii.String("Sum"), Label: jsii.String(spec.Name)}
		o.alarm(name+"ErrorsAlarm", fn.MetricErrors(sum), 1, 1,
			"MyCRT "+spec.Name+" failed (an error it returned, a crash or a timeout): see its log group")
		o.alarm(name+"ThrottlesAlarm", fn.MetricThrottles(sum), 1, 1,
			"MyCRT "+spec.Name+" was throttled: the account's or its reserved concurrency is used up")
		if spec.WatchDuration {
			limit := durationAlarmShare * float64(spec.Timeout) * 1000
			o.alarm(name+"DurationAlarm", fn.MetricDuration(&awscloudwatch.MetricOptions{Period: fiveMinutes, Statistic: jsii.String("Maximum")}), limit, 1,
				fmt.Sprintf("MyCRT %s ran over %.0f%% of its %d s timeout: its work is outgrowing it", spec.Name, durationAlarmShare*100, spec.Timeout))
		}
		invocations = append(invocations, fn.MetricInvocations(label))
		errors = append(errors, fn.MetricErrors(label))
		throttles = append(throttles, fn.MetricThrottles(label))
		durations = append(durations, fn.MetricDuration(&awscloudwatch.MetricOptions{Period: fiveMinutes, Statistic: jsii.String("p99"), Label: jsii.String(spec.Name)}))
		if s.concurrency[spec.Name] > 0 {
			concurrent = append(concurrent, fn.Metric(jsii.String("ConcurrentExecutions"), &awscloudwatch.MetricOptions{Period: fiveMinutes, Statistic: jsii.String("Maximum"), Label: jsii.String(spec.Name)}))
		}
	}
	dash.AddWidgets(graph("Invocations", 6, invocations...), graph("Errors", 6, errors...), graph("Throttles", 6, throttles...), graph("Duration p99 (ms)", 6, durations...))

	var depths, ages []awscloudwatch.IMetric
	for _, spec := range lambdas.All {
		q, ok := fns.failures[spec.Name]
		if !ok {
			continue
		}
		name := lambdas.Pascal(spec.Name) + "Failures"
		maxOf := &awscloudwatch.MetricOptions{Period: fiveMinutes, Statistic: jsii.String("Maximum")}
		o.alarm(name+"Alarm", q.MetricApproximateNumberOfMessagesVisible(maxOf), 1, 1,
			"MyCRT "+spec.Name+" invocations failed after every retry, or expired: see the "+name+" queue")
		o.alarm(name+"AgeAlarm", q.MetricApproximateAgeOfOldestMessage(maxOf), failureAgeAlarmSeconds, 1,
			"A failure in the "+name+" queue has waited 7 days: SQS deletes it at 14")
		labelled := &awscloudwatch.MetricOptions{Period: fiveMinutes, Statistic: jsii.String("Maximum"), Label: jsii.String(name)}
		depths = append(depths, q.MetricApproximateNumberOfMessagesVisible(labelled))
		ages = append(ages, q.MetricApproximateAgeOfOldestMessage(labelled))
	}
	dash.AddWidgets(graph("Reserved functions: concurrent executions", 8, concurrent...), graph("Failure queues: messages", 8, depths...), graph("Failure queues: oldest message (s)", 8, ages...))
	dash.AddWidgets(awscloudwatch.NewAlarmStatusWidget(&awscloudwatch.AlarmStatusWidgetProps{
		Title: jsii.String("Alarms"), Alarms: &o.alarms, Width: jsii.Number(24),
	}))

	awscdk.NewCfnOutput(stack, jsii.String("AlarmTopicArn"), &awscdk.CfnOutputProps{Value: topic.TopicArn()})
	awscdk.NewCfnOutput(stack, jsii.String("DashboardUrl"), &awscdk.CfnOutputProps{Value: awscdk.Fn_Join(jsii.String(""), &[]*string{
		jsii.String("https://console.aws.amazon.com/cloudwatch/home?region="), stack.Region(), jsii.String("#dashboards:name="), dash.DashboardName(),
	})})
}

// alarm fires when m reaches threshold in periods periods in a row, and tells the topic when
// it fires and when it is over; no data (no traffic) is not a breach.
func (o *operations) alarm(id string, m awscloudwatch.Metric, threshold float64, periods int, description string) {
	a := m.CreateAlarm(o.stack, jsii.String(id), &awscloudwatch.CreateAlarmOptions{
		AlarmDescription:   jsii.String(description),
		Threshold:          jsii.Number(threshold),
		EvaluationPeriods:  jsii.Number(periods),
		ComparisonOperator: awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
		TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
	})
	a.AddAlarmAction(o.action)
	a.AddOkAction(o.action)
	o.alarms = append(o.alarms, a)
}

// graph is a dashboard widget width (of 24) columns wide.
func graph(title string, width float64, metrics ...awscloudwatch.IMetric) awscloudwatch.GraphWidget {
	return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String(title), Left: &metrics, Width: jsii.Number(width)})
}
