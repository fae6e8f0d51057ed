package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// synthesized is the template `make synth` wrote, which `make test` checks.
const synthesized = "../cdk.out/MycrtCaptures.template.json"

// accepted is one finding the stack accepts, in checks.json.
type accepted struct {
	Rule      string   `json:"rule"`
	Resources []string `json:"resources"`
	Reason    string   `json:"reason"`
}

func loadAccepted(t *testing.T, tool string) []accepted {
	t.Helper()
	raw, err := os.ReadFile("checks.json")
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]json.RawMessage
	if err := json.Unmarshal(raw, &all); err != nil {
		t.Fatalf("checks.json: %v", err)
	}
	var list []accepted
	if err := json.Unmarshal(all[tool], &list); err != nil {
		t.Fatalf("checks.json %s: %v", tool, err)
	}
	for _, a := range list {
		if a.Rule == "" || len(a.Resources) == 0 || len(strings.Fields(a.Reason)) < 5 {
			t.Errorf("checks.json %s: %+v needs a rule, resources and a reason", tool, a)
		}
	}
	return list
}

// finding is one rule a resource breaks.
type finding struct{ rule, resource string }

// judge fails the test for each finding checks.json does not accept, and for each of its
// entries that accepts no finding (fixed since: the entry must go).
func judge(t *testing.T, tool string, findings []finding) {
	t.Helper()
	list := loadAccepted(t, tool)
	used := make([]bool, len(list))
	for _, f := range findings {
		i := slices.IndexFunc(list, func(a accepted) bool {
			return a.Rule == f.rule && slices.ContainsFunc(a.Resources, func(p string) bool {
				ok, err := path.Match(p, f.resource)
				return err == nil && ok
			})
		})
		if i < 0 {
			t.Errorf("%s: %s fails %s, which checks.json does not accept: fix it, or list it with its reason", tool, f.resource, f.rule)
			continue
		}
		used[i] = true
	}
	for i, a := range list {
		if !used[i] {
			t.Errorf("%s: checks.json accepts %s on %v, which no longer fails it: remove the entry", tool, a.Rule, a.Resources)
		}
	}
}

func needTemplate(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(synthesized); err != nil {
		t.Fatalf("no synthesized template (run `make test`, which runs `make synth` first): %v", err)
	}
}

// TestCfnLint runs cfn-lint on the synthesized template: no error, and each warning or
// informational finding one that checks.json lists with its reason.
func TestCfnLint(t *testing.T) {
	needTemplate(t)
	lint, err := exec.LookPath("cfn-lint")
	if err != nil {
		t.Fatal("cfn-lint is not installed (these machines have it; .ci/deps says so when it is missing)")
	}
	out, err := exec.Command(lint, "--format", "json", "--include-checks", "I", "--", synthesized).Output()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) { // it exits non-zero when it finds anything
		t.Fatalf("cfn-lint: %v", err)
	}
	var matches []struct {
		Level    string
		Rule     struct{ Id string }
		Message  string
		Location struct{ Path []any }
	}
	if err := json.Unmarshal(out, &matches); err != nil {
		t.Fatalf("cfn-lint's report: %v\n%s", err, out)
	}
	var findings []finding
	for _, m := range matches {
		where := "template"
		if len(m.Location.Path) > 1 && m.Location.Path[0] == "Resources" {
			where, _ = m.Location.Path[1].(string)
		}
		if m.Level == "Error" {
			t.Errorf("cfn-lint error %s on %s: %s", m.Rule.Id, where, m.Message)
			continue
		}
		findings = append(findings, finding{m.Rule.Id, where})
	}
	judge(t, "cfn-lint", findings)
}

// TestControlTowerRules runs cfn-guard, as the npm package @cdklabs/cdk-validator-cfnguard
// ships it, with AWS Control Tower's proactive controls on the synthesized template: every
// failure is one that checks.json lists with its reason.
func TestControlTowerRules(t *testing.T) {
	needTemplate(t)
	pkg := "../node_modules/@cdklabs/cdk-validator-cfnguard"
	arch := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[runtime.GOARCH]
	guard := filepath.Join(pkg, "bin", "ubuntu", arch, "cfn-guard")
	if _, err := os.Stat(guard); err != nil {
		t.Fatalf("no cfn-guard for %s (npm ci installs @cdklabs/cdk-validator-cfnguard): %v", runtime.GOARCH, err)
	}
	rules := filepath.Join(pkg, "rules", "control-tower", "cfn-guard")
	out, err := exec.Command(guard, "validate", "--rules", rules, "--data", synthesized, "--structured", "--show-summary", "none", "--output-format", "json").Output()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) { // it exits with the number of failed rules
		t.Fatalf("cfn-guard: %v", err)
	}
	var reports []struct {
		NotCompliant  []any    `json:"not_compliant"`
		NotApplicable []string `json:"not_applicable"`
		Compliant     []string `json:"compliant"`
	}
	if err := json.Unmarshal(out, &reports); err != nil || len(reports) != 1 {
		t.Fatalf("cfn-guard's report: %v\n%.2000s", err, out)
	}
	r := reports[0]
	if n := len(r.Compliant) + len(r.NotApplicable) + len(r.NotCompliant); n < 200 || len(r.Compliant) < 10 {
		t.Fatalf("%d rules evaluated, %d passed: the rules were not all read", n, len(r.Compliant))
	}
	var findings []finding
	for _, nc := range r.NotCompliant {
		controls, resources := map[string]bool{}, map[string]bool{}
		walkGuard(nc, controls, resources)
		if len(controls) != 1 || len(resources) == 0 {
			t.Errorf("a failure naming controls %v and resources %v: cannot tell what fails", controls, resources)
		}
		for c := range controls {
			for r := range resources {
				findings = append(findings, finding{c, r})
			}
		}
	}
	judge(t, "cfn-guard", findings)
}

var (
	controlID    = regexp.MustCompile(`\[(CT\.[A-Z0-9]+\.PR\.\d+)\]`)
	resourcePath = regexp.MustCompile(`^/Resources/([^/]+)`)
)

// walkGuard collects, from one failed rule in cfn-guard's structured report, the Control
// Tower ids its messages name and the resources its checks were at.
func walkGuard(v any, controls, resources map[string]bool) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok {
				if k == "custom_message" {
					for _, m := range controlID.FindAllStringSubmatch(s, -1) {
						controls[m[1]] = true
					}
				}
				if m := resourcePath.FindStringSubmatch(s); k == "path" && m != nil {
					resources[m[1]] = true
				}
			}
			walkGuard(e, controls, resources)
		}
	case []any:
		for _, e := range x {
			walkGuard(e, controls, resources)
		}
	}
}
