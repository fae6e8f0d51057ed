package api

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/mycrt/captures/pkg/auth"
	"github.com/mycrt/captures/pkg/logctx"
)

// handlerFunc is an endpoint: it answers a request from a known caller, or returns the error
// to answer with.
type handlerFunc func(w http.ResponseWriter, r *http.Request, who auth.Identity) error

// endpoint authenticates the caller and answers errors as JSON.
func (s *Server) endpoint(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		who, err := s.Authenticate(r)
		if err != nil {
			s.fail(w, r, errUnauthorized)
			return
		}
		if err := h(w, r, who); err != nil {
			s.fail(w, r, err)
		}
	})
}

// newRequestID is the Lambda invocation's id when there is one, as Lambda users search
// their logs by it, else the caller's X-Request-Id, else a fresh one.
func newRequestID(r *http.Request) string {
	if lc, ok := lambdacontext.FromContext(r.Context()); ok && lc.AwsRequestID != "" {
		return lc.AwsRequestID
	}
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 128 {
		return id
	}
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// middleware gives each request an id, logs it once it is answered (never its body, which may
// hold a password), and turns a panic into a JSON 500.
func (s *Server) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := newRequestID(r)
		r = r.WithContext(logctx.With(r.Context(), slog.String(logctx.RequestIDKey, id)))
		w.Header().Set("X-Request-Id", id)
		rec := &statusRecorder{ResponseWriter: w}
		start := time.Now()
		defer func() {
			if p := recover(); p != nil {
				s.Log.ErrorContext(r.Context(), "panic", "panic", fmt.Sprint(p))
				if rec.status == 0 {
					writeError(rec, errInternal)
				}
			}
			s.Log.InfoContext(r.Context(), "request",
				"method", r.Method, "path", r.URL.Path,
				"status", rec.status, "duration_ms", time.Since(start).Milliseconds())
		}()
		next.ServeHTTP(rec, r)
	})
}
