// Package api serves the MyCRT Captures REST API over net/http. The same handlers run in each
// Lambda function (behind the API Gateway adapter, one route set per function) and in the
// local server (all routes at once).
package api

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"slices"
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
	Open(ctx context.Context, envID int64, sealed string) (string, error)
}

// checker signs in to an environment's database as a capture would and checks what it needs
// (recording.Recorder.Check), or only what a replay target needs (CheckTarget); its error says
// what failed, for the user.
type checker interface {
	Check(ctx context.Context, env capture.Environment, password string) (capture.EnvCheck, error)
	CheckTarget(ctx context.Context, env capture.Environment, password string) (capture.EnvCheck, error)
}

// files reads and deletes captures' stored files (see layout.FilesPrefix).
type files interface {
	Open(ctx context.Context, key string) (io.ReadCloser, error)
	DeletePrefix(ctx context.Context, prefix string) error
}

// linker makes a short-lived download link for a stored file; files kept where the caller
// cannot fetch them directly (the local folder) have none, and are served through the API.
type linker interface {
	Link(ctx context.Context, key string, ttl time.Duration) (string, error)
}

// metricsReader reads a capture's metrics (its stored copy, or live from their source), and
// a replay's target's over the replay's window.
type metricsReader interface {
	Read(ctx context.Context, env capture.Environment, c capture.Capture) ([]metrics.Series, error)
	Replay(ctx context.Context, env capture.Environment, r capture.Replay) ([]metrics.Series, error)
}

// certificates reads the certificate a database server presents (dbtls.Prober), to pin it.
type certificates interface {
	Fingerprint(ctx context.Context, addr string) (string, error)
}

// rdsInstances describes the RDS instances environments name.
type rdsInstances interface {
	Instance(ctx context.Context, id string) (capture.RDSInstance, error)
}

// users finds a user by what people call them: their user name, email or id; awscognito on
// AWS, auth.LocalUsers under make run.
type users interface {
	Find(ctx context.Context, who string) (id, name string, err error)
}

// Server holds what the handlers need.
type Server struct {
	Store        *store.Store
	Secrets      sealer
	Handoff      lifecycle.Handoff // nil: no worker (captures stay where the API leaves them)
	Files        files
	Metrics      metricsReader
	Network      netguard.Policy // which database hosts environments may name
	RDS          rdsInstances    // nil: RDS names are taken unchecked (make run, which has no AWS)
	TLSProbe     certificates    // pins certificates at creation; nil: the worker pins at its first connection
	Users        users           // finds members by name; nil: members are named by their id only
	Checker      checker         // checks environments' databases as they are written; nil: they are not
	Authenticate auth.Authenticator
	Log          *slog.Logger
	Now          func() time.Time
}

// Route is one endpoint: a method-and-path pattern and its handler.
type Route struct {
	Pattern string
	handle  func(*Server, http.ResponseWriter, *http.Request, auth.Identity) error
}

// Function is the routes one Lambda function serves. Each function's main names its own
// Function, and so links only its own handlers (and what they call): the route table is read
// only through Functions, which the local server, the stack and the tests call.
type Function struct {
	Name   string
	Routes []Route
}

