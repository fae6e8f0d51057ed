// Command edit-capture is the Lambda function behind PUT /api/captures/{id}.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/app"
)

func main() {
	srv, err := app.Lambda(context.Background())
	if err != nil {
		slog.Error("start edit-capture", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(httpadapter.NewV2(srv.Serve(api.EditCapture)).ProxyWithContext)
}
