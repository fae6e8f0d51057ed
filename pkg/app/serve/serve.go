// Package serve is the whole of an API Lambda function's main: it builds the server from the
// function's environment and serves the function's own routes through API Gateway's HTTP API
// (payload 2.0). It lives apart from package app so that the worker and the scheduler, which
// serve no HTTP, do not link the proxy.
package serve

import (
	"context"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/app"
)

// Main serves fn's routes, and only those, as a Lambda function, with what opts add to the
// server (app.Option). A server that cannot be built from the environment is logged and the
// process exits 1, so Lambda reports the init failure. Main does not return.
func Main(fn api.Function, opts ...app.Option) {
	srv, err := app.Lambda(context.Background(), opts...)
	if err != nil {
		slog.Error("start "+fn.Name, "error", err.Error())
		os.Exit(1)
	}
	lambda.Start(httpadapter.NewV2(srv.Serve(fn)).ProxyWithContext)
}
