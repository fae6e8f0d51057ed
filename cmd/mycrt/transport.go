package main

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"syscall"
)

// plainText says why a credential may not go to rawURL: nil for https, and for plain http to
// this machine (127.0.0.0/8, ::1, localhost, where `make run` listens), whose traffic no one
// else sees. The name is not resolved: a name that resolves to loopback today may not
// tomorrow.
func plainText(rawURL, what string) error {
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("%q is not a URL: %w", rawURL, err)
	}
	if secure(u) {
		return nil
	}
	if u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return fmt.Errorf("refusing to send %s to %q: not an https URL", what, rawURL)
	}
	return fmt.Errorf("refusing to send %s to %s over %s: use https (plain http only to this machine: 127.0.0.1, localhost, [::1])",
		what, u.Scheme+"://"+u.Host, u.Scheme)
}

func secure(u *url.URL) bool {
	if u.Scheme == "https" && u.Host != "" {
		return true
	}
	if u.Scheme != "http" {
		return false
	}
	h := u.Hostname()
	ip := net.ParseIP(h)
	return h == "localhost" || (ip != nil && ip.IsLoopback())
}

// keepBearer is the client's redirect policy: at most 10, as Go's default, and none that would
// carry the bearer token over plain http (Go keeps Authorization on a redirect to the same
// host, https or not; to other hosts it drops it).
func keepBearer(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if req.Header.Get("Authorization") != "" && !secure(req.URL) {
		// Not the whole URL: a redirect's query may be a credential of its own.
		return fmt.Errorf("refusing to follow a redirect to %s://%s%s: it would send the bearer token over plain http", req.URL.Scheme, req.URL.Host, req.URL.Path)
	}
	return nil
}

// unreachable says the API could not be reached: at c's URL, and why, without the request's
// own URL (a redirect's may carry a presigned credential in its query).
func (c *cli) unreachable(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return fmt.Errorf("reach %s: %w%s", c.url, err, refusedHint(err))
}

// refusedHint is what to do when nothing listens at the URL: the usual first mistake, make run
// not up or up on another PORT.
func refusedHint(err error) string {
	if errors.Is(err, syscall.ECONNREFUSED) {
		return " (nothing listens there: start make run, or name the API with --url or MYCRT_URL)"
	}
	return ""
}
