package logctx_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"testing"

	"github.com/mycrt/captures/pkg/logctx"
)

func TestEveryLineCarriesTheContextsIDs(t *testing.T) {
	var buf bytes.Buffer
	log := logctx.JSON(&buf)
	ctx := logctx.With(context.Background(), slog.String(logctx.RequestIDKey, "r-1"), slog.Int64(logctx.CaptureIDKey, 7))
	ctx = logctx.With(ctx, slog.Int64(logctx.CaptureIDKey, 8)) // a later value replaces the earlier
	tests := []struct {
		name string
		log  func()
		want map[string]any
	}{
		{"from the context", func() { log.InfoContext(ctx, "one") }, map[string]any{"request_id": "r-1", "capture_id": 8.0}},
		{"the call site's own wins", func() { log.InfoContext(ctx, "two", "capture_id", 9) }, map[string]any{"request_id": "r-1", "capture_id": 9.0}},
		{"a derived logger", func() { log.With("x", 1).WarnContext(ctx, "three") }, map[string]any{"request_id": "r-1", "x": 1.0}},
		{"no context, no ids", func() { log.Info("four") }, map[string]any{"request_id": nil}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			buf.Reset()
			tc.log()
			var line map[string]any
			if err := json.Unmarshal(buf.Bytes(), &line); err != nil {
				t.Fatalf("%s: %v", buf.Bytes(), err)
			}
			for k, v := range tc.want {
				if line[k] != v {
					t.Errorf("%s = %v, want %v (line %s)", k, line[k], v, buf.Bytes())
				}
			}
		})
	}
	if got := logctx.RequestID(ctx); got != "r-1" {
		t.Errorf("RequestID = %q", got)
	}
}

func Example() {
	log := slog.New(logctx.Handler(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})))
	ctx := logctx.With(context.Background(), slog.String(logctx.RequestIDKey, "f00d"))
	log.InfoContext(ctx, "collected", "statements", 5)
	// Output: level=INFO msg=collected statements=5 request_id=f00d
}
