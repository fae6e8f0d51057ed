package recording

import (
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/workload"
)

func TestWithTable(t *testing.T) {
	for in, want := range map[string]string{
		"FILE":       "FILE,TABLE",
		"file":       "FILE,TABLE",
		"NONE":       "TABLE",
		"TABLE":      "TABLE",
		"FILE,TABLE": "FILE,TABLE",
		"":           "TABLE",
	} {
		if got := withTable(in); got != want {
			t.Errorf("withTable(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSplitUserHost(t *testing.T) {
	for _, tc := range []struct{ in, user, host string }{
		{"app[app] @ localhost [127.0.0.1]", "app", "localhost"},
		{"rdsadmin[rdsadmin] @ localhost []", "rdsadmin", "localhost"},
		{"web[web] @  [10.0.0.7]", "web", ""},
		{"[app] @ localhost [127.0.0.1]", "app", "localhost"}, // a Connect row
		{"app_ro[app] @ web-1 [10.0.0.7]", "app_ro", "web-1"},
		{"garbage", "garbage", ""},
	} {
		if u, h := splitUserHost(tc.in); u != tc.user || h != tc.host {
			t.Errorf("splitUserHost(%q) = %q, %q; want %q, %q", tc.in, u, h, tc.user, tc.host)
		}
	}
}

func TestParseUnix(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
		bad  bool
	}{
		{"1795860000.123456", time.Unix(1795860000, 123456000), false},
		{"1795860000.1", time.Unix(1795860000, 100000000), false},
		{"1795860000", time.Unix(1795860000, 0), false},
		{"0.000001", time.Unix(0, 1000), false},
		{"", time.Time{}, true},
		{"12.x", time.Time{}, true},
	} {
		got, err := parseUnix([]byte(tc.in))
		if (err != nil) != tc.bad || (!tc.bad && !got.Equal(tc.want)) {
			t.Errorf("parseUnix(%q) = %v, %v; want %v (error %v)", tc.in, got, err, tc.want, tc.bad)
		}
	}
	// The literal the recorder sends reads back as the same instant.
	at := time.Date(2026, 11, 28, 12, 0, 0, 987654000, time.UTC)
	if got := unixLiteral(at); got != "FROM_UNIXTIME(1795867200.987654)" {
		t.Errorf("unixLiteral = %s", got)
	}
}

func TestSessionDatabases(t *testing.T) {
	tests := []struct {
		ev   workload.Event
		want string
	}{
		{workload.Event{Thread: 1, Command: "Connect", SQL: "app@web-1 on shop using TCP/IP"}, "shop"},
		{workload.Event{Thread: 1, Command: "Query", SQL: "SELECT 1"}, "shop"},
		{workload.Event{Thread: 1, Command: "Query", SQL: "use `my db`"}, "my db"},
		{workload.Event{Thread: 1, Command: "Query", SQL: "SELECT 2"}, "my db"},
		{workload.Event{Thread: 1, Command: "Query", SQL: "/* app */ USE stats;"}, "stats"},
		{workload.Event{Thread: 1, Command: "Query", SQL: "user_list()"}, "stats"},
		{workload.Event{Thread: 1, Command: "Init DB", SQL: "shop"}, "shop"},
		{workload.Event{Thread: 1, Command: "Quit"}, "shop"},
		{workload.Event{Thread: 1, Command: "Query", SQL: "SELECT 3"}, ""}, // a new session with a reused id
		{workload.Event{Thread: 2, Command: "Connect", SQL: "app@web-1 on  using TCP/IP"}, ""},
		{workload.Event{Thread: 2, Command: "Connect", SQL: "app@web-1 as anonymous on shop"}, "shop"},
		{workload.Event{Thread: 2, Command: "Change user", SQL: "etl@web-2 on stats using TCP/IP"}, "stats"},
		{workload.Event{Thread: 3, Command: "Execute", SQL: "SELECT 4"}, ""}, // opened before: unknown
	}
	s := sessions{}
	for i, tt := range tests {
		ev := tt.ev
		s.apply(&ev)
		if ev.DB != tt.want {
			t.Errorf("row %d %s %q: db %q, want %q", i, ev.Command, ev.SQL, ev.DB, tt.want)
		}
	}
}
