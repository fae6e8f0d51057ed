package app_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/auth"
	"github.com/mycrt/captures/pkg/blob"
	"github.com/mycrt/captures/pkg/capture"
	"github.com/mycrt/captures/pkg/lambdas"
	"github.com/mycrt/captures/pkg/metrics"
	"github.com/mycrt/captures/pkg/secret"
	"github.com/mycrt/captures/pkg/store"
	"github.com/mycrt/captures/pkg/store/storetest"
)

// The user the sample events' JWT claims name.
const eventUser = "3f0c2a1e-5b7d-4c1a-9e2f-alice0000001"

// TestSampleEvents runs each function's handler, behind the same API Gateway adapter and
// authorizer-claims authentication its Lambda main uses, on its events/<fn>.json (the event
// `sam local invoke` is given), in an order where each finds what it needs.
func TestSampleEvents(t *testing.T) {
	sealer, err := secret.LoadLocal(filepath.Join(t.TempDir(), "k"))
	if err != nil {
		t.Fatal(err)
	}
	st := storetest.New(t, nil)
	files := blob.Dir{Root: t.TempDir()}
	srv := &api.Server{
		Store: st, Secrets: sealer, Authenticate: auth.APIGateway, Files: files,
		Metrics: &metrics.Keeper{Samples: st, Files: files, Now: time.Now},
		Log:     slog.New(slog.NewJSONHandler(io.Discard, nil)), Now: time.Now,
	}
	ctx := context.Background()
	seedEvents(t, srv.Store)
	order := eventSteps
	if len(order) != len(api.Functions()) {
		t.Fatalf("functions %v: each needs a sample event and a check here", api.Functions())
	}
	for _, step := range order {
		raw, err := os.ReadFile(filepath.Join("..", "..", "events", step.function+".json"))
		if err != nil {
			t.Fatal(err)
		}
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(raw, &ev); err != nil {
			t.Fatalf("%s: %v", step.function, err)
		}
		fn, _ := api.Named(step.function)
		if !contains(fn.Patterns(), ev.RouteKey) {
			t.Errorf("%s: event route %q is not one of %v", step.function, ev.RouteKey, fn.Patterns())
		}
		lctx := lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: "req-" + step.function})
		resp, err := httpadapter.NewV2(srv.Serve(fn)).ProxyWithContext(lctx, ev)
		if err != nil {
			t.Fatalf("%s: %v", step.function, err)
		}
		if resp.StatusCode != step.wantStatus() || !step.check(resp.Body) {
			t.Errorf("%s: %d %s", step.function, resp.StatusCode, resp.Body)
		}
		if got := resp.Headers["X-Request-Id"]; got != "req-"+step.function {
			t.Errorf("%s: request id %q, want the Lambda request id", step.function, got)
		}
	}

	// Without authorizer claims (a misconfigured route) the function answers 401, not 500.
	var ev events.APIGatewayV2HTTPRequest
	raw, _ := os.ReadFile(filepath.Join("..", "..", "events", "environments.json"))
	_ = json.Unmarshal(raw, &ev)
	ev.RequestContext.Authorizer = nil
	resp, err := httpadapter.NewV2(srv.Serve(api.Environments)).ProxyWithContext(ctx, ev)
	if err != nil || resp.StatusCode != 401 {
		t.Errorf("no claims: %d %s %v", resp.StatusCode, resp.Body, err)
	}
}

