// Command worker is the Lambda function that starts and stops captures' recordings, invoked
// asynchronously by the API functions and the scheduler with a lifecycle.Event.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/mycrt/captures/pkg/app"
)

func main() {
	w, err := app.LambdaWorker(context.Background())
	if err != nil {
		slog.Error("start worker", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(w.Handle)
}
