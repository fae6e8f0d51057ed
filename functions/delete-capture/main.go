// Command delete-capture is the Lambda function behind DELETE /api/captures/{id}.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/app"
	"github.com/mycrt/captures/pkg/app/withs3"
	"github.com/mycrt/captures/pkg/app/withworker"
)

func main() {
	srv, err := app.Lambda(context.Background(), withs3.KeepsFiles, withworker.HandsWork)
	if err != nil {
		slog.Error("start delete-capture", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(httpadapter.NewV2(srv.Serve(api.DeleteCapture)).ProxyWithContext)
}
