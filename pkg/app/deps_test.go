package app_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// awsClients says which AWS service clients each function may link: the ones it calls. An
// import of a client package costs its whole schema tables in size and start-up time, whether
// or not it is called, so a function linking one it does not use is a regression.
var awsClients = map[string][]string{
	"list-captures":        {"dynamodb"},
	"create-capture":       {"dynamodb", "lambda"},
	"get-capture":          {"dynamodb"},
	"edit-capture":         {"dynamodb"},
	"delete-capture":       {"dynamodb", "lambda", "s3"},
	"stop-capture":         {"dynamodb", "lambda"},
	"get-capture-metrics":  {"cloudwatch", "dynamodb", "s3"},
	"get-capture-workload": {"dynamodb", "s3"},
	"get-capture-digest":   {"dynamodb", "s3"},
	"environments":         {"dynamodb", "kms", "rds", "s3"},
	"worker":               {"cloudwatch", "dynamodb", "kms", "rds", "s3"},
	"scheduler":            {"dynamodb", "lambda"},
}

// TestFunctionsLinkOnlyTheClientsTheyCall lists each function's dependencies (go list -deps)
// and checks the AWS service clients among them against awsClients.
func TestFunctionsLinkOnlyTheClientsTheyCall(t *testing.T) {
	for fn, want := range awsClients {
		t.Run(fn, func(t *testing.T) {
			out, err := exec.Command("go", "list", "-deps", "github.com/mycrt/captures/functions/"+fn).Output()
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
				t.Errorf("%s links the AWS clients %v, want %v", fn, got, want)
			}
		})
	}
}
