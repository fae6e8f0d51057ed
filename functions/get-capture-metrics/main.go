// Command get-capture-metrics is the Lambda function behind GET /api/captures/{id}/metrics.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/app"
	"github.com/mycrt/captures/pkg/app/withcloudwatch"
)

func main() {
	srv, err := app.Lambda(context.Background(), withcloudwatch.ReadsMetrics)
	if err != nil {
		slog.Error("start get-capture-metrics", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(httpadapter.NewV2(srv.Serve(api.GetCaptureMetrics)).ProxyWithContext)
}
