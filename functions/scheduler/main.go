// Command scheduler is the Lambda function an EventBridge rule runs every minute: it fires
// the starts and stops due within the coming minute, each at its second, and rescues stuck
// captures.
package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/mycrt/captures/pkg/app/withworker"
)

func main() {
	s, err := withworker.Scheduler(context.Background())
	if err != nil {
		slog.Error("start scheduler", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(func(ctx context.Context, _ events.EventBridgeEvent) error {
		// A little past the minute, so a capture due just after the next tick is not left to it.
		return s.Tick(ctx, time.Minute+5*time.Second)
	})
}
