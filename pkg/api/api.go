// Package api serves the MyCRT Captures REST API over net/http. The same handlers run in each
// Lambda function (behind the API Gateway adapter, one route set per function) and in the
// local server (all routes at once).
package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/mycrt/captures/pkg/auth"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/lifecycle"
	"github.com/mycrt/captures/pkg/metrics"
	"github.com/mycrt/captures/pkg/netguard"
	"github.com/mycrt/captures/pkg/store"
)

// sealer seals a database password for storage.
type sealer interface {
	Seal(ctx context.Context, envID int64, plaintext string) (string, error)
}

// handoff passes a capture's slow work (starting or stopping its recording) on to the worker
// without waiting for it.
type handoff interface {
	Trigger(ctx context.Context, ev lifecycle.Event) error
}

// files reads and deletes captures' stored files (see capture.FilesPrefix).
type files interface {
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	DeletePrefix(ctx context.Context, prefix string) error
}

// linker makes a short-lived download link for a stored file; files kept where the caller
// cannot fetch them directly (the local folder) have none, and are served through the API.
type linker interface {
	Link(ctx context.Context, key string, ttl time.Duration) (string, error)
}

// metricsReader reads a capture's metrics: its stored copy, or live from their source.
type metricsReader interface {
	Read(ctx context.Context, env capture.Environment, c capture.Capture) ([]metrics.Series, error)
}

// rdsInstances describes the RDS instances environments name.
type rdsInstances interface {
	Instance(ctx context.Context, id string) (capture.RDSInstance, error)
}

// Server holds what the handlers need.
type Server struct {
	Store        *store.Store
	Secrets      sealer
	Handoff      handoff // nil: no worker (captures stay where the API leaves them)
	Files        files
	Metrics      metricsReader
	Network      netguard.Policy // which database hosts environments may name
	RDS          rdsInstances    // nil: RDS names are taken unchecked (make run, which has no AWS)
	Authenticate auth.Authenticator
	Log          *slog.Logger
	Now          func() time.Time
}

// route is one endpoint and the Lambda function that serves it.
type route struct {
	function string
	pattern  string
	handle   func(*Server, http.ResponseWriter, *http.Request, auth.Identity) error
}

// EnvironmentsFunction serves every /api/environments route; the captures endpoints have one
// function each, as the design asks.
const EnvironmentsFunction = "environments"

var routes = []route{
	{"list-captures", "GET /api/captures", (*Server).listCaptures},
	{"create-capture", "POST /api/captures", (*Server).createCapture},
	{"get-capture", "GET /api/captures/{id}", (*Server).getCapture},
	{"edit-capture", "PUT /api/captures/{id}", (*Server).editCapture},
	{"delete-capture", "DELETE /api/captures/{id}", (*Server).deleteCapture},
	{"stop-capture", "POST /api/captures/{id}/stop", (*Server).stopCapture},
	{"get-capture-metrics", "GET /api/captures/{id}/metrics", (*Server).captureMetrics},
	{"get-capture-workload", "GET /api/captures/{id}/workload", (*Server).captureWorkload},
	{"get-capture-digest", "GET /api/captures/{id}/digest", (*Server).captureDigest},
	{EnvironmentsFunction, "GET /api/environments", (*Server).listEnvironments},
	{EnvironmentsFunction, "POST /api/environments", (*Server).createEnvironment},
	{EnvironmentsFunction, "GET /api/environments/{id}", (*Server).getEnvironment},
	{EnvironmentsFunction, "DELETE /api/environments/{id}", (*Server).deleteEnvironment},
	{EnvironmentsFunction, "GET /api/environments/{id}/users", (*Server).listMembers},
	{EnvironmentsFunction, "POST /api/environments/{id}/users", (*Server).addMember},
	{EnvironmentsFunction, "DELETE /api/environments/{id}/users/{user}", (*Server).removeMember},
}

// Functions lists the Lambda functions that serve the API, in route order.
func Functions() []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range routes {
		if !seen[r.function] {
			seen[r.function] = true
			out = append(out, r.function)
		}
	}
	return out
}

// Routes returns the method-and-path patterns a function serves.
func Routes(function string) []string {
	var out []string
	for _, r := range routes {
		if r.function == function {
			out = append(out, r.pattern)
		}
	}
	return out
}

// Handler serves the routes of the named functions, or every route if none is named. Paths it
// does not serve get a JSON 404, and known paths with another method a JSON 405.
func (s *Server) Handler(functions ...string) http.Handler {
	want := map[string]bool{}
	for _, f := range functions {
		want[f] = true
	}
	mux := http.NewServeMux()
	allowed := map[string][]string{} // path → methods
	for _, rt := range routes {
		if len(want) > 0 && !want[rt.function] {
			continue
		}
		handle := rt.handle
		mux.Handle(rt.pattern, s.endpoint(func(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
			return handle(s, w, r, who)
		}))
		method, path, _ := strings.Cut(rt.pattern, " ")
		allowed[path] = append(allowed[path], method)
	}
	for path, methods := range allowed {
		sort.Strings(methods)
		mux.Handle(path, methodNotAllowed(methods))
	}
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errRouteNotFound)
	}))
	return s.middleware(mux)
}

// hand passes work to the worker. A lost trigger is logged, not failed: the capture is already
// stored in its new state, and the scheduler retries work that never finished.
func (s *Server) hand(ctx context.Context, ev lifecycle.Event) {
	if s.Handoff == nil {
		return
	}
	if err := s.Handoff.Trigger(ctx, ev); err != nil {
		s.Log.ErrorContext(ctx, "trigger worker", "request_id", requestID(ctx), "capture_id", ev.CaptureID, "error", err.Error())
	}
}
