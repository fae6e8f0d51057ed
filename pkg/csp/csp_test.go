package csp_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/mycrt/captures/pkg/csp"
)

// directives splits a policy into its directives' sources, by name.
func directives(t *testing.T, policy string) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, d := range strings.Split(policy, "; ") {
		f := strings.Fields(d)
		if _, dup := out[f[0]]; dup {
			t.Errorf("%s is given twice in %q", f[0], policy)
		}
		out[f[0]] = f[1:]
	}
	return out
}

// TestConsole: the policy allows the console's own origin and exactly the origins named, in
// the directives they are named for, styles only from its own stylesheet (no inline styles),
// and frames and base URLs from nowhere.
func TestConsole(t *testing.T) {
	const cognito, bucket = "https://mycrt-1.auth.eu-west-1.amazoncognito.com", "https://mycrt-workloads-x.s3.eu-west-1.amazonaws.com"
	for _, tc := range []struct {
		name            string
		signIn          string
		downloads       []string
		connect, action []string
	}{
		{"make run", "", nil, []string{"'self'"}, []string{"'self'"}},
		{"the stack", cognito, []string{bucket}, []string{"'self'", cognito, bucket}, []string{"'self'", cognito}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := directives(t, csp.Console(tc.signIn, tc.downloads...))
			for name, want := range map[string][]string{
				"default-src": {"'self'"}, "style-src": {"'self'"}, "connect-src": tc.connect, "form-action": tc.action,
				"frame-ancestors": {"'none'"}, "base-uri": {"'none'"},
			} {
				if !slices.Equal(d[name], want) {
					t.Errorf("%s %v, want %v", name, d[name], want)
				}
			}
		})
	}
}
