package main

import (
	"debug/elf"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"

	"github.com/mycrt/captures/pkg/lambdas"
)

// TestNoWildcardPermissions: no statement allows every action, and only the actions that AWS
// offers no resource scoping for (reading metrics, and X-Ray's for the functions' traces) are
// granted on every resource.
func TestNoWildcardPermissions(t *testing.T) {
	_, tmpl := synth(t)
	allowedOnStar := map[string]bool{"cloudwatch:GetMetricData": true, "xray:PutTraceSegments": true, "xray:PutTelemetryRecords": true}
	for id, pol := range resources(tmpl, "AWS::IAM::Policy") {
		doc := pol["Properties"].(map[string]any)["PolicyDocument"].(map[string]any)
		for _, st := range doc["Statement"].([]any) {
			s := st.(map[string]any)
			actions := asList(s["Action"])
			for _, a := range actions {
				if a == "*" || strings.HasSuffix(a, ":*") {
					t.Errorf("%s allows %s", id, a)
				}
			}
			for _, r := range asList(s["Resource"]) {
				if r == "*" {
					for _, a := range actions {
						if !allowedOnStar[a] {
							t.Errorf("%s allows %s on every resource", id, a)
						}
					}
				}
			}
		}
	}
}

func asList(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			} else {
				b, _ := json.Marshal(e)
				out = append(out, string(b))
			}
		}
		return out
	}
	b, _ := json.Marshal(v)
	return []string{string(b)}
}

// TestSynthesizedAssets reads what `make synth` left in ../cdk.out: each function's asset folder
// holds an executable linux/arm64 bootstrap, and each sample event belongs to a function there.
func TestSynthesizedAssets(t *testing.T) {
	raw, err := os.ReadFile("../cdk.out/MycrtCaptures.template.json")
	if err != nil {
		t.Fatalf("no synthesized template (run `make test`, which runs `make synth` first): %v", err)
	}
	var tmpl struct {
		Resources map[string]struct {
			Type     string
			Metadata map[string]any
		}
	}
	if err := json.Unmarshal(raw, &tmpl); err != nil {
		t.Fatal(err)
	}
	functions := map[string]bool{}
	for id, r := range tmpl.Resources {
		if r.Type != "AWS::Lambda::Function" || cdkFunction(id) {
			continue
		}
		functions[id] = true
		asset, _ := r.Metadata["aws:asset:path"].(string)
		path := filepath.Join("..", "cdk.out", asset, "bootstrap")
		info, err := os.Stat(path)
		if err != nil || asset == "" {
			t.Errorf("%s: no bootstrap at %q: %v", id, path, err)
			continue
		}
		if info.Mode()&0o111 == 0 {
			t.Errorf("%s: bootstrap is not executable (%v)", id, info.Mode())
		}
		f, err := elf.Open(path)
		if err != nil {
			t.Errorf("%s: bootstrap is not an ELF binary: %v", id, err)
			continue
		}
		if f.Machine != elf.EM_AARCH64 || f.OSABI != elf.ELFOSABI_NONE && f.OSABI != elf.ELFOSABI_LINUX {
			t.Errorf("%s: bootstrap is %v/%v, want linux arm64", id, f.Machine, f.OSABI)
		}
		f.Close()
	}
	events, _ := filepath.Glob("../events/*.json")
	if len(events) == 0 {
		t.Fatal("no sample events")
	}
	for _, ev := range events {
		name := strings.TrimSuffix(filepath.Base(ev), ".json")
		found := false
		for id := range functions {
			if strings.HasPrefix(id, lambdas.Pascal(name)) && len(id) == len(lambdas.Pascal(name))+8 {
				found = true
			}
		}
		if !found {
			t.Errorf("events/%s.json belongs to no function in the template", name)
		}
	}
}

// TestAllowedDatabaseCIDRs: context allowedDatabaseCidrs reaches the two functions that check
// database hosts, and no other.
func TestAllowedDatabaseCIDRs(t *testing.T) {
	if _, err := os.Stat("../build/worker/bootstrap"); err != nil {
		t.Fatal("no ../build: run the tests with `make test`, which builds the bootstraps first")
	}
	app := awscdk.NewApp(&awscdk.AppProps{Context: &map[string]any{"allowedDatabaseCidrs": "10.0.0.0/16, 10.9.0.0/16"}})
	tmpl := assertions.Template_FromStack(NewApp(app, "../build", "../web/dist"), nil)
	with := 0
	for id, fn := range resources(tmpl, "AWS::Lambda::Function") {
		vars, _ := fn["Properties"].(map[string]any)["Environment"].(map[string]any)["Variables"].(map[string]any)
		got, ok := vars["ALLOWED_DB_CIDRS"]
		wantIt := strings.HasPrefix(id, "Worker") || strings.HasPrefix(id, "Environments") || strings.HasPrefix(id, "Replayer")
		if ok != wantIt || (ok && got != "10.0.0.0/16, 10.9.0.0/16") {
			t.Errorf("%s: ALLOWED_DB_CIDRS = %v (set %v), want set %v", id, got, ok, wantIt)
		}
		if ok {
			with++
		}
	}
	if with != 3 {
		t.Errorf("%d functions have ALLOWED_DB_CIDRS, want the worker, the replayer and environments", with)
	}
}

// cdkFunction tells CDK's own function (BucketDeployment's, which copies the console's files
// into its bucket as the stack deploys) from the service's.
func cdkFunction(id string) bool { return strings.HasPrefix(id, "CustomCDKBucketDeployment") }
