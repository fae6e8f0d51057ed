// Command environments is the Lambda function behind every /api/environments route.
package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/app"
	"github.com/mycrt/captures/pkg/app/withkms"
	"github.com/mycrt/captures/pkg/app/withrds"
	"github.com/mycrt/captures/pkg/app/withs3"
)

func main() {
	srv, err := app.Lambda(context.Background(), withkms.SealsPasswords, withrds.ChecksInstances, withs3.KeepsFiles)
	if err != nil {
		slog.Error("start environments", "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(httpadapter.NewV2(srv.Serve(api.Environments)).ProxyWithContext)
}
