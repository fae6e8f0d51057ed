// Command replayer is the Lambda function that runs one invocation of one shard of a replay
// on its target, invoked asynchronously by the worker, the scheduler and itself with a
// lifecycle.Event (action "run").
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/mycrt/captures/pkg/app/replayer"
)

func main() {
	w, err := replayer.New(context.Background())
	if err != nil {
		slog.Error("start replayer", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(w.Handle)
}
