package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/mycrt/captures/pkg/awserr"
	"github.com/mycrt/captures/pkg/capture"
)

// statusError is a failure of the HTTP exchange itself (bad credentials, a malformed body or
// parameter, an unknown route) rather than of a domain rule.
type statusError struct {
	status  int
	message string
}

func (e *statusError) Error() string { return e.message }

func badRequest(msg string) error { return &statusError{http.StatusBadRequest, msg} }

var (
	errUnauthorized  = &statusError{http.StatusUnauthorized, "Missing or invalid bearer token"}
	errRouteNotFound = &statusError{http.StatusNotFound, "No such route"}
	errTooLarge      = &statusError{http.StatusRequestEntityTooLarge, "Request body is too large"}
	errInternal      = &statusError{http.StatusInternalServerError, "Internal server error"}
)

// ErrorBody is the API's one error shape, {"code", "message"}: every error any route answers,
// and the local server's own (pkg/local). openapi.yaml's Error schema is checked against it,
// and the CLI's (pkg/client) and the console's (web/src/api.gen.ts) are generated from that.
type ErrorBody struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// statusOf maps an error to the status and message the caller sees; ok is false for errors
// that are not the caller's to see, which become a 500 with a generic message.
func statusOf(err error) (status int, message string, ok bool) {
	var se *statusError
	if errors.As(err, &se) {
		return se.status, se.message, true
	}
	var de *capture.Error
	if errors.As(err, &de) {
		switch de.Kind {
		case capture.Invalid:
			return http.StatusBadRequest, de.Message, true
		case capture.Forbidden:
			return http.StatusForbidden, de.Message, true
		case capture.NotFound:
			return http.StatusNotFound, de.Message, true
		case capture.Conflict:
			return http.StatusConflict, de.Message, true
		case capture.Unavailable:
			return http.StatusBadGateway, de.Message, true
		}
	}
	return errInternal.status, errInternal.message, false
}

func writeError(w http.ResponseWriter, err error) {
	status, msg, _ := statusOf(err)
	writeJSON(w, status, ErrorBody{Code: status, Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func methodNotAllowed(methods []string) http.Handler {
	allow := strings.Join(methods, ", ")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allow)
		writeError(w, &statusError{http.StatusMethodNotAllowed, "Method not allowed; use " + allow})
	})
}

// fail answers a request that failed. Errors not meant for the caller are logged in full and
// answered with a generic 500.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	// What the caller is not shown, and what another service failed at, goes to the log in
	// full, AWS's own words included.
	if status, _, ok := statusOf(err); !ok || status >= 500 {
		s.Log.ErrorContext(r.Context(), "request failed", "error", awserr.Detail(err))
	}
	writeError(w, err)
}
