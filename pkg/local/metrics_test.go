package local_test

import (
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mycrt/captures/pkg/local/localtest"
	"github.com/mycrt/captures/pkg/metrics"
	"github.com/mycrt/captures/pkg/metrics/rdsmetrics"
	"github.com/mycrt/captures/pkg/metrics/rdsmetrics/cwtest"
	"github.com/mycrt/captures/pkg/mysqltest"
)

// TestMetricsOnlyAfterSigningIn: an environment may name any RDS instance; only a capture
// whose recorder signed in to the database gets that instance's CloudWatch metrics. One that
// failed to log in (wrong password) answers the four series, empty, and CloudWatch is never
// asked; with the right password the same instance's metrics are read.
func TestMetricsOnlyAfterSigningIn(t *testing.T) {
	db := mysqltest.Start(t)
	accounts(t, db, "shop")
	svc, cfg := localtest.Start(t, "")
	cw := cwtest.Start(t, filepath.Join("..", "metrics", "rdsmetrics", "testdata", "getmetricdata.json"))
	svc.API.Metrics.(*metrics.Keeper).RDS = rdsmetrics.New(cwtest.Config, cw.URL())
	srv := httptest.NewServer(svc.API.Handler())
	t.Cleanup(srv.Close)
	issuer, _ := cfg.Issuer()
	tok, _ := issuer.Token("alice", time.Hour)
	l := &client{cfg: cfg, srv: srv, tok: tok, t: t}

	type series struct {
		Type       string
		DataPoints []map[string]any
	}
	capture := func(envName, pass string) captureView {
		var env struct{ ID int64 }
		if code := l.call("POST", "/api/environments", map[string]any{
			"envName": envName, "host": db.Host, "port": db.Port, "dbName": "shop", "user": "capturer", "pass": pass, "instance": "db-prod",
			"check": false, // a wrong password is the point
		}, &env); code != 200 {
			t.Fatalf("create environment %s: %d", envName, code)
		}
		var c captureView
		if code := l.call("POST", "/api/captures", map[string]any{"name": envName, "envId": env.ID}, &c); code != 200 {
			t.Fatalf("create capture: %d", code)
		}
		return c
	}

	denied := capture("wrong password", "not-cap-pw")
	var failed captureView
	eventually(t, 10*time.Second, "the capture fails to sign in", func() bool {
		l.call("GET", fmt.Sprintf("/api/captures/%d", denied.ID), nil, &failed)
		return failed.Status == "FAILED"
	})
	if failed.Reason == nil || !strings.Contains(*failed.Reason, "Access denied") {
		t.Fatalf("reason %v, want the login refused", failed.Reason)
	}
	var got []series
	if code := l.call("GET", fmt.Sprintf("/api/captures/%d/metrics", denied.ID), nil, &got); code != 200 || len(got) != 4 {
		t.Fatalf("metrics of a capture that never signed in: %d %+v, want the four series", code, got)
	}
	for _, s := range got {
		if s.DataPoints == nil || len(s.DataPoints) != 0 {
			t.Errorf("%s: %v, want no points", s.Type, s.DataPoints)
		}
	}
	if n := len(cw.Requests()); n != 0 {
		t.Fatalf("CloudWatch asked %d times for a capture that never signed in, want never", n)
	}

	// The same instance, with the right password: read from CloudWatch.
	signed := capture("right password", "cap-pw")
	l.waitStatus(signed.ID, "RUNNING", 10*time.Second)
	got = nil
	if code := l.call("GET", fmt.Sprintf("/api/captures/%d/metrics", signed.ID), nil, &got); code != 200 || len(got) != 4 || len(got[0].DataPoints) == 0 {
		t.Errorf("metrics of a capture that signed in: %d %+v, want CloudWatch's points", code, got)
	}
	if n := len(cw.Requests()); n == 0 {
		t.Error("CloudWatch never asked for a capture that signed in")
	}
	l.call("POST", fmt.Sprintf("/api/captures/%d/stop", signed.ID), nil, nil)
	l.waitStatus(signed.ID, "DONE", 10*time.Second)
}
