// Command worker is the Lambda function that starts, collects and stops captures' recordings
// and keeps their metrics, invoked asynchronously by the API functions and the scheduler with a
// lifecycle.Event.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/mycrt/captures/pkg/app/worker"
)

func main() {
	w, err := worker.New(context.Background())
	if err != nil {
		slog.Error("start worker", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(w.Handle)
}
