package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// fakeAWS puts an `aws` first on PATH that records each command line it is given, one
// argument a line, and answers describe-stacks with a user pool id (or pool, if not empty).
func fakeAWS(t *testing.T, pool string) (path, record string) {
	t.Helper()
	dir := t.TempDir()
	record = filepath.Join(dir, "calls")
	script := `#!/bin/sh
for a in "$@"; do printf '%s\n' "$a"; done >> "` + record + `"
echo --- >> "` + record + `"
case "$1" in cloudformation) echo "` + pool + `";; cognito-idp) echo "alice FORCE_CHANGE_PASSWORD";; esac
`
	if err := os.WriteFile(filepath.Join(dir, "aws"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir + string(os.PathListSeparator) + os.Getenv("PATH"), record
}

// TestMakeUser: `make user EMAIL=...` reads the deployed stack's UserPoolId output and
// creates the user with the AWS CLI, as these exact command lines (run here against a
// recording stand-in for aws: nothing reaches AWS); a bad address, a user name that is an
// address or a stack without the output stop it with exit 2 or 1, and an EMAIL from the
// environment is not taken for the command line's.
func TestMakeUser(t *testing.T) {
	describe := []string{"cloudformation", "describe-stacks", "--stack-name", "MycrtCaptures",
		"--query", "Stacks[0].Outputs[?OutputKey=='UserPoolId'].OutputValue", "--output", "text"}
	create := func(user, email string) []string {
		return []string{"cognito-idp", "admin-create-user", "--user-pool-id", "eu-west-1_AbC123", "--username", user,
			"--user-attributes", "Name=email,Value=" + email, "Name=email_verified,Value=true",
			"--desired-delivery-mediums", "EMAIL", "--query", "User.{user:Username,status:UserStatus}", "--output", "text"}
	}
	for _, tc := range []struct {
		name  string
		args  []string
		env   []string
		pool  string
		exit  int
		calls [][]string
	}{
		{"default user name", []string{"EMAIL=alice@example.com"}, nil, "eu-west-1_AbC123", 0, [][]string{describe, create("alice", "alice@example.com")}},
		{"given user name", []string{"EMAIL=a.smith+dba@example.co.uk", "USER_NAME=asmith"}, nil, "eu-west-1_AbC123", 0, [][]string{describe, create("asmith", "a.smith+dba@example.co.uk")}},
		{"another stack", []string{"EMAIL=alice@example.com"}, []string{"STACK=MycrtStaging"}, "eu-west-1_AbC123", 0,
			[][]string{append(append([]string{}, describe[:3]...), append([]string{"MycrtStaging"}, describe[4:]...)...), create("alice", "alice@example.com")}},
		{"no address", nil, nil, "eu-west-1_AbC123", 2, nil},
		{"EMAIL only in the environment", nil, []string{"EMAIL=someone@example.com"}, "eu-west-1_AbC123", 2, nil},
		{"not an address", []string{"EMAIL=alice; rm -rf /"}, nil, "eu-west-1_AbC123", 2, nil},
		{"user name is an address", []string{"EMAIL=alice@example.com", "USER_NAME=alice@example.com"}, nil, "eu-west-1_AbC123", 2, nil},
		{"stack not deployed", []string{"EMAIL=alice@example.com"}, nil, "None", 1, [][]string{describe}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, record := fakeAWS(t, tc.pool)
			cmd := exec.Command("make", append([]string{"-s", "--no-print-directory", "user"}, tc.args...)...)
			cmd.Dir = ".."
			cmd.Env = append(os.Environ(), append([]string{"PATH=" + path}, tc.env...)...)
			out, err := cmd.CombinedOutput()
			exit := 0
			if ee, ok := err.(*exec.ExitError); ok {
				exit = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			// make exits 2 for any failed recipe; the script's own code is in its message.
			if (tc.exit == 0) != (exit == 0) {
				t.Fatalf("exit %d, want %d: %s", exit, tc.exit, out)
			}
			raw, _ := os.ReadFile(record)
			var calls [][]string
			for _, c := range strings.Split(string(raw), "---\n") {
				if c != "" {
					calls = append(calls, strings.Split(strings.TrimSuffix(c, "\n"), "\n"))
				}
			}
			if joinCalls(calls) != joinCalls(tc.calls) {
				t.Errorf("aws was called with\n%q\nwant\n%q\n%s", calls, tc.calls, out)
			}
			if tc.exit != 0 && !strings.Contains(string(out), "usage:") && !strings.Contains(string(out), "user name") && !strings.Contains(string(out), "UserPoolId") {
				t.Errorf("no message saying what is wrong: %s", out)
			}
		})
	}
}

// joinCalls writes command lines as one string, arguments and lines apart.
func joinCalls(calls [][]string) string {
	var lines []string
	for _, c := range calls {
		lines = append(lines, strings.Join(c, "\x00"))
	}
	return strings.Join(lines, "\n")
}
