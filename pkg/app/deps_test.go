package app_test

import (
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
// and checks the AWS service clients among them against what lambdas.All says it calls. An
// import of a client package costs its whole schema tables in size and start-up time, whether
// or not it is called, so a function linking one it does not use is a regression.
func TestFunctionsLinkOnlyTheClientsTheyCall(t *testing.T) {
	for _, spec := range lambdas.All {
		want := spec.Clients()
		t.Run(spec.Name, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", "github.com/mycrt/captures/functions/"+spec.Name).Output()
			if err != nil {
				t.Fatalf("go list: %v", err)
			}
			var got []string
			for _, pkg := range strings.Fields(string(out)) {
				name, ok := strings.CutPrefix(pkg, "github.com/aws/aws-sdk-go-v2/service/")
				// The credential chain's clients (sso, sts, ...) count too: a Lambda builds its
				// configuration from its environment (app.LambdaConfig) and needs none.
				if ok && !strings.Contains(name, "/") {
					got = append(got, name)
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
		if f.Name != lambdas.Worker && f.Name != lambdas.Scheduler && !servesRoutes(f.Name) {
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
