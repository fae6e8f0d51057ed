package app_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mycrt/captures/pkg/api"
	"github.com/mycrt/captures/pkg/lambdas"
)

// TestFunctionsLinkOnlyTheClientsTheyCall lists each function's dependencies (go list -deps)
// and checks the AWS callers among them (lambdas.Callers, and any SDK service client) against
// what lambdas.All says it calls. An SDK client package costs its whole schema tables in size
// and start-up time, whether or not it is called, so a function linking one it does not use,
// or linking an SDK client where this module has its own caller, is a regression.
func TestFunctionsLinkOnlyTheClientsTheyCall(t *testing.T) {
	callers := map[string]string{} // package → service
	for service, pkg := range lambdas.Callers {
		callers[pkg] = service
	}
	for _, spec := range lambdas.All {
		want := spec.Clients()
		t.Run(spec.Name, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", "github.com/mycrt/captures/functions/"+spec.Name).Output()
			if err != nil {
				t.Fatalf("go list: %v", err)
			}
			var got []string
			for _, pkg := range strings.Fields(string(out)) {
				if service, ok := callers[pkg]; ok {
					got = append(got, service)
					continue
				}
				// Any other SDK client is wrong, the credential chain's (sso, sts, ...) too: a
				// Lambda builds its configuration from its environment (app.LambdaConfig).
				if name, ok := strings.CutPrefix(pkg, "github.com/aws/aws-sdk-go-v2/service/"); ok && !strings.Contains(name, "/") {
					got = append(got, "SDK "+name)
				}
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("%s links the AWS clients %v, want %v", spec.Name, got, want)
			}
		})
	}
}

// TestEveryFunctionIsSpecified: lambdas.All names exactly the functions under functions/, and
// every API function serves routes.
func TestEveryFunctionIsSpecified(t *testing.T) {
	dirs, err := os.ReadDir(filepath.Join("..", "..", "functions"))
	if err != nil {
		t.Fatal(err)
	}
	var have, specified []string
	for _, d := range dirs {
		have = append(have, d.Name())
	}
	for _, f := range lambdas.All {
		specified = append(specified, f.Name)
		if f.Name != lambdas.Worker && f.Name != lambdas.Scheduler && f.Name != lambdas.Replayer && !servesRoutes(f.Name) {
			t.Errorf("%s serves no route", f.Name)
		}
	}
	slices.Sort(have)
	slices.Sort(specified)
	if !slices.Equal(have, specified) {
		t.Errorf("functions/ holds %v, lambdas.All names %v", have, specified)
	}
}

func servesRoutes(name string) bool {
	f, ok := api.Named(name)
	return ok && len(f.Routes) > 0
}

// TestBootstrapSizes holds the arm64 bootstraps `make build` wrote (make test builds them
// before it tests) to the size goals: every API function and the scheduler at most 9 MB, the
// worker and the replayer at most 11 MB, and the environments function, which dials databases itself (it pins
// a server's TLS certificate and signs in to check the database when an environment is
// written), at most 10 MB.
func TestBootstrapSizes(t *testing.T) {
	for _, f := range lambdas.All {
		limit := int64(9_000_000)
		switch f.Name {
		case lambdas.Worker, lambdas.Replayer:
			limit = 11_000_000
		case api.Environments.Name:
			limit = 10_000_000
		}
		info, err := os.Stat(filepath.Join("..", "..", "build", f.Name, "bootstrap"))
		if errors.Is(err, os.ErrNotExist) {
			t.Skip("no bootstraps: run make build (make test does)")
		}
		if err != nil {
			t.Fatal(err)
		}
		if info.Size() > limit {
			t.Errorf("%s: %.2f MB, over its %.0f MB", f.Name, float64(info.Size())/1e6, float64(limit)/1e6)
		}
	}
}