// seedEvents stores what the sample events expect: environment 1 with the events' user as
// admin, and capture 1, scheduled an hour ahead.
func seedEvents(t testing.TB, st *store.Store) {
	t.Helper()
	ctx := context.Background()
	id, _ := st.NewEnvironmentID(ctx)
	if _, err := st.CreateEnvironment(ctx, capture.Environment{ID: id, Name: "dev", OwnerID: eventUser, Host: "localhost", Port: 3306, DBName: "shop", User: "root"}); err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(time.Hour)
	if _, err := st.CreateCapture(ctx, capture.Capture{EnvID: id, Name: "sample", OwnerID: eventUser, Status: capture.Scheduled, ScheduledStart: &start, Created: time.Now(), Updated: time.Now()}); err != nil {
		t.Fatal(err)
	}
	// Capture 2, done, and environment 2, the target of replay 1, scheduled.
	end := time.Now()
	if _, err := st.CreateCapture(ctx, capture.Capture{EnvID: id, Name: "recorded", OwnerID: eventUser, Status: capture.Done, Start: &end, End: &end,
		Workload: capture.Workload{Fragments: 1, Statements: 1, Bytes: 100}, Created: end, Updated: end}); err != nil {
		t.Fatal(err)
	}
	target, _ := st.NewEnvironmentID(ctx)
	if _, err := st.CreateEnvironment(ctx, capture.Environment{ID: target, Name: "candidate", OwnerID: eventUser, Host: "localhost", Port: 3307, DBName: "shop", User: "root"}); err != nil {
		t.Fatal(err)
	}
	r, err := capture.NewReplay(capture.ReplayRequest{Name: "sample replay", CaptureID: 2, EnvID: target, ScheduledStart: &start}, eventUser, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	r.CaptureEnvID, r.Target = id, "localhost:3307"
	if _, err := st.CreateReplay(ctx, r); err != nil {
		t.Fatal(err)
	}
}

// eventSteps runs the API functions' sample events in an order where each finds what it needs,
// with what each answer must show.
type eventStep struct {
	function string
	check    func(body string) bool
	status   int // 200 when zero
}

var eventSteps = []eventStep{
	{"list-captures", func(b string) bool { return strings.Contains(b, `"name":"sample"`) }, 0},
	{"get-capture", func(b string) bool { return strings.Contains(b, `"id":1,`) }, 0},
	{"edit-capture", func(b string) bool { return strings.Contains(b, `"name":"renamed-capture"`) }, 0},
	// The sample capture is outside RDS and never ran: its two series, empty.
	{"get-capture-metrics", func(b string) bool {
		return strings.Contains(b, `"label":"ReadIOPS","type":"READ IOPS","displayName":"READ IOPS","dataPoints":[]`) &&
			strings.Contains(b, `"label":"WriteIOPS"`)
	}, 0},
	// The sample capture never ran, so it has no workload: a JSON 404, as documented.
	{"get-capture-workload", func(b string) bool { return strings.Contains(b, `"code":404`) }, 404},
	// ... and its digest is empty, not final, with no window yet.
	{"get-capture-digest", func(b string) bool {
		return strings.Contains(b, `"captureId":1,"statements":0,"sessions":0,"from":null,"to":null,"complete":false,`) &&
			strings.Contains(b, `"fingerprints":[]`) && strings.Contains(b, `"fingerprintCount":0`)
	}, 0},
	{"create-capture", func(b string) bool { return strings.Contains(b, `"status":"SCHEDULED"`) }, 0},
	{"stop-capture", func(b string) bool { return strings.Contains(b, `"status":"DONE"`) }, 0},
	{"delete-capture", func(b string) bool { return strings.Contains(b, `"id":1,`) }, 0},
	// Replay 1 of done capture 2 into environment 2 (seedEvents), scheduled.
	{"list-replays", func(b string) bool { return strings.Contains(b, `"name":"sample replay"`) }, 0},
	{"get-replay", func(b string) bool { return strings.Contains(b, `"id":1,`) && strings.Contains(b, `"type":"REPLAY"`) }, 0},
	{"edit-replay", func(b string) bool { return strings.Contains(b, `"name":"renamed"`) }, 0},
	{"get-replay-metrics", func(b string) bool { return strings.Contains(b, `"label":"ReadIOPS"`) }, 0},
	// The scheduled replay has no outcomes yet: an empty report, not final; compared with itself.
	{"get-replay-report", func(b string) bool {
		return strings.Contains(b, `"replayId":1,"captureId":2,"complete":false,`) && strings.Contains(b, `"fingerprints":[]`)
	}, 0},
	{"compare-replays", func(b string) bool {
		return strings.Contains(b, `"base":1,"candidate":1,"captureId":2,"complete":false,`) && strings.Contains(b, `"fingerprints":[]`)
	}, 0},
	{"create-replay", func(b string) bool { return strings.Contains(b, `"status":"SCHEDULED"`) }, 0},
	{"stop-replay", func(b string) bool { return strings.Contains(b, `"status":"DONE"`) }, 0},
	{"delete-replay", func(b string) bool { return strings.Contains(b, `"id":1,`) }, 0},
	{"environments", func(b string) bool { return strings.Contains(b, `"envName":"dev"`) }, 0},
}

func (s eventStep) wantStatus() int {
	if s.status == 0 {
		return 200
	}
	return s.status
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestEveryFunctionHasAMainAndAnEvent keeps functions/, events/ and the route table in step.
func TestEveryFunctionHasAMainAndAnEvent(t *testing.T) {
	for _, f := range api.Functions() {
		fn := f.Name
		for _, path := range []string{
			filepath.Join("..", "..", "functions", fn, "main.go"),
			filepath.Join("..", "..", "events", fn+".json"),
		} {
			if _, err := os.Stat(path); err != nil {
				t.Errorf("function %s: %v", fn, err)
			}
		}
		main, _ := os.ReadFile(filepath.Join("..", "..", "functions", fn, "main.go"))
		// Each main names its own Function (api.GetCapture for get-capture), and so links
		// only its handlers; TestUnderTheEmulator runs each on its event.
		if !regexp.MustCompile(`serve\.Main\(api\.` + lambdas.Pascal(fn) + `[,)]`).Match(main) {
			t.Errorf("functions/%s/main.go does not serve api.%s", fn, lambdas.Pascal(fn))
		}
	}
	// Beside the API functions: the worker, the scheduler and the replayer, which take other events.
	dirs, _ := os.ReadDir(filepath.Join("..", "..", "functions"))
	if len(dirs) != len(api.Functions())+3 {
		t.Errorf("functions/ has %d folders, the route table %d functions and 3 more", len(dirs), len(api.Functions()))
	}
	for _, fn := range []string{"worker", "scheduler", "replayer"} {
		if _, err := os.Stat(filepath.Join("..", "..", "events", fn+".json")); err != nil {
			t.Errorf("function %s: %v", fn, err)
		}
	}
}
