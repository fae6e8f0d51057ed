package api

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/capture"
)

// FuzzCreateCaptureBody feeds arbitrary bodies through the create endpoint's decoding and
// validation: each must end in a capture the domain accepts or in a 4xx error, never a panic
// or a 5xx.
func FuzzCreateCaptureBody(f *testing.F) {
	for _, seed := range []string{
		`{"name":"myCapture","start":"2018-05-19 12:00:00","end":null,"envId":1,"scheduledStart":null}`,
		`{"name":"sched","envId":1,"status":"SCHEDULED","scheduledStart":"2999-01-01T00:00:00Z","duration":60}`,
		`{"name":"x","envId":"1","duration":1e309}`,
		`{"duration":-1e308,"envId":-9223372036854775808}`,
		`[]`, `null`, `{}`, `{"name":`, `{"scheduledStart":"2018-05-19 12:00:00+99:00"}`,
	} {
		f.Add(seed)
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body string) {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("POST", "/api/captures", strings.NewReader(body))
		var b createCaptureBody
		err := decodeBody(w, r, &b)
		if err == nil {
			var req capture.Request
			if req, err = b.request(); err == nil {
				var c capture.Capture
				if c, err = capture.New(req, "fuzzer", now); err == nil {
					if c.EnvID <= 0 || capture.ValidateName(c.Name) != nil || !c.Status.Valid() {
						t.Fatalf("accepted an invalid capture %+v from %q", c, body)
					}
					if c.ScheduledEnd != nil && c.ScheduledEnd.Sub(now) < capture.MinDuration {
						t.Fatalf("accepted a window shorter than the minimum from %q", body)
					}
					return
				}
			}
		}
		status, msg, ok := statusOf(err)
		if !ok || status < 400 || status >= 500 || msg == "" {
			t.Fatalf("body %q: error %v maps to %d %q", body, err, status, msg)
		}
		if status != http.StatusBadRequest && status != http.StatusRequestEntityTooLarge {
			t.Fatalf("body %q: status %d", body, status)
		}
	})
}
