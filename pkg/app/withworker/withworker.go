// Package withworker hands captures' work to the worker function with asynchronous Lambda
// invokes, for the API functions that start or stop captures and for the scheduler.
package withworker

import (
	"context"
	"os"

	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/app"
	"github.com/mycrt/captures/pkg/lambdas"
	"github.com/mycrt/captures/pkg/lifecycle"
	"github.com/mycrt/captures/pkg/lifecycle/lambdainvoke"
)

// Handoff hands work to the worker function WORKER_FUNCTION.
func Handoff(a app.AWS) *lambdainvoke.Handoff {
	return lambdainvoke.New(a.Config, app.Endpoint("LAMBDA"), os.Getenv(lambdas.EnvWorker))
}

// HandsWork lets an API function hand captures' slow work to the worker.
func HandsWork(a app.AWS, s *api.Server) { s.Handoff = Handoff(a) }

// Scheduler builds the scheduler function's scheduler.
func Scheduler(ctx context.Context) (*lifecycle.Scheduler, error) {
	a, err := app.LoadAWS(ctx)
	if err != nil {
		return nil, err
	}
	return &lifecycle.Scheduler{
		Store:      a.Store,
		Handoff:    Handoff(a),
		Clock:      lifecycle.RealClock{},
		StuckAfter: app.StuckAfterLambda,
		Replays:    lambdainvoke.Replayer(a.Config, app.Endpoint("LAMBDA")),
		Log:        app.Logger(),
	}, nil
}
