// Command stop-capture is the Lambda function behind POST /api/captures/{id}/stop.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/app"
	"github.com/mycrt/captures/pkg/app/withworker"
)

func main() {
	srv, err := app.Lambda(context.Background(), withworker.HandsWork)
	if err != nil {
		slog.Error("start stop-capture", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(httpadapter.NewV2(srv.Serve(api.StopCapture)).ProxyWithContext)
}
