// Package logctx puts what a piece of work is about (the request id, the capture, the
// environment) on every log line written for it, from the context, so that no call site has
// to remember to. Work adds its ids to its context with With; a logger built on Handler writes
// them on each line logged with that context (slog's *Context methods).
package logctx

import (
	"context"
	"io"
	"log/slog"
	"slices"
)

type key struct{}

// With returns ctx carrying attrs beside those it carries already; a later attribute of the
// same key replaces the earlier one.
func With(ctx context.Context, attrs ...slog.Attr) context.Context {
	have, _ := ctx.Value(key{}).([]slog.Attr)
	out := make([]slog.Attr, 0, len(have)+len(attrs))
	for _, a := range have {
		if !slices.ContainsFunc(attrs, func(b slog.Attr) bool { return b.Key == a.Key }) {
			out = append(out, a)
		}
	}
	return context.WithValue(ctx, key{}, append(out, attrs...))
}

// Attrs are the attributes ctx carries.
func Attrs(ctx context.Context) []slog.Attr {
	attrs, _ := ctx.Value(key{}).([]slog.Attr)
	return attrs
}

// RequestID is the request id ctx carries, or "".
func RequestID(ctx context.Context) string {
	for _, a := range Attrs(ctx) {
		if a.Key == RequestIDKey {
			return a.Value.String()
		}
	}
	return ""
}

// The keys of the ids work is about, as every log line names them.
const (
	RequestIDKey = "request_id"
	CaptureIDKey = "capture_id"
	EnvIDKey     = "env_id"
)

// Handler wraps h so that each record logged with a context gets the context's attributes.
func Handler(h slog.Handler) slog.Handler { return handler{h} }

// JSON is a JSON logger to w built on Handler: the one every process of the service uses.
func JSON(w io.Writer) *slog.Logger { return slog.New(Handler(slog.NewJSONHandler(w, nil))) }

type handler struct{ slog.Handler }

func (h handler) Handle(ctx context.Context, r slog.Record) error {
	if attrs := Attrs(ctx); len(attrs) > 0 {
		// Attributes the call site gave itself win: they are the more specific.
		r2 := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
		given := map[string]bool{}
		r.Attrs(func(a slog.Attr) bool { given[a.Key] = true; r2.AddAttrs(a); return true })
		for _, a := range attrs {
			if !given[a.Key] {
				r2.AddAttrs(a)
			}
		}
		r = r2
	}
	return h.Handler.Handle(ctx, r)
}

func (h handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return handler{h.Handler.WithAttrs(attrs)}
}
func (h handler) WithGroup(name string) slog.Handler { return handler{h.Handler.WithGroup(name)} }
