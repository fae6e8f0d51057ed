package local

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/mycrt/captures/pkg/api"
)

// ownNames lets through only requests addressed to this server by one of its own names:
// Host must be 127.0.0.1, localhost or [::1] with the port the request came in on (the
// listener's, whatever PORT says), else 421 on every route. A page that rebinds its own name
// to 127.0.0.1 is then no closer to this server than any other site: its requests carry its
// name, not ours. Writes (every method but GET, HEAD and OPTIONS) that carry an Origin must
// come from this server's own origin, else 403: a page elsewhere may send a form or a simple
// fetch here, blind, and the browser says where it came from. Requests without Origin (curl,
// the CLI) are not a browser's cross-site request and go through.
func ownNames(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		scheme, defPort := "http", "80"
		if r.TLS != nil {
			scheme, defPort = "https", "443"
		}
		port := listenerPort(r)
		host, hostPort, ok := splitHost(strings.ToLower(r.Host), defPort)
		if port == "" || !ok || hostPort != port || !loopbackName(host) {
			own := scheme + "://%s:" + port
			jsonError(w, http.StatusMisdirectedRequest, fmt.Sprintf("this server answers only to "+own+", "+own+" or "+own, "127.0.0.1", "localhost", "[::1]"))
			return
		}
		if origin := r.Header.Get("Origin"); origin != "" && !safe(r.Method) && !sameOrigin(origin, scheme, defPort, host, hostPort) {
			jsonError(w, http.StatusForbidden, "a write from another origin is refused: this server takes writes only from its own pages ("+scheme+"://"+r.Host+")")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// listenerPort is the port of the address the request's connection was accepted on; "" when
// the request did not come through a listener.
func listenerPort(r *http.Request) string {
	addr, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return ""
	}
	_, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return ""
	}
	return port
}

// splitHost splits a Host header (or an origin's host) into name and port, the port being
// defPort when none is given; ok is false when it is not a host[:port] at all.
func splitHost(hostport, defPort string) (host, port string, ok bool) {
	if h, p, err := net.SplitHostPort(hostport); err == nil {
		return h, p, p != ""
	}
	if strings.HasPrefix(hostport, "[") && strings.HasSuffix(hostport, "]") {
		return hostport[1 : len(hostport)-1], defPort, true
	}
	if hostport == "" || strings.ContainsAny(hostport, ":[]") {
		return "", "", false
	}
	return hostport, defPort, true
}

// loopbackName is whether host is one of the names this server answers to.
func loopbackName(host string) bool {
	return host == "127.0.0.1" || host == "localhost" || host == "::1"
}

// safe methods change nothing: a page elsewhere can send them, but, with no CORS here, never
// read their answers.
func safe(method string) bool {
	return method == http.MethodGet || method == http.MethodHead || method == http.MethodOptions
}

// sameOrigin is whether origin (an Origin header) is scheme://host:port, the default port
// written or not. "null" (a sandboxed frame, a file) is no origin's.
func sameOrigin(origin, scheme, defPort, host, port string) bool {
	u, err := url.Parse(strings.ToLower(origin))
	if err != nil || u.Scheme != scheme || u.Path != "" || u.RawQuery != "" || u.User != nil {
		return false
	}
	h, p, ok := splitHost(u.Host, defPort)
	return ok && h == host && p == port
}

// jsonError answers with the API's JSON error shape.
func jsonError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(api.ErrorBody{Code: status, Message: message})
}