// The API's Lambda functions: one per captures and replays endpoint, as the design asks, and
// one for every /api/environments route.
var (
	ListCaptures       = Function{"list-captures", []Route{{"GET /api/captures", (*Server).listCaptures}}}
	CreateCapture      = Function{"create-capture", []Route{{"POST /api/captures", (*Server).createCapture}}}
	GetCapture         = Function{"get-capture", []Route{{"GET /api/captures/{id}", (*Server).getCapture}}}
	EditCapture        = Function{"edit-capture", []Route{{"PUT /api/captures/{id}", (*Server).editCapture}}}
	DeleteCapture      = Function{"delete-capture", []Route{{"DELETE /api/captures/{id}", (*Server).deleteCapture}}}
	StopCapture        = Function{"stop-capture", []Route{{"POST /api/captures/{id}/stop", (*Server).stopCapture}}}
	GetCaptureMetrics  = Function{"get-capture-metrics", []Route{{"GET /api/captures/{id}/metrics", (*Server).captureMetrics}}}
	GetCaptureWorkload = Function{"get-capture-workload", []Route{{"GET /api/captures/{id}/workload", (*Server).captureWorkload}}}
	GetCaptureDigest   = Function{"get-capture-digest", []Route{{"GET /api/captures/{id}/digest", (*Server).captureDigest}}}
	ListReplays        = Function{"list-replays", []Route{{"GET /api/replays", (*Server).listReplays}}}
	CreateReplay       = Function{"create-replay", []Route{{"POST /api/replays", (*Server).createReplay}}}
	GetReplay          = Function{"get-replay", []Route{{"GET /api/replays/{id}", (*Server).getReplay}}}
	EditReplay         = Function{"edit-replay", []Route{{"PUT /api/replays/{id}", (*Server).editReplay}}}
	DeleteReplay       = Function{"delete-replay", []Route{{"DELETE /api/replays/{id}", (*Server).deleteReplay}}}
	StopReplay         = Function{"stop-replay", []Route{{"POST /api/replays/{id}/stop", (*Server).stopReplay}}}
	GetReplayMetrics   = Function{"get-replay-metrics", []Route{{"GET /api/replays/{id}/metrics", (*Server).replayMetrics}}}
	GetReplayReport    = Function{"get-replay-report", []Route{{"GET /api/replays/{id}/report", (*Server).replayReport}}}
	CompareReplays     = Function{"compare-replays", []Route{{"GET /api/replays/compare", (*Server).compareReplays}}}
	Environments       = Function{"environments", []Route{
		{"GET /api/environments", (*Server).listEnvironments},
		{"POST /api/environments", (*Server).createEnvironment},
		{"GET /api/environments/{id}", (*Server).getEnvironment},
		{"PUT /api/environments/{id}", (*Server).editEnvironment},
		{"DELETE /api/environments/{id}", (*Server).deleteEnvironment},
		{"POST /api/environments/{id}/check", (*Server).checkEnvironment},
		{"GET /api/environments/{id}/users", (*Server).listMembers},
		{"POST /api/environments/{id}/users", (*Server).addMember},
		{"DELETE /api/environments/{id}/users/{user}", (*Server).removeMember},
	}}
)

// Functions is the route table: every function that serves the API, in route order.
func Functions() []Function {
	return []Function{ListCaptures, CreateCapture, GetCapture, EditCapture, DeleteCapture, StopCapture,
		GetCaptureMetrics, GetCaptureWorkload, GetCaptureDigest,
		ListReplays, CreateReplay, GetReplay, EditReplay, DeleteReplay, StopReplay, GetReplayMetrics,
		GetReplayReport, CompareReplays, Environments}
}

// Named returns the function called name from the route table.
func Named(name string) (Function, bool) {
	for _, f := range Functions() {
		if f.Name == name {
			return f, true
		}
	}
	return Function{}, false
}

// Patterns returns the method-and-path patterns f serves.
func (f Function) Patterns() []string {
	out := make([]string, len(f.Routes))
	for i, r := range f.Routes {
		out[i] = r.Pattern
	}
	return out
}

// Handler serves every route: the local server's and the tests' handler.
func (s *Server) Handler() http.Handler { return s.Serve(Functions()...) }

// otherMethods are the methods a known path answers 405 to when it does not serve them; any
// other is a 404.
var otherMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodOptions, http.MethodTrace}

// Serve serves the routes of fns. Paths it does not serve get a JSON 404, and known paths with
// another method a JSON 405.
func (s *Server) Serve(fns ...Function) http.Handler {
	mux := http.NewServeMux()
	allowed := map[string][]string{} // path → methods
	for _, f := range fns {
		for _, rt := range f.Routes {
			handle := rt.handle
			mux.Handle(rt.Pattern, s.endpoint(func(w http.ResponseWriter, r *http.Request, who auth.Identity) error {
				return handle(s, w, r, who)
			}))
			method, path, _ := strings.Cut(rt.Pattern, " ")
			allowed[path] = append(allowed[path], method)
		}
	}
	for path, methods := range allowed {
		sort.Strings(methods)
		// Each other method by name, not the bare path: a bare /api/replays/compare would
		// conflict with GET /api/replays/{id} (more specific in its path, less in its method).
		for _, m := range otherMethods {
			if !slices.Contains(methods, m) && (m != http.MethodHead || !slices.Contains(methods, http.MethodGet)) {
				mux.Handle(m+" "+path, methodNotAllowed(methods))
			}
		}
	}
	mux.Handle("/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		writeError(w, errRouteNotFound)
	}))
	return s.middleware(mux)
}

// handOff passes work to the worker. A lost hand-off is logged, not failed: the capture is already
// stored in its new state, and the scheduler retries work that never finished.
func (s *Server) handOff(ctx context.Context, ev lifecycle.Event) {
	if s.Handoff == nil {
		return
	}
	if err := s.Handoff.HandOff(ctx, ev); err != nil {
		s.Log.ErrorContext(ctx, "hand off to the worker", "capture_id", ev.CaptureID, "replay_id", ev.ReplayID, "error", err.Error())
	}
}
